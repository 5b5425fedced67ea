import WardenCore
import WardenLinux

/// Why a command could not be prepared for spawning (before any process existed).
struct LaunchError: Error, CustomStringConvertible {
    var description: String
}

/// A spawn request and the descriptors that must be dealt with around the spawn.
struct PreparedLaunch {
    var request: SpawnRequest
    /// The supervisor's end of the output channel, when stdout or stderr goes to the log.
    var outputReadFD: Int32?
    /// Descriptors only the child needs: closed in the supervisor after the spawn.
    var childOnlyFDs: [Int32]

    func closeAll() {
        if let outputReadFD { RuntimeDescriptors.close(outputReadFD) }
        childOnlyFDs.forEach(RuntimeDescriptors.close)
    }
}

/// What a launch needs to know beyond the unit.
struct LaunchContext {
    var notifySocketPath: String?
    var invocationID: String
    var executableSearchPath: [String]
    /// `$MAINPID` for the control commands (the main process, when it is alive).
    var mainPID: Int32?
    /// `$SERVICE_RESULT`, `$EXIT_CODE`, `$EXIT_STATUS` for `ExecStop=`/`ExecStopPost=`.
    var resultEnvironment: ServiceResultEnvironment?
    /// Where the unit's `RuntimeDirectory=`, … are, for `$RUNTIME_DIRECTORY` and its kin.
    var directoryBases = ExecDirectoryBases.system
}

/// Builds `SpawnRequest`s from a unit, the way systemd's exec_spawn() sets up a process.
enum Launcher {
    static let basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    static func prepare(
        _ service: ServiceConfig, command configured: ConfiguredCommand, kind: CommandKind, context: LaunchContext
    ) throws(LaunchError) -> PreparedLaunch {
        let command = configured.command
        // `+` runs with the manager's credentials and no capability limits; `!`/`!!`
        // skip only User=/Group=/SupplementaryGroups= (ambient capabilities always
        // exist on the kernels Warden supports, so `!!` has no effect).
        let applyCredentials = !command.fullPrivileges && command.ambientUnprivileged != .skipCredentials
        let applySandbox = !command.fullPrivileges

        // Credentials.
        var user: UserRecord?
        var groupID: UInt32?
        var groups: [UInt32]?
        if applyCredentials {
            do {
                if let name = service.user {
                    let record = try UserDatabase.user(name)
                    user = record
                    groupID = record.groupID
                }
                if let name = service.group { groupID = try UserDatabase.groupID(name) }
                if service.user != nil || service.group != nil || !service.supplementaryGroups.isEmpty {
                    var list: [UInt32] = []
                    if let user, service.user.map({ UInt32($0) == nil }) ?? false {
                        list = UserDatabase.groupList(of: user.name, primary: groupID ?? user.groupID)
                    }
                    for name in service.supplementaryGroups { list.append(try UserDatabase.groupID(name)) }
                    groups = Array(Set(list)).sorted()
                }
            } catch {
                throw LaunchError(description: error.description)
            }
        }

        // Environment: systemd's order: the manager's minimal set, Environment=, then
        // EnvironmentFile= (files override Environment=), then what the manager adds.
        var environment: [String: String] = ["PATH": basePath]
        var order = ["PATH"]
        func set(_ name: String, _ value: String) {
            if environment.updateValue(value, forKey: name) == nil { order.append(name) }
        }
        if let user {
            set("HOME", user.home)
            set("USER", user.name)
            set("LOGNAME", user.name)
            set("SHELL", user.shell)
        }
        // systemd sets these with the manager's variables, so Environment= may override them.
        for (name, value) in ExecDirectoryPlan(service.directories, bases: context.directoryBases).environment {
            set(name, value)
        }
        for assignment in service.environment { set(assignment.name, assignment.value) }
        for file in service.environmentFiles {
            let text: String
            do {
                text = try LocalFileSystem().readFile(file.path)
            } catch {
                if file.ignoreIfMissing { continue }
                throw LaunchError(description: "EnvironmentFile=\(file.path): \(error.reason)")
            }
            for assignment in EnvironmentFileParser.parse(text, file: file.path).assignments {
                set(assignment.name, assignment.value)
            }
        }
        set("INVOCATION_ID", context.invocationID)
        set("WARDEN_UNIT", service.name.description)
        if let path = context.notifySocketPath { set("NOTIFY_SOCKET", path) }
        if kind == .start, let watchdog = service.watchdogSec, watchdog.usec > 0, !watchdog.isInfinite {
            // WATCHDOG_PID= is left out: the pid is unknown until the clone, and
            // sd_watchdog_enabled() accepts a missing WATCHDOG_PID.
            set("WATCHDOG_USEC", String(watchdog.usec))
        }
        // systemd passes the main process to every control command once it is known
        // (ExecStartPost= of a forking daemon, ExecReload=, ExecStop=).
        if kind != .start, let pid = context.mainPID { set("MAINPID", String(pid)) }
        if let result = context.resultEnvironment {
            let variables = result.variables { SignalNumber(rawValue: $0).name }
            for name in variables.keys.sorted() { set(name, variables[name]!) }
        }

        // Executable and argv.
        guard
            let path = ExecutableSearch.resolve(
                command.path, in: context.executableSearchPath, fileSystem: LocalFileSystem())
        else {
            throw LaunchError(
                description: "\(kind.rawValue)=\(command.path): no executable found"
                    + (command.needsPathSearch ? " in \(context.executableSearchPath.joined(separator: ":"))" : ""))
        }
        let arguments = command.expandingEnvironment(environment)
        guard !arguments.isEmpty else {
            throw LaunchError(description: "\(kind.rawValue)=\(command.path): the command line expanded to nothing")
        }

        // Working directory: `-` ignores a missing one, `~` is the user's home.
        var directory = "/"
        if var wanted = service.workingDirectory {
            let optional = wanted.hasPrefix("-")
            if optional { wanted.removeFirst() }
            if wanted == "~" { wanted = user?.home ?? environment["HOME"] ?? "/root" }
            if RuntimeDescriptors.isDirectory(wanted) {
                directory = wanted
            } else if !optional {
                throw LaunchError(description: "WorkingDirectory=\(wanted): no such directory")
            }
        }

        var request = SpawnRequest(
            executablePath: path, arguments: arguments,
            environment: order.map { "\($0)=\(environment[$0]!)" }, workingDirectory: directory)
        request.umask = service.umask ?? 0o022
        // systemd's default, for every command of the unit (hooks too).
        request.ignoreSIGPIPE = service.ignoreSIGPIPE ?? true
        if applySandbox {
            request.resourceLimits = service.resourceLimits.keys.sorted { $0.linuxResource < $1.linuxResource }.map {
                let limit = service.resourceLimits[$0]!
                return ProcessResourceLimit(resource: $0.linuxResource, soft: limit.soft ?? .max, hard: limit.hard ?? .max)
            }
            request.nice = service.nice
            request.cpuAffinity = service.cpuAffinity?.indices
            request.schedulingPolicy = service.cpuSchedulingPolicy?.linuxValue
            request.schedulingPriority = service.cpuSchedulingPriority
            request.oomScoreAdjust = service.oomScoreAdjust
            let last = Capabilities.lastSupportedCapability
            request.capabilityBoundingSet = service.capabilityBoundingSet?.effectiveBits(lastCapability: last)
            request.ambientCapabilities = service.ambientCapabilities?.effectiveBits(lastCapability: last)
            request.noNewPrivileges = service.noNewPrivileges ?? false
        }
        if applyCredentials {
            request.userID = user?.userID
            request.groupID = groupID
            request.supplementaryGroups = groups
        }

        // Standard output and error.
        var prepared = PreparedLaunch(request: request, outputReadFD: nil, childOnlyFDs: [])
        do {
            var logWriteFD: Int32?
            func logChannel() throws(ProcessControlError) -> Int32 {
                if let logWriteFD { return logWriteFD }
                let channel = try RuntimeDescriptors.outputChannel()
                prepared.outputReadFD = channel.read
                prepared.childOnlyFDs.append(channel.write)
                logWriteFD = channel.write
                return channel.write
            }
            func stream(_ target: OutputTarget) throws(ProcessControlError) -> StandardStream {
                switch target {
                case .null: return .null
                case .file(let p): return .fd(try open(p, .write))
                case .append(let p): return .fd(try open(p, .append))
                case .truncate(let p): return .fd(try open(p, .truncate))
                case .inherit, .journal, .journalAndConsole, .kmsg, .kmsgAndConsole, .tty:
                    // Warden's log target (stderr, later the journal), tagged with the unit.
                    return .fd(try logChannel())
                }
            }
            func open(_ path: String, _ mode: RuntimeDescriptors.FileMode) throws(ProcessControlError) -> Int32 {
                let fd = try RuntimeDescriptors.openOutputFile(path, mode: mode)
                prepared.childOnlyFDs.append(fd)
                return fd
            }
            let stdout = try stream(service.standardOutput ?? .journal)
            // StandardError=inherit (the default) is the same as standard output.
            let stderr: StandardStream
            if let target = service.standardError, target != .inherit {
                stderr = try stream(target)
            } else {
                stderr = stdout
            }
            prepared.request.stdout = stdout
            prepared.request.stderr = stderr
            prepared.request.stdin = .null
        } catch {
            prepared.closeAll()
            throw LaunchError(description: error.description)
        }
        return prepared
    }
}
