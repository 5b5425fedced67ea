import Logging
import WardenCore
import WardenLinux

/// The arguments of `warden run`, as the daemon needs them.
public struct DaemonArguments: Hashable, Sendable {
    /// `--config`: warden.conf (nil: /etc/warden/warden.conf when it exists).
    public var configPath: String?
    /// `--units`, repeatable: unit directories overriding `UnitDirectories=`.
    public var unitDirectories: [String]
    /// `--state-dir`: overrides `StateDirectory=`.
    public var stateDirectory: String?
    /// `--governor-cgroup-root` (tests): the governor acts on this plain directory tree.
    public var governorCgroupRoot: String?
    /// `-- CMD [ARGS…]`: the main program (empty: none).
    public var mainProgram: [String]
    /// `--main-name`: the main program's component name, without `.service`.
    public var mainName: String

    public init(
        configPath: String? = nil, unitDirectories: [String] = [], stateDirectory: String? = nil, governorCgroupRoot: String? = nil,
        mainProgram: [String] = [], mainName: String = "main"
    ) {
        self.configPath = configPath
        self.unitDirectories = unitDirectories
        self.stateDirectory = stateDirectory
        self.governorCgroupRoot = governorCgroupRoot
        self.mainProgram = mainProgram
        self.mainName = mainName
    }

    /// The main program's unit name, when there is one.
    public var mainUnit: String? { mainProgram.isEmpty ? nil : mainName + ".service" }

    /// The same arguments as `warden run` options, in a canonical order (what `warden
    /// run` hands to `warden-daemon`).
    public var commandLine: [String] {
        var arguments: [String] = []
        if let configPath { arguments += ["--config", configPath] }
        for directory in unitDirectories { arguments += ["--units", directory] }
        if let stateDirectory { arguments += ["--state-dir", stateDirectory] }
        if let governorCgroupRoot { arguments += ["--governor-cgroup-root", governorCgroupRoot] }
        if !mainProgram.isEmpty {
            if mainName != "main" { arguments += ["--main-name", mainName] }
            arguments += ["--"] + mainProgram
        }
        return arguments
    }

    /// Parses `commandLine`'s form (also `--option=value`); an optional leading `run`
    /// is skipped, so `warden-daemon run --config F` reads as `warden run --config F`.
    /// Returns the complaint for anything else.
    public static func parse(_ arguments: [String]) -> Result<DaemonArguments, DaemonUsageError> {
        var parsed = DaemonArguments()
        var rest = arguments[...]
        if rest.first == "run" { rest = rest.dropFirst() }
        while let argument = rest.popFirst() {
            if argument == "--" {
                parsed.mainProgram = Array(rest)
                guard !parsed.mainProgram.isEmpty else { return .failure(DaemonUsageError(message: "'--' without a program after it")) }
                break
            }
            var name = argument
            var value: String?
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard ["--config", "--units", "--state-dir", "--governor-cgroup-root", "--main-name"].contains(name) else {
                return .failure(DaemonUsageError(message: "unknown option '\(argument)'"))
            }
            if value == nil { value = rest.popFirst() }
            guard let value else { return .failure(DaemonUsageError(message: "missing value for '\(name)'")) }
            switch name {
            case "--config": parsed.configPath = value
            case "--units": parsed.unitDirectories.append(value)
            case "--state-dir": parsed.stateDirectory = value
            case "--main-name": parsed.mainName = value
            default: parsed.governorCgroupRoot = value
            }
        }
        return .success(parsed)
    }

    /// The warden.conf these arguments read: `--config`, else /etc/warden/warden.conf when
    /// it exists, else none.
    public var effectiveConfigPath: String? {
        if let configPath { return configPath }
        let fs = LocalFileSystem(maximumBytes: LocalFileSystem.configurationMaximumBytes)
        return (try? fs.readFile(Self.defaultConfigPath)) != nil ? Self.defaultConfigPath : nil
    }

    /// warden.conf where Warden looks when no `--config` names one.
    public static let defaultConfigPath = "/etc/warden/warden.conf"

    /// What `config-source` answers for a daemon run with these arguments: every path
    /// made absolute against this process's working directory, so that a command run from
    /// anywhere else finds the same files.
    public func configSource(stateDirectory: String, controlSocket: String) -> ControlConfigSource {
        let directory = ThisProcess.workingDirectory ?? ""
        func absolute(_ path: String) -> String { ControlConfigSource.absolute(path, in: directory) }
        return ControlConfigSource(
            pid: ThisProcess.pid, configFile: effectiveConfigPath.map(absolute), unitDirectories: unitDirectories.map(absolute),
            stateDirectory: absolute(stateDirectory), controlSocket: absolute(controlSocket),
            mainProgram: mainProgram.isEmpty ? nil : mainProgram, mainName: mainProgram.isEmpty ? nil : mainName)
    }

    /// The arguments that load what `source` says a running daemon loaded.
    public init(_ source: ControlConfigSource) {
        self.init(
            configPath: source.configFile, unitDirectories: source.unitDirectories, stateDirectory: source.stateDirectory,
            mainProgram: source.mainProgram ?? [], mainName: source.mainName ?? "main")
    }

    /// Loads the configuration these arguments name, as every command does.
    public func load(host: HostFacts?) -> ConfigurationLoader.Result {
        var extra: [String: String] = [:]
        if let mainUnit { extra[mainUnit] = MainProgram.unitText(mainProgram) }
        return DaemonArguments.loadConfiguration(configPath: configPath, unitDirectories: unitDirectories, host: host, extraUnits: extra)
    }

    /// `--config` (default /etc/warden/warden.conf when it exists) and `--units`, with
    /// the directory of Warden's own binary on the executable search path.
    public static func loadConfiguration(
        configPath: String?, unitDirectories: [String], host: HostFacts?, extraUnits: [String: String] = [:]
    ) -> ConfigurationLoader.Result {
        let fs = LocalFileSystem(maximumBytes: LocalFileSystem.configurationMaximumBytes)
        var configPath = configPath
        if configPath == nil, (try? fs.readFile("/etc/warden/warden.conf")) != nil {
            configPath = "/etc/warden/warden.conf"
        }
        var searchPath = ConfigurationLoader.systemdExecutableSearchPath
        if let own = HostProbe.executableDirectory() { searchPath.append(own) }
        let loader = ConfigurationLoader(
            fileSystem: fs, specifiers: SpecifierContext.ofThisHost(), host: host,
            executableSearchPath: searchPath, conditionFacts: host == nil ? nil : HostConditionFacts())
        // `warden run -- CMD` on a host with no configuration at all runs CMD alone.
        var directories: [String]? = unitDirectories.isEmpty ? nil : unitDirectories
        if !extraUnits.isEmpty, configPath == nil, directories == nil, !RuntimeDescriptors.isDirectory(WardenSettings.defaultUnitDirectory) {
            directories = []
        }
        return loader.load(configPath: configPath, unitDirectories: directories, extraUnits: extraUnits)
    }
}

/// A command line `warden-daemon` does not understand.
public struct DaemonUsageError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
