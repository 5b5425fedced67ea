/// `config-source`: where the running daemon took its configuration from, so that a
/// command run beside it (`check-config`, `duplicates`, `diagnose`, `emergency`) loads the
/// same configuration without being told the daemon's `--config`/`--units` again. Paths are
/// absolute (the daemon resolves relative arguments against its working directory at
/// start). Field names are part of Warden's stable interface (docs/control-protocol.md).
public struct ControlConfigSource: Codable, Hashable, Sendable {
    /// The daemon's PID.
    public var pid: Int32
    /// The warden.conf it read; absent when it read none (built-in defaults).
    public var configFile: String?
    /// `warden run --units`, in order; empty when the units come from `UnitDirectories=`
    /// of `configFile` (or its default, /etc/warden/units).
    public var unitDirectories: [String]
    /// The state directory it holds the lock of (`--state-dir`, `StateDirectory=`, or
    /// /run/warden).
    public var stateDirectory: String
    /// The control socket it listens on.
    public var controlSocket: String
    /// `warden run -- CMD ARGS…`: the main program; absent without one.
    public var mainProgram: [String]?
    /// `--main-name`: the main program's component name, without `.service`.
    public var mainName: String?

    public init(
        pid: Int32, configFile: String?, unitDirectories: [String], stateDirectory: String, controlSocket: String,
        mainProgram: [String]? = nil, mainName: String? = nil
    ) {
        self.pid = pid
        self.configFile = configFile
        self.unitDirectories = unitDirectories
        self.stateDirectory = stateDirectory
        self.controlSocket = controlSocket
        self.mainProgram = mainProgram
        self.mainName = mainName
    }

    /// `--config FILE --units DIR …`: the options of `warden run` that name the same
    /// configuration, for the line that says which one a command took.
    public var arguments: [String] {
        var words: [String] = []
        if let configFile { words += ["--config", configFile] }
        for directory in unitDirectories { words += ["--units", directory] }
        if let mainProgram, !mainProgram.isEmpty {
            if let mainName, mainName != "main" { words += ["--main-name", mainName] }
            words += ["--"] + mainProgram
        }
        return words
    }

    /// `path` made absolute against `directory` (a daemon's working directory at start);
    /// `.` and `..` components are left for the kernel to resolve.
    public static func absolute(_ path: String, in directory: String) -> String {
        if path.hasPrefix("/") || directory.isEmpty { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }
}
