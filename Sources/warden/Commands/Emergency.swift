import ArgumentParser
import Glibc
import Logging
import WardenCore
import WardenLinux
import WardenRuntime

/// `warden emergency on|off|status`: the governor's manual emergency mode, through the
/// running daemon when it answers, else directly on cgroupfs and systemd's D-Bus with the
/// same state file the daemon resumes from (docs/governor.md).
struct Emergency: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Throttle batch work by hand in an overload, list what is throttled, undo it exactly.",
        discussion: """
            Goes through the running daemon's control socket; when no daemon answers, acts \
            directly on Warden's cgroup subtree and systemd's slices, recording every change \
            in STATE/governor.state, which a daemon started later resumes. On a host with no \
            Warden configuration it acts with Warden's defaults: no component, ThrottleSlices= \
            system.slice user.slice (minus any slice holding a Warden daemon or a critical \
            process, each named with the reason), state in /run/warden. Exit status: 0; \
            1 on failure or a refused target; 5 for an unknown target; 69 when a daemon holds \
            the state directory but does not answer; 78 for an invalid configuration.
            """,
        subcommands: [EmergencyOn.self, EmergencyOff.self, EmergencyStatus.self])
}

/// Where to find the daemon, the configuration and, without a daemon, the state and the
/// cgroup subtree.
struct EmergencyOptions: ParsableArguments {
    @Option(name: .long, help: "warden.conf to read (default /etc/warden/warden.conf when it exists).")
    var config: String?

    @Option(name: .long, help: "Unit directory, overriding UnitDirectories= (repeatable).")
    var units: [String] = []

    @Option(name: .long, help: "The daemon's control socket (default: ControlSocket= of warden.conf).")
    var socket: String?

    @Option(name: .long, help: "State directory without a daemon (default: StateDirectory= or /run/warden).")
    var stateDir: String?

    @Option(
        name: .long,
        help: "Warden's cgroup subtree without a daemon (default: the one the last daemon recorded in STATE/governor.cgroup-root).")
    var cgroupRoot: String?

    /// Tests point `--cgroup-root` at a plain directory tree: skip the cgroup2 check.
    @Flag(name: .long, help: .hidden)
    var cgroupRootIsPlainDirectory = false

    /// The configuration; on a host with none, Warden's defaults (no component, the
    /// host's slices as `ThrottleSlices=`), as the runbook's `systemctl set-property`
    /// needs no file either.
    func load() -> ConfigurationLoader.Result {
        ConfigLocation(config: config, units: units).loadOrDefaults(host: HostProbe.facts()).result
    }

    func socketPath(_ loaded: ConfigurationLoader.Result) -> String {
        if let socket { return socket }
        if let settings = loaded.configuration?.settings {
            if settings.controlSocket == nil, let stateDir { return stateDir + "/control.sock" }
            return settings.effectiveControlSocket
        }
        return (stateDir ?? WardenSettings.defaultStateDirectory) + "/control.sock"
    }

    /// The arguments that name the same places, for the expiry timer's command line.
    var forwarded: [String] {
        var arguments: [String] = []
        if let config { arguments += ["--config", config] }
        for unit in units { arguments += ["--units", unit] }
        if let socket { arguments += ["--socket", socket] }
        if let stateDir { arguments += ["--state-dir", stateDir] }
        if let cgroupRoot { arguments += ["--cgroup-root", cgroupRoot] }
        if cgroupRootIsPlainDirectory { arguments.append("--cgroup-root-is-plain-directory") }
        return arguments
    }
}

extension ConfigLocation {
    init(config: String?, units: [String]) {
        self.init()
        self.config = config
        self.units = units
    }
}

/// What one emergency command does, through the daemon or directly.
enum EmergencyRun {
    /// The daemon's answer; nil when no daemon listens (then act directly).
    static func viaDaemon(_ request: ControlRequest, socket path: String) throws -> ControlResponse? {
        switch ControlClient(path: path).send(request) {
        case .failure(let error):
            if error.daemonNotRunning { return nil }
            printError("warden: \(error)")
            throw ExitCode(ControlExit.noDaemon)
        case .success(let response):
            return try ControlExit.succeeded(response)
        }
    }

    /// The direct mode's governor: the configuration, the state directory's lock, the state
    /// file, the cgroup subtree and systemd. The lock is held until the command ends, so a
    /// daemon starting meanwhile waits its turn rather than both owning the state.
    struct Direct {
        let driver: GovernorDriver
        let lock: StateLock
        let stateDirectory: String
        /// `ThrottleSlices=` left alone: each holds a Warden daemon or a critical process.
        let skipped: [ThrottleSliceGuard.Skipped]
    }

    static func direct(_ options: EmergencyOptions, _ loaded: ConfigurationLoader.Result) throws -> Direct {
        guard var configuration = loaded.configuration else {
            for diagnostic in loaded.diagnostics { printError(diagnostic.description) }
            printError("warden: no daemon answers and the configuration is invalid: cannot act directly")
            throw ExitCode(78)
        }
        let stateDirectory = options.stateDir ?? configuration.settings.effectiveStateDirectory
        let lock: StateLock
        do {
            try RuntimeDescriptors.makeDirectories(stateDirectory)
            lock = try StateLock.acquire(stateDirectory: stateDirectory)
        } catch let error as StateLockError {
            if case .alreadyRunning = error {
                printError("warden: \(error); its control socket \(options.socketPath(loaded)) does not answer")
                throw ExitCode(ControlExit.noDaemon)
            }
            printError("warden: \(error)")
            throw ExitCode(ControlExit.failure)
        } catch {
            printError("warden: \(error)")
            throw ExitCode(ControlExit.failure)
        }
        let store = GovernorStateFile(stateDirectory: stateDirectory)
        var groups: GovernorGroupControl?
        var groupsReason: String?
        var componentsAreSystemdUnits = false
        switch options.cgroupRoot.map({ GovernorGroupRecord.cgroupfs(root: $0) }) ?? store.recordedGroups() {
        case .cgroupfs(let root):
            do {
                groups = CgroupfsGroupControl(
                    manager: try CgroupManager(
                        rootPath: root, options: CgroupManager.Options(requireCgroup2: !options.cgroupRootIsPlainDirectory)))
            } catch {
                groupsReason = "\(error)"
            }
        case .systemdUnits(let root):
            // The last daemon ran its components as systemd scopes (CgroupBackend=systemd).
            componentsAreSystemdUnits = true
            let (control, reason) = SystemdUnitGroupControl.connect(cgroupRoot: root)
            groups = control
            groupsReason = reason.map { "the components are systemd scopes and systemd is not reachable: \($0)" }
        case nil:
            groupsReason =
                "no Warden cgroup subtree known (no daemon recorded one in \(store.cgroupRootPath)); pass --cgroup-root"
        }
        var (slices, slicesReason) = SystemdSliceControl.connect()
        // The host's slices minus those holding Warden or a critical process: throttling
        // them would throttle what the emergency is for.
        let throttleSlices = configuration.settings.governor.effectiveThrottleSlices
        let guarded = ThrottleSliceGuard.split(
            throttleSlices,
            protecting: ProtectedProcessScan.scan(configuration: configuration, stateDirectory: stateDirectory))
        if !guarded.skipped.isEmpty {
            if guarded.kept.isEmpty {
                if slicesReason == nil {
                    slicesReason = "each holds Warden or a critical process"
                    slices = nil
                }
            } else {
                configuration.settings.governor.throttleSlices = guarded.kept
            }
        }
        let effects = GovernorEffects(
            groups: groups, groupsUnavailableReason: groupsReason, slices: slices, slicesUnavailableReason: slicesReason)
        effects.componentsAreSystemdUnits = componentsAreSystemdUnits
        var logger = Logger(label: "warden.governor") { WardenLogHandler(label: $0) }
        logger.logLevel = .notice
        let driver = GovernorDriver(
            configuration: { configuration }, effects: effects, source: nil,
            options: GovernorDriverOptions(stateDirectory: stateDirectory, automaticWakeups: false, source: "direct"),
            logger: logger)
        if let groupsReason, !GovernorTarget.targets(for: configuration).isEmpty {
            driver.addNote("Warden's slices and components are not governed: \(groupsReason)")
        }
        if let slicesReason {
            driver.addNote("ThrottleSlices= (\(throttleSlices.joined(separator: " "))) not throttled: \(slicesReason)")
        }
        for skipped in guarded.skipped { driver.addNote(skipped.description) }
        if case .failure(let error) = driver.loadState() {
            printError("warden: \(error)")
            throw ExitCode(ControlExit.failure)
        }
        return Direct(driver: driver, lock: lock, stateDirectory: stateDirectory, skipped: guarded.skipped)
    }

    static func who() -> String { "warden emergency (uid \(getuid()), no daemon)" }

    static func fail(_ error: ControlError) -> ExitCode {
        printError("warden: \(error.code): \(error.message)")
        return ExitCode(ControlExit.code(for: error.code))
    }

    static func show(_ status: ControlEmergencyStatus, json: Bool) {
        if json {
            var line = ControlCodec.encodeLine(status)
            _ = line.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        } else {
            print(status.renderText(), terminator: "")
        }
    }
}

struct EmergencyOn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "on",
        abstract: "Throttle now: the critical tier's quota for the batch groups (or the named targets).",
        discussion: """
            Without --target: every Priority=batch slice and component, and ThrottleSlices= on \
            systemd hosts (default system.slice user.slice, also on a host with no Warden \
            configuration), minus every slice that holds a Warden daemon or a process of a \
            Priority=critical component: each one left out is named with the reason. \
            Priority=critical groups are refused. --for makes it expire by itself, with or \
            without a daemon (docs/governor.md says how).
            """)

    @OptionGroup var options: EmergencyOptions

    @Option(name: .long, help: ArgumentHelp("Quota per group in CPUQuota= syntax (100% = one CPU).", valueName: "PERCENT"))
    var cpuQuota: String?

    @Option(name: .long, help: ArgumentHelp("A slice or component (NAME means NAME.service), repeatable.", valueName: "SLICE|COMPONENT"))
    var target: [String] = []

    @Option(name: .long, help: ArgumentHelp("Also freeze these: 'batch' (the batch groups).", valueName: "batch"))
    var freeze: [String] = []

    @Option(name: .customLong("for"), help: ArgumentHelp("Expire after this time span (systemd syntax: 10min, 1h 30min).", valueName: "TIMESPAN"))
    var duration: String?

    func request() throws -> ControlEmergencyRequest {
        var request = ControlEmergencyRequest()
        if let cpuQuota {
            switch CPUQuota.parse(cpuQuota) {
            case .success(let quota?): request.cpuQuotaPerSecUSec = quota.perSecondUSec
            case .success(nil): throw ValidationError("--cpu-quota: an empty value is no quota; expected a percentage such as 50%")
            case .failure(let error): throw ValidationError("--cpu-quota: \(error)")
            }
        }
        if let duration {
            switch TimeSpan.parse(duration) {
            case .success(let span) where span.usec > 0 && !span.isInfinite: request.durationUSec = span.usec
            case .success: throw ValidationError("--for: '\(duration)' must be a finite time span above 0 (omit --for for no expiry)")
            case .failure(let error): throw ValidationError("--for: \(error)")
            }
        }
        for word in freeze where word != "batch" {
            throw ValidationError("--freeze: '\(word)' is not supported; the only value is 'batch'")
        }
        if !target.isEmpty { request.targets = target }
        if !freeze.isEmpty { request.freeze = ["batch"] }
        return request
    }

    func validate() throws { _ = try request() }

    func run() throws {
        let emergency = try request()
        let loaded = options.load()
        let controlRequest = ControlRequest(id: 1, op: .emergencyOn, emergency: emergency)
        if let response = try EmergencyRun.viaDaemon(controlRequest, socket: options.socketPath(loaded)) {
            if let message = response.message { print(message) }
            if let status = response.emergency { EmergencyRun.show(status, json: false) }
            return
        }
        let direct = try EmergencyRun.direct(options, loaded)
        defer { direct.lock.release() }
        for name in emergency.targets ?? [] {
            if let skipped = direct.skipped.first(where: { $0.slice == name || $0.slice == name + ".slice" }) {
                throw EmergencyRun.fail(ControlError(.refused, skipped.description + "; it is never throttled"))
            }
        }
        let manual: ManualEmergencyRequest
        switch emergency.manualRequest() {
        case .success(let value): manual = value
        case .failure(let error): throw EmergencyRun.fail(error)
        }
        switch direct.driver.manualOn(manual, requestedBy: EmergencyRun.who()) {
        case .failure(let error): throw EmergencyRun.fail(error)
        case .success(var status):
            print("emergency on (no daemon: acted directly): tier \(status.tier), \(status.changes.count) value(s) changed")
            if manual.duration != nil, let until = direct.driver.state.manualUntil {
                switch EmergencyExpiry.arrange(until: until, stateDirectory: direct.stateDirectory, options: options) {
                case .success(let how): status.notes.append("expiry: \(how)")
                case .failure(let why):
                    status.notes.append("expiry NOT arranged (\(why)): run 'warden emergency off' by hand, or start the daemon")
                    EmergencyRun.show(status, json: false)
                    throw ExitCode(ControlExit.failure)
                }
            }
            EmergencyRun.show(status, json: false)
        }
    }
}

struct EmergencyOff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "off",
        abstract: "End manual emergency mode: write back exactly what was there before.",
        discussion: """
            A value someone else changed since the governor wrote it is left as found and \
            reported as a conflict. Without a daemon, an automatic tier's changes left by a \
            daemon that died are restored too.
            """)

    @OptionGroup var options: EmergencyOptions

    /// The expiry timer's call: act only when the manual mode's --for has run out.
    @Flag(name: .long, help: .hidden)
    var expiredOnly = false

    /// The detached waiter's call (no systemd): sleep until the expiry first.
    @Flag(name: .long, help: .hidden)
    var waitForExpiry = false

    func run() throws {
        let loaded = options.load()
        if waitForExpiry {
            EmergencyExpiry.detachAndWait(options, loaded)
        }
        let onlyExpired = expiredOnly || waitForExpiry
        let request = ControlRequest(id: 1, op: onlyExpired ? .emergencyStatus : .emergencyOff)
        if let response = try EmergencyRun.viaDaemon(request, socket: options.socketPath(loaded)) {
            // A daemon ends an expired manual mode by itself.
            if onlyExpired { return }
            if let message = response.message { print(message) }
            if let status = response.emergency { EmergencyRun.show(status, json: false) }
            return
        }
        let direct: EmergencyRun.Direct
        do {
            direct = try EmergencyRun.direct(options, loaded)
        } catch let exit as ExitCode where onlyExpired && exit == ExitCode(ControlExit.noDaemon) {
            // A daemon started meanwhile holds the state: it honours the expiry itself.
            return
        }
        defer { direct.lock.release() }
        let who = onlyExpired ? "the expiry of warden emergency on --for (no daemon)" : EmergencyRun.who()
        switch direct.driver.manualOff(requestedBy: who, expiredOnly: onlyExpired, standDownAutomatic: !onlyExpired) {
        case .failure(let error): throw EmergencyRun.fail(error)
        case .success(let outcome):
            print(outcome.message + " (no daemon: acted directly)")
            EmergencyRun.show(outcome.status, json: false)
            if !outcome.status.conflicts.isEmpty { throw ExitCode(ControlExit.failure) }
        }
    }
}

struct EmergencyStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The governor's tier and mode, every value it changed with the previous one, and conflicts.",
        discussion: "--json prints the stable shape of docs/control-protocol.md (emergency-status).")

    @OptionGroup var options: EmergencyOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let loaded = options.load()
        let request = ControlRequest(id: 1, op: .emergencyStatus)
        if let response = try EmergencyRun.viaDaemon(request, socket: options.socketPath(loaded)) {
            guard let status = response.emergency else {
                printError("warden: the daemon's answer has no governor status")
                throw ExitCode(ControlExit.failure)
            }
            EmergencyRun.show(status, json: json)
            return
        }
        let direct = try EmergencyRun.direct(options, loaded)
        defer { direct.lock.release() }
        EmergencyRun.show(direct.driver.status(), json: json)
    }
}

/// How `warden emergency on --for` expires without a daemon. On a systemd host a transient
/// timer (`systemd-run --on-active=`) runs `warden emergency off --expired-only` at the
/// expiry: it survives the operator's session and is listed by `systemctl list-timers`.
/// Elsewhere a detached waiter (its own session, SIGHUP ignored) sleeps until the expiry
/// and does the same. Either way `--expired-only` acts only if the state file still holds
/// that expired manual mode, and a daemon running by then has ended it itself (it reads the
/// expiry from the state file). Neither survives a reboot, and nothing needs to: the
/// throttles do not either.
enum EmergencyExpiry {
    static func arrange(until: MonotonicInstant, stateDirectory: String, options: EmergencyOptions) -> Result<String, ExpiryError> {
        guard let executable = ownExecutable() else { return .failure(ExpiryError("the warden executable's path is unknown")) }
        let now = GovernorDriver.monotonicNow()
        let left = until.since(now)
        let candidates: [String] = ["/usr/bin/systemd-run", "/bin/systemd-run"]
        if SystemdHost.isBooted(), let systemdRun = candidates.first(where: { access($0, X_OK) == 0 }) {
            let unit = "warden-emergency-expiry-\(now.usec)"
            let arguments = [
                systemdRun, "--quiet", "--collect", "--unit=\(unit)", "--on-active=\(max(left.usec, 1))us",
                "--timer-property=AccuracySec=100ms", "--description=Warden: end the manual emergency mode (warden emergency on --for)",
                executable, "emergency", "off", "--expired-only",
            ] + options.forwarded
            switch runAndWait(arguments) {
            case 0: return .success("systemd timer \(unit).timer runs 'warden emergency off --expired-only' in \(left.systemdString(accuracy: .seconds(1)))")
            case let status: return .failure(ExpiryError("systemd-run failed with status \(status)"))
            }
        }
        let arguments = [executable, "emergency", "off", "--wait-for-expiry"] + options.forwarded
        switch spawnDetached(arguments, log: stateDirectory + "/governor-expiry.log") {
        case .success(let pid):
            return .success("waiter pid \(pid) runs 'warden emergency off --expired-only' in \(left.systemdString(accuracy: .seconds(1))) (no systemd here)")
        case .failure(let error):
            return .failure(error)
        }
    }

    /// The waiter: its own session (an operator's closing terminal must not end it), then
    /// sleep until the expiry the state file holds now. A later `on` or `off` changes the
    /// file; the `--expired-only` check after the sleep sees that.
    static func detachAndWait(_ options: EmergencyOptions, _ loaded: ConfigurationLoader.Result) {
        _ = setsid()
        signal(SIGHUP, SIG_IGN)
        let stateDirectory = options.stateDir ?? loaded.configuration?.settings.effectiveStateDirectory ?? WardenSettings.defaultStateDirectory
        guard case .success(let stored?) = GovernorStateFile(stateDirectory: stateDirectory).load(), let until = stored.manualUntil else {
            return
        }
        SystemCall.sleep(untilMonotonicMicroseconds: until.usec)
    }

    static func ownExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(decoding: $0.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }

    /// Runs a helper command with its input and output on ours and waits for it: its exit
    /// status, 128 + the signal that ended it, or minus the errno when it could not start.
    static func runAndWait(_ arguments: [String]) -> Int32 {
        let request = SpawnRequest(
            executablePath: arguments[0], arguments: arguments, environment: ThisProcess.environment, stdin: .inherit)
        let process: SpawnedProcess
        do {
            process = try spawnProcess(request)
        } catch {
            return -error.errno
        }
        switch process.waitForExit() {
        case .success(.exited(let code)): return code
        case .success(.killed(let signal, _)): return 128 + signal
        case .success(.unknown): return -1
        case .failure(let error): return -error.errno
        }
    }

    /// Starts the waiter with stdin and stdout on /dev/null and its stderr (the audit line
    /// of the expiry) appended to `log`: it outlives this command and its terminal.
    static func spawnDetached(_ arguments: [String], log: String) -> Result<pid_t, ExpiryError> {
        let logFD = SystemCall.retryingInterrupts { open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) }
        guard logFD >= 0 else { return .failure(ExpiryError("starting the waiter: \(errnoDescription(errno))")) }
        defer { close(logFD) }
        let request = SpawnRequest(
            executablePath: arguments[0], arguments: arguments, environment: ThisProcess.environment,
            stdin: .null, stdout: .null, stderr: .fd(logFD))
        do {
            let process = try spawnProcess(request)
            close(process.pidfd)
            return .success(process.pid)
        } catch {
            return .failure(ExpiryError("starting the waiter: \(errnoDescription(error.errno))"))
        }
    }
}

/// Why the expiry of `--for` could not be arranged.
struct ExpiryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
