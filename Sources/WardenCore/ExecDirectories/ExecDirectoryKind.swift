/// The five directories systemd creates for a service (systemd.exec(5), "RuntimeDirectory=,
/// StateDirectory=, …"): each has its key, its mode key, its base directory for the
/// system manager, and the variable that tells the service the full paths.
public enum ExecDirectoryKind: String, CaseIterable, Hashable, Sendable {
    case runtime = "Runtime"
    case state = "State"
    case cache = "Cache"
    case logs = "Logs"
    case configuration = "Configuration"

    /// `RuntimeDirectory`.
    public var key: String { rawValue + "Directory" }
    /// `RuntimeDirectoryMode`.
    public var modeKey: String { rawValue + "DirectoryMode" }
    /// `RUNTIME_DIRECTORY`.
    public var environmentVariable: String { rawValue.uppercased() + "_DIRECTORY" }
    /// The innermost directories belong to `User=`/`Group=`, except configuration,
    /// which stays root's.
    public var isOwnedByService: Bool { self != .configuration }
    /// `ConfigurationDirectory=` takes no `:symlink` (systemd 252).
    public var allowsSymlinks: Bool { self != .configuration }
}

/// Where the directories of each kind are made: `/run`, `/var/lib`, `/var/cache`,
/// `/var/log`, `/etc` for the system manager. Tests give a temporary root.
public struct ExecDirectoryBases: Hashable, Sendable {
    public var runtime: String
    public var state: String
    public var cache: String
    public var logs: String
    public var configuration: String

    public init(runtime: String, state: String, cache: String, logs: String, configuration: String) {
        self.runtime = runtime
        self.state = state
        self.cache = cache
        self.logs = logs
        self.configuration = configuration
    }

    /// systemd's system manager.
    public static let system = ExecDirectoryBases(
        runtime: "/run", state: "/var/lib", cache: "/var/cache", logs: "/var/log", configuration: "/etc")

    /// The same layout below `root` (`ROOT/run`, `ROOT/var/lib`, …).
    public static func below(_ root: String) -> ExecDirectoryBases {
        let s = ExecDirectoryBases.system
        return ExecDirectoryBases(
            runtime: root + s.runtime, state: root + s.state, cache: root + s.cache, logs: root + s.logs,
            configuration: root + s.configuration)
    }

    public func base(for kind: ExecDirectoryKind) -> String {
        switch kind {
        case .runtime: runtime
        case .state: state
        case .cache: cache
        case .logs: logs
        case .configuration: configuration
        }
    }
}
