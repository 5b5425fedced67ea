/// Where one of the child's standard streams goes.
public enum StandardStream: Hashable, Sendable {
    /// The supervisor's own descriptor of the same number.
    case inherit
    /// `/dev/null` (read-only for stdin, write-only for stdout and stderr).
    case null
    /// A descriptor of the supervisor, `dup2`ed into place (it may be close-on-exec).
    case fd(Int32)
}
