import Logging
import WardenCore
import WardenLinux

/// The daemon ends early with this exit status.
struct DaemonExit: Error {
    var code: Int32
}

/// `warden run`: supervise the configured components in the foreground until SIGTERM or
/// SIGINT. Shared by the `warden` command line (when `warden-daemon` is missing) and the
/// lean `warden-daemon` binary, which links neither the argument parser nor
/// FoundationEssentials and so keeps the long-running process small.
public enum Daemon {
    /// The binary `warden run` executes, next to `warden` itself.
    public static let binaryName = "warden-daemon"

    /// Runs the daemon; returns its exit status (`SupervisorExitCode`).
    public static func run(_ arguments: DaemonArguments) -> Int32 {
        do {
            try runThrowing(arguments)
            return 0
        } catch let exit as DaemonExit {
            return exit.code
        } catch {
            // Worded and numbered as the argument parser reported an error a command threw.
            writeStderr("Error: \(error)")
            return 1
        }
    }

    private static func runThrowing(_ arguments: DaemonArguments) throws {
        // Before any other thread exists: these signals must reach the loop's signalfd,
        // never a thread's default action (SIGTERM's kills the whole process). SIGPIPE is
        // ignored: a write to a closed pipe or socket fails with EPIPE instead (children
        // get their own disposition back at spawn).
        EventLoop.blockSignalsInCallingThread(SignalContract.handled)
        SignalContract.ignoreBrokenPipes()
        // One probe of the machine for the checks, both cgroup backends and `status`.
        let host = HostProbe.facts()
        let loaded = arguments.load(host: host)

        // Log to the journal when configured, or when systemd connected stderr to it.
        let outputBuffer = ComponentOutputBuffer()
        let toJournal: Bool
        switch loaded.configuration?.settings.logTarget ?? .auto {
        case .journal: toJournal = true
        case .stderr: toJournal = false
        case .auto: toJournal = JournalStream.stderrIsJournal()
        }
        // Looked at once: the backend's choice and the subtree's set-up both go by it.
        let discovery = CgroupDiscovery.discover()
        let backend = loaded.configuration.map { Self.cgroupBackend(for: $0, host: host, discovery: discovery) }
        // Transient scopes: a component's lines are filed under its scope too.
        var objectUnit: (@Sendable (String) -> String)?
        if backend == .systemd {
            objectUnit = { @Sendable unit in SystemdUnitPlan.scopeName(for: unit) }
        }
        let scopeOfComponent = objectUnit
        LoggingSystem.bootstrap { label in
            toJournal
                ? OutputCapturingLogHandler(
                    wrapping: AnyWardenLogHandler(JournalBridgeLogHandler(label: label, objectUnit: scopeOfComponent)),
                    buffer: outputBuffer)
                : OutputCapturingLogHandler(wrapping: AnyWardenLogHandler(WardenLogHandler(label: label)), buffer: outputBuffer)
        }
        var configuredLogger = Logger(label: "warden")
        if let level = loaded.configuration?.settings.logLevel { configuredLogger.logLevel = Logger.Level(level) }
        let logger = configuredLogger

        let result = Self.enforceable(loaded, logger: logger)
        guard let configuration = result.configuration else {
            for diagnostic in result.diagnostics { writeStderr(diagnostic.description) }
            let errors = result.diagnostics.filter { $0.severity == .error }.count
            writeStderr("configuration invalid: \(errors) error(s)")
            throw DaemonExit(code: SupervisorExitCode.configurationInvalid)
        }
        for diagnostic in result.diagnostics { writeStderr(diagnostic.description) }

        var searchPath = ConfigurationLoader.systemdExecutableSearchPath
        if let own = HostProbe.executableDirectory() { searchPath.append(own) }
        let stateDirectory = arguments.stateDirectory ?? configuration.settings.effectiveStateDirectory
        // One Warden per state directory: a second one would start every component twice.
        let lock: StateLock
        do {
            try RuntimeDescriptors.makeDirectories(stateDirectory)
            lock = try StateLock.acquire(stateDirectory: stateDirectory)
        } catch {
            writeStderr("warden: \(error)")
            throw DaemonExit(code: SupervisorExitCode.failure)
        }
        defer { lock.release(clean: true) }
        var options = SupervisorOptions(
            stateDirectory: stateDirectory,
            executableSearchPath: searchPath, handleSignals: true, reapAllOrphans: true)
        options.mainProgram = arguments.mainUnit
        options.previousRunEndedUncleanly = lock.previousHolderEndedUncleanly
        // Transient scopes through systemd instead of a subtree (CgroupBackendChoice).
        var scopes: SystemdScopeBackend?
        var cgroups: CgroupProcessTracker?
        switch backend ?? .delegated {
        case .refused(let reason):
            writeStderr(
                "warden: CgroupBackend=systemd needs systemd's D-Bus API, which is not available here: \(reason); "
                    + "use CgroupBackend=auto (the default) or delegated, or run Warden under systemd")
            throw DaemonExit(code: SupervisorExitCode.configurationInvalid)
        case .systemd:
            do {
                scopes = try SystemdScopeBackend.connect(host: host)
            } catch {
                writeStderr("warden: \(error)")
                throw DaemonExit(code: SupervisorExitCode.configurationInvalid)
            }
            let why = configuration.settings.cgroupBackend == .systemd ? "CgroupBackend=systemd" : "no delegated subtree, systemd is here"
            logger.info("cgroups: \(why): each component in a transient warden-NAME.scope")
        case .delegated, .withoutCgroups:
            var systemdNote: String?
            if case .withoutCgroups(let reason) = backend, configuration.settings.cgroupBackend ?? .auto == .auto { systemdNote = reason }
            (cgroups, options.cgroupAvailability) = try Self.cgroupSubtree(
                for: configuration, host: host, discovery: discovery, logger: logger, reasonWithSystemd: systemdNote)
        }
        let supervisor: Supervisor
        do {
            supervisor = try Supervisor(
                configuration: configuration, options: options, logger: logger,
                reloadSource: { Self.enforceable(arguments.load(host: HostProbe.facts()), logger: logger) },
                tracker: Self.processTracker(logger: logger, needed: cgroups == nil && scopes == nil),
                cgroups: cgroups, healthProber: LoopHealthProber(), scopes: scopes, host: host)
        } catch {
            writeStderr("warden: \(error)")
            // Nothing ran yet: take the groups made for this run away again.
            _ = try? cgroups?.manager.removeAll()
            throw DaemonExit(code: SupervisorExitCode.failure)
        }
        var control: ControlEndpoint?
        switch ControlEndpoint.open(settings: configuration.settings, supervisor: supervisor, outputBuffer: outputBuffer) {
        case .success(let endpoint):
            control = endpoint
        case .failure(let reason):
            if configuration.settings.controlSocketOptional == true {
                logger.warning(
                    "control socket not opened: \(reason); running on without it (ControlSocketOptional=yes): only signals reach this Warden")
            } else {
                writeStderr(
                    "warden: the control socket cannot be opened: \(reason); refusing to start, since no one could stop or inspect this Warden but by signals (ControlSocketOptional=yes runs on without it)")
                supervisor.close()
                _ = try? cgroups?.manager.removeAll()
                throw DaemonExit(code: SupervisorExitCode.controlSocketUnavailable)
            }
        }
        control?.answerConfigSource(
            with: arguments.configSource(
                stateDirectory: stateDirectory,
                controlSocket: configuration.settings.controlSocket ?? stateDirectory + "/control.sock"))
        let governor = GovernorDriver.start(
            for: supervisor, wiring: try Self.governorWiring(testRoot: arguments.governorCgroupRoot))
        control?.answerEmergencies(with: governor)
        let metrics = MetricsEndpoint.open(settings: configuration.settings, supervisor: supervisor, governor: governor)
        supervisor.start()
        let code = supervisor.waitForExit() ?? SupervisorExitCode.failure
        // The control socket's file goes with the daemon, while the loop still runs.
        control?.close()
        metrics?.close()
        supervisor.close()
        if code != 0 { throw DaemonExit(code: code) }
    }

    /// How a component's processes are found without cgroups: through /proc when it
    /// shows Warden's own PID namespace, else by process group (said once).
    static func processTracker(logger: Logger, needed: Bool) -> ProcessTracker {
        if !needed || ProcessTable.showsOwnNamespace() { return ProcfsProcessTracker() }
        logger.warning(
            "/proc does not show this PID namespace (/proc/self is not pid \(ThisProcess.pid); mount a /proc of its own, e.g. unshare --mount-proc): a component's processes are found by process group, one that leaves its group is not stopped with it, and a main process gets the stop signal twice (first alone, then with its group); duplicate scans and re-adoption read other processes there")
        return ProcessGroupTracker()
    }

    static func governorWiring(testRoot: String?) throws -> GovernorWiring {
        guard let testRoot else { return GovernorWiring() }
        let (slices, reason) = SystemdSliceControl.connect()
        let manager = try CgroupManager(rootPath: testRoot, options: CgroupManager.Options(requireCgroup2: false))
        return GovernorWiring(effects: GovernorEffects(manager: manager, slices: slices, slicesUnavailableReason: reason))
    }

    /// The configuration without per-process settings this Warden lacks the capability
    /// for, each said once; with `FailOnUnenforceable=yes` they make it invalid instead.
    static func enforceable(_ result: ConfigurationLoader.Result, logger: Logger) -> ConfigurationLoader.Result {
        guard let configuration = result.configuration else { return result }
        let findings = PrivilegeCheck.unenforceable(
            in: configuration, capabilities: HostProbe.effectiveCapabilities(), ownLimits: ThisProcess.resourceLimits())
        guard !findings.isEmpty else { return result }
        if configuration.settings.failOnUnenforceable == true {
            let location = configuration.settings.keyLocations["FailOnUnenforceable"] ?? configuration.settings.location
            return ConfigurationLoader.Result(
                configuration: nil,
                diagnostics: result.diagnostics
                    + findings.map { .error(location, key: "FailOnUnenforceable", $0.description) })
        }
        for finding in findings { logger.warning("\(finding)") }
        var stripped = result
        stripped.configuration = PrivilegeCheck.removing(findings, from: configuration)
        return stripped
    }

    /// Warden's cgroup subtree when the group it runs in is delegated to it alone (a
    /// `Delegate=yes` service, a container's root); nil otherwise, after saying once
    /// which settings will not be enforced. With `FailOnUnenforceable=yes` any such
    /// setting refuses the start instead. The availability found is what `status` judges
    /// the settings by.
    static func cgroupSubtree(
        for configuration: Configuration, host: HostFacts, discovery: CgroupDiscovery, logger: Logger,
        reasonWithSystemd: String? = nil
    ) throws -> (CgroupProcessTracker?, CgroupAvailability) {
        let failClosed = configuration.settings.failOnUnenforceable == true
        let plan = CgroupPlan.plan(for: configuration, host: host)
        func refuse(_ settings: [UnenforcedSetting], _ why: String) throws {
            for line in CgroupEnforcement.messages(settings) { logger.error("not enforceable: \(line)") }
            logger.error("FailOnUnenforceable=yes: \(why); not starting")
            throw DaemonExit(code: SupervisorExitCode.configurationInvalid)
        }
        switch CgroupPlacement.decide(discovery: discovery, plan: plan) {
        case .withoutCgroups(let reason, let unenforced):
            if failClosed && !unenforced.isEmpty { try refuse(unenforced, "no usable cgroup") }
            logger.notice("running without cgroups: \(reasonWithSystemd ?? reason)")
            for line in CgroupEnforcement.messages(unenforced) { logger.warning("not enforced: \(line)") }
            return (nil, CgroupAvailability(hierarchy: .unusable(reason: reason)))
        case .manage(let groupPath):
            let missing = CgroupEnforcement.unenforced(plan: plan, availability: discovery.availability)
            if failClosed && !missing.isEmpty { try refuse(missing, "controllers missing") }
            let tracker: CgroupProcessTracker
            do {
                tracker = try CgroupProcessTracker.establish(groupPath: groupPath, plan: plan)
            } catch {
                let unusable = CgroupAvailability(hierarchy: .unusable(reason: error.description))
                let all = CgroupEnforcement.unenforced(plan: plan, availability: unusable)
                if failClosed { try refuse(all, error.description) }
                logger.error("\(error); running without cgroups")
                for line in CgroupEnforcement.messages(all) { logger.warning("not enforced: \(line)") }
                return (nil, unusable)
            }
            let said = Set(missing.map { "\($0.key) \($0.unit)" })
            let more = (tracker.setupReport?.unenforced ?? []).filter { !said.contains("\($0.key) \($0.unit)") }
            if failClosed && !more.isEmpty {
                _ = try? tracker.manager.removeAll()
                try refuse(more, "cgroup writes refused")
            }
            for line in CgroupEnforcement.messages(missing + more) { logger.warning("not enforced: \(line)") }
            let controllers = discovery.availability.availableControllers.sorted().joined(separator: " ")
            if discovery.startedInSupervisorLeaf {
                logger.notice("started inside \(groupPath)/\(tracker.manager.options.supervisorGroup), the leaf a previous Warden left: managing its subtree again")
            }
            logger.info(
                "cgroups: managing \(groupPath) (\(controllers)); warden runs in \(tracker.manager.options.supervisorGroup), \(plan.count) group(s) set up")
            return (tracker, discovery.availability)
        }
    }

    /// `CgroupBackend=` as this host answers it. Nothing is written: whether a subtree can
    /// be managed is judged from the mount, the group's files and what it holds; systemd is
    /// asked only when that matters (`auto` without a subtree, or `systemd`).
    public static func cgroupBackend(
        for configuration: Configuration, host: HostFacts, discovery: CgroupDiscovery
    ) -> CgroupBackendChoice {
        let configured = configuration.settings.cgroupBackend ?? .auto
        var subtreeProblem: String?
        if configured != .systemd {
            let placement = CgroupPlacement.decide(discovery: discovery, plan: CgroupPlan.plan(for: configuration, host: host))
            if case .withoutCgroups(let reason, _) = placement { subtreeProblem = reason }
        }
        return CgroupBackendChoice.decide(configured: configured, subtreeProblem: subtreeProblem) {
            // The system manager makes units for root alone; another user's request is
            // refused by polkit at the first spawn, too late to fall back.
            if configured == .auto && !ThisProcess.isRoot { return "Warden does not run as root" }
            return SystemdBus.availability().reason
        }
    }

    private static func writeStderr(_ line: String) {
        ThisProcess.writeStandardError(line)
    }
}
