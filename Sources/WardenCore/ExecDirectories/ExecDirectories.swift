/// One word of `RuntimeDirectory=` and its kin: `foo/bar`, or `foo:bar` (create `foo`,
/// and `bar` as a symbolic link to it), both relative to the kind's base.
public struct ExecDirectoryEntry: Hashable, Sendable {
    public var path: String
    public var symlinks: [String]

    public init(path: String, symlinks: [String] = []) {
        self.path = path
        self.symlinks = symlinks
    }
}

/// `RuntimeDirectoryPreserve=`.
public enum RuntimeDirectoryPreserve: String, CaseIterable, Hashable, Sendable {
    /// Removed whenever the service stops, restarts included.
    case no
    /// Kept across restarts, removed when the service stops for good.
    case restart
    /// Never removed by Warden.
    case yes
}

/// A service's directory settings, as configured.
public struct ExecDirectories: Hashable, Sendable {
    public var entries: [ExecDirectoryKind: [ExecDirectoryEntry]] = [:]
    /// `*DirectoryMode=`; unset is 0755.
    public var modes: [ExecDirectoryKind: UInt32] = [:]
    public var runtimePreserve: RuntimeDirectoryPreserve?

    public static let defaultMode: UInt32 = 0o755

    public init() {}

    public var isEmpty: Bool { entries.values.allSatisfy(\.isEmpty) }

    public func mode(for kind: ExecDirectoryKind) -> UInt32 { modes[kind] ?? Self.defaultMode }

    public var effectiveRuntimePreserve: RuntimeDirectoryPreserve { runtimePreserve ?? .no }
}
