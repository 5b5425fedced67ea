/// A unit whose file is empty or a link to `/dev/null`: masked, as systemd reads it. It is
/// not loaded and cannot be started; a unit that requires it fails to start under systemd.
public struct MaskedUnit: Hashable, Sendable {
    /// The unit's name, e.g. `apache-htcacheclean.service`.
    public var name: String
    /// The file that masks it.
    public var path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }
}
