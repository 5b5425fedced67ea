import Glibc
import Logging
import WardenCore
import WardenLinux

/// How a `Supervisor` runs, beyond the configuration.
public struct SupervisorOptions: Sendable {
    /// Where the notify socket lives (`warden.conf` `StateDirectory=`, `--state-dir`).
    /// Created if missing.
    public var stateDirectory: String
    /// Where plain command names are looked up at start: systemd's list plus the
    /// directory of the warden binary (what `check-config` validated against).
    public var executableSearchPath: [String]
    /// SIGTERM/SIGINT → graceful shutdown, SIGHUP → reload, through the loop's
    /// signalfd. The caller must have blocked them in every thread
    /// (`EventLoop.blockSignalsInCallingThread` at the start of `main`).
    public var handleSignals: Bool
    /// Reap every exited child, not only Warden's own (PID 1, or a subreaper daemon).
    /// Off where the process has other children (tests), which the supervisor must not
    /// steal; then only exited processes attributed to components are reaped.
    public var reapAllOrphans: Bool
    /// `PR_SET_CHILD_SUBREAPER` when not PID 1, so daemonizing components stay below
    /// Warden and can be found and stopped.
    public var becomeSubreaper: Bool
    /// How often a stop that waits for leftover processes looks again (no cgroup tells).
    public var leftoverPollInterval: TimeSpan
    /// After `ShutdownBudgetSec=` everything left gets SIGKILL; this is how long Warden
    /// then waits for the kills to be seen before giving up.
    public var shutdownKillGrace: TimeSpan
    /// The main program's unit (`warden run -- CMD`): when it ends, everything stops and
    /// Warden exits with its status (`MainProgram.exitCode`); `SignalContract.forwarded`
    /// signals go to it.
    public var mainProgram: String?
    /// The previous Warden of this state directory was killed or crashed: processes it
    /// started but had not recorded yet are looked for at start (`stopUnrecordedLeftovers`).
    public var previousRunEndedUncleanly = false

    public init(
        stateDirectory: String, executableSearchPath: [String] = ConfigurationLoader.systemdExecutableSearchPath,
        handleSignals: Bool = false, reapAllOrphans: Bool = false, becomeSubreaper: Bool = true,
        leftoverPollInterval: TimeSpan = .milliseconds(20), shutdownKillGrace: TimeSpan = .seconds(5)
    ) {
        self.stateDirectory = stateDirectory
        self.executableSearchPath = executableSearchPath
        self.handleSignals = handleSignals
        self.reapAllOrphans = reapAllOrphans
        self.becomeSubreaper = becomeSubreaper
        self.leftoverPollInterval = leftoverPollInterval
        self.shutdownKillGrace = shutdownKillGrace
    }
}

/// A setup step of the supervisor that failed.
public struct SupervisorError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// One component as `warden status` (and the tests) see it.
public struct ComponentStatus: Hashable, Sendable {
    public var name: String
    /// systemd's ActiveState and SubState.
    public var activeState: String
    public var subState: String
    /// systemd's Result; `dependency` is shown through `dependencyFailure`.
    public var result: ServiceResult
    public var mainPID: Int32?
    public var controlPID: Int32?
    public var restartCount: Int
    public var lastExit: ExitStatus?
    public var statusText: String?
    /// The last start reached readiness (and the component has not stopped since).
    public var isReady: Bool
    /// Why Warden did not start it (a `Requires=`/`BindsTo=` unit failed).
    public var dependencyFailure: String?
    public var invocationID: String?
}

/// Exit codes of `warden run`.
/// What each signal from outside does to a supervising Warden. None may end it: a Warden
/// killed by a stray `kill -USR1` would leave every component running unsupervised.
public enum SignalContract {
    /// Stop every component in reverse dependency order, then exit.
    public static let stop: [Int32] = [SIGTERM, SIGINT]
    /// Read the configuration again.
    public static let reload: [Int32] = [SIGHUP]
    /// Whose default action would end the process: taken and logged, nothing else. The
    /// faults a process raises itself (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS) are not
    /// here: they mean Warden itself broke, and blocking them changes nothing.
    public static var ignoredWithALogLine: [Int32] {
        [SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO, SIGPWR, SIGSTKFLT]
            + Array(SIGRTMIN_VALUE...SIGRTMAX_VALUE)
    }
    /// With a main program (`warden run -- CMD`): passed on to it, as tini passes every
    /// signal on, instead of being ignored (WINCH is otherwise left at its default,
    /// ignored).
    public static let forwarded: [Int32] = [SIGUSR1, SIGUSR2, SIGWINCH]
    /// The real-time signals glibc leaves to programs (it keeps 32 and 33 for itself).
    static var SIGRTMIN_VALUE: Int32 { Int32(__libc_current_sigrtmin()) }
    static var SIGRTMAX_VALUE: Int32 { Int32(__libc_current_sigrtmax()) }
    /// Every signal the loop takes through its signalfd: blocked in the main thread
    /// before any other thread exists, so no thread ever runs a default action.
    public static var handled: [Int32] { [SIGCHLD, SIGWINCH] + stop + reload + ignoredWithALogLine }
}

public enum SupervisorExitCode {
    /// Every component stopped and nothing was left behind.
    public static let clean: Int32 = 0
    /// A `Priority=critical` component failed for good, the shutdown budget ran out, or
    /// processes were left behind.
    public static let failure: Int32 = 1
    /// The configuration was invalid at start (`EX_CONFIG`).
    public static let configurationInvalid: Int32 = 78
    /// The control socket could not be created (`EX_CANTCREAT`), and
    /// `ControlSocketOptional=` did not allow running on without it.
    public static let controlSocketUnavailable: Int32 = 73
}

/// The supervisor: starts the configured components in dependency order, keeps them
/// running, stops them in reverse order; s6-style, the event loop only waits and
/// dispatches. Every component is a pure `ComponentMachine`; this class turns its
/// actions into effects (spawn, signal, timers) and the world's events (exits, sd_notify
/// messages, timer expiries) back into machine events.
///
/// Thread confinement: all state is touched only on the loop thread. Public methods
/// hand their work to the loop and are safe to call from any thread.
public final class Supervisor: @unchecked Sendable {
    /// Re-reads the configuration for a reload.
    public typealias ConfigurationSource = @Sendable () -> ConfigurationLoader.Result

    enum Phase { case idle, running, shuttingDown, finished }

    let loop: EventLoop
    let options: SupervisorOptions
    let logger: Logger
    let reloadSource: ConfigurationSource?
    let tracker: ProcessTracker
    /// The cgroup subtree when Warden manages one (then also `tracker`); nil on hosts
    /// without a usable cgroup v2 group, where `ProcfsProcessTracker` finds processes.
    let cgroups: CgroupProcessTracker?
    /// `CgroupBackend=systemd`: components in transient scopes (then also `tracker`).
    let scopes: SystemdScopeBackend?
    let healthProber: HealthProber?

    var configuration: Configuration
    /// The machine the cgroup plan was resolved against; `status` resolves limits the same.
    var host: HostFacts
    var graph: DependencyGraph
    var components: [String: Component] = [:]
    /// Removed by a reload, still stopping.
    var retired: [Component] = []
    var notifySocket: NotifySocket?
    /// The main program's exit status once it ended (`SupervisorOptions.mainProgram`).
    var mainProgramExit: Int32?
    /// Senders found to belong to no component, until when their datagrams are dropped
    /// unread (`admitsNotificationSender`). Loop thread.
    var notifyStrangers: [Int32: MonotonicInstant] = [:]
    var phase = Phase.idle
    var exitCode = SupervisorExitCode.clean
    var queue: [(Component, ComponentEvent)] = []
    var pumping = false
    var rng = BufferedSystemRandom()
    /// Pids with a live `watchExit`: never reaped by anything else.
    var watched: Set<Int32> = []
    var shutdownTimers: [EventLoop.TimerID] = []
    private let finished = FinishSignal()
    /// systemd's notify socket for Warden itself (inactive outside systemd).
    let serviceManager = SystemdNotifier()
    var announcedReady = false
    var announcedStatus: String?
    /// Duplicates and adoption (Supervisor+Duplicates, Supervisor+Adoption).
    let takeoverState = TakeoverState()

    /// Prepares the supervisor: the loop thread, the state directory, the notify socket,
    /// signal handling, subreaper and orphan reaping. Starts nothing; call `start()`.
    public init(
        configuration: Configuration, options: SupervisorOptions, logger: Logger,
        reloadSource: ConfigurationSource? = nil, tracker: ProcessTracker = ProcfsProcessTracker(),
        cgroups: CgroupProcessTracker? = nil, healthProber: HealthProber? = nil, scopes: SystemdScopeBackend? = nil,
        host: HostFacts = HostProbe.facts()
    ) throws(SupervisorError) {
        self.configuration = configuration
        self.host = host
        self.graph = DependencyGraph(configuration: configuration)
        self.options = options
        self.logger = logger
        self.reloadSource = reloadSource
        self.tracker = cgroups ?? scopes ?? tracker
        self.cgroups = cgroups
        self.scopes = scopes
        self.healthProber = healthProber
        do {
            try RuntimeDescriptors.makeDirectories(options.stateDirectory)
            loop = try EventLoop()
        } catch {
            throw SupervisorError(description: "preparing the supervisor: \(error)")
        }
        do {
            if !ProcessControl.isPID1 && options.becomeSubreaper { try ProcessControl.setChildSubreaper() }
            if options.reapAllOrphans {
                try loop.enableOrphanReaping { [unowned self] pid, status in self.orphanReaped(pid, status) }
            }
            if options.handleSignals {
                for signal in [SIGTERM, SIGINT] {
                    try loop.signal(signal) { [unowned self] info in
                        self.logger.info(
                            "\(ProcessControl.signalName(info.signal)) from pid \(info.senderPID): shutting down")
                        self.beginShutdown()
                    }
                }
                try loop.signal(SIGHUP) { [unowned self] _ in self.reloadFromSource() }
                for signal in SignalContract.ignoredWithALogLine + [SIGWINCH] {
                    try loop.signal(signal) { [unowned self] info in self.outsideSignal(info) }
                }
            }
            let socketPath = options.stateDirectory + "/notify.sock"
            notifySocket = try loop.executeAndWait { [unowned self] () -> Result<NotifySocket, ProcessControlError> in
                do throws(ProcessControlError) {
                    return .success(
                        try NotifySocket(
                            path: socketPath, loop: self.loop,
                            admits: { [unowned self] pid, _ in self.admitsNotificationSender(pid) },
                            handler: { [unowned self] in self.notified($0) },
                            refused: { [unowned self] pid, reason in
                                // systemd-notify's BARRIER=1 passes a descriptor whose
                                // closing is the answer: routine, hence debug.
                                self.logger.debug("notification from pid \(pid) refused: \(reason)")
                            }))
                } catch {
                    return .failure(error)
                }
            }.get()
        } catch {
            loop.shutdown()
            throw SupervisorError(description: "preparing the supervisor: \(error)")
        }
    }

    // MARK: Public API

    /// Starts every configured component in dependency order. Returns at once.
    public func start() {
        loop.execute { [self] in
            guard phase == .idle else { return }
            phase = .running
            if let procfs = tracker as? ProcfsProcessTracker {
                procfs.watchedRoots = { [unowned self] in self.watched }
            }
            let mode = ProcessControl.isPID1 ? "as PID 1" : "pid \(getpid())"
            logger.info("starting \(configuration.services.count) component(s) (\(mode))")
            startServiceManagerLink()
            if case .failure(let cycle) = graph.startLevels() {
                logger.error("\(cycle); starting without ordering")
            }
            for service in configuration.services {
                let component = Component(config: service, priority: configuration.effectivePriority(of: service))
                component.wantsStart = true
                components[component.name] = component
            }
            restoreComponentRecords()
            if options.previousRunEndedUncleanly { stopUnrecordedLeftovers() }
            pump()
        }
    }

    /// Graceful shutdown of everything, in reverse dependency order.
    public func requestShutdown() {
        loop.execute { [self] in beginShutdown() }
    }

    /// Re-reads the configuration through the source given at init and applies it.
    public func requestReload() {
        loop.execute { [self] in reloadFromSource() }
    }

    /// Applies a loaded configuration, as a reload does. A result without a
    /// configuration (errors) changes nothing; its diagnostics are logged.
    public func reload(with result: ConfigurationLoader.Result) {
        loop.execute { [self] in applyReload(result) }
    }

    /// The components as they are now, sorted by name.
    public func status() -> [ComponentStatus] {
        loop.executeAndWait { [self] in
            (Array(components.values) + retired).sorted { $0.name < $1.name }.map { c in
                ComponentStatus(
                    name: c.name, activeState: c.machine.activeState, subState: c.machine.subState,
                    result: c.machine.result, mainPID: c.main?.pid, controlPID: c.control?.pid,
                    restartCount: c.machine.restartCount, lastExit: c.lastExit, statusText: c.statusText,
                    isReady: c.isUp, dependencyFailure: c.dependencyFailure,
                    invocationID: c.invocationID)
            }
        }
    }

    /// Waits until the supervisor finished (every component down after a shutdown) and
    /// returns the exit code; nil when `timeoutSeconds` passed first.
    public func waitForExit(timeoutSeconds: Double? = nil) -> Int32? {
        finished.wait(timeoutSeconds: timeoutSeconds)
    }

    /// `start()`, then wait for the end, then release the loop: what `warden run` does.
    public func run() -> Int32 {
        start()
        let code = finished.wait(timeoutSeconds: nil) ?? SupervisorExitCode.failure
        close()
        return code
    }

    /// Stops the loop thread. Call after `waitForExit` returned (or to abandon a
    /// supervisor in a test after killing its components).
    public func close() {
        guard !loop.isOnLoopThread else { return }
        // The control socket's file goes with the daemon, while the loop still runs.
        stopControlServer()
        stopMetricsServer()
        loop.executeAndWait { [self] in
            notifySocket?.close()
            notifySocket = nil
            for component in Array(components.values) + retired {
                for reader in component.readers.values { reader.cancel() }
                component.readers.removeAll()
            }
        }
        loop.shutdown()
    }

    // MARK: The pump

    static func now() -> MonotonicInstant {
        MonotonicInstant(usec: EventLoop.monotonicNanoseconds() / 1_000)
    }

    /// Feeds an event to a component's machine (at the end of the current pump).
    func post(_ component: Component, _ event: ComponentEvent) {
        queue.append((component, event))
        pump()
    }

    /// Drains the event queue, then runs the process checks and the orchestration,
    /// until nothing more happens. Re-entrant calls only enqueue.
    func pump() {
        guard !pumping else { return }
        pumping = true
        defer { pumping = false }
        var again = false
        repeat {
            while !queue.isEmpty {
                let (component, queued) = queue.removeFirst()
                if queued == .startRequested { component.startQueued = false }
                for event in admit(queued, for: component) {
                    let wasDown = component.isDown
                    let actions = component.handle(event, now: Self.now(), rng: &rng)
                    for action in actions { perform(action, for: component) }
                    if !wasDown && component.isDown { wentDown(component) }
                }
            }
            for component in allComponents where component.needsGoneCheck {
                component.needsGoneCheck = false
                checkProcessesGone(component)
            }
            let phaseBefore = phase
            orchestrate()
            // A phase change (a shutdown begun while orchestrating) needs another pass.
            again = !queue.isEmpty || (phase != phaseBefore && phase != .finished)
        } while again
        warnOfImplicitDuplicates()
        takeoverState.duplicateScan = nil
        updateServiceManager()
        persistComponentRecords()
    }

    var allComponents: [Component] { Array(components.values) + retired }

    // MARK: Actions → effects

    func perform(_ action: ComponentAction, for c: Component) {
        switch action {
        case .runCommand(let kind, let index, let resultEnvironment):
            runCommand(kind, index: index, resultEnvironment: resultEnvironment, for: c)
        case .sendSignal(let signal, let target):
            send(signal, to: target, of: c)
        case .setTimer(let kind, let instant):
            if let old = c.timers[kind] { loop.cancelTimer(old) }
            let (ns, overflow) = instant.usec.multipliedReportingOverflow(by: 1_000)
            if !overflow && ns <= EventLoop.monotonicNanoseconds() {
                // Already due (`RestartSec=0`): fed back in this pump rather than through
                // the timerfd and another loop turn. The machine ignores a firing whose
                // timer it has cancelled or moved since, so queueing it is equivalent.
                c.timers[kind] = nil
                queue.append((c, .timerFired(kind)))
                return
            }
            c.timers[kind] = loop.addTimer(atMonotonicNanoseconds: overflow ? .max : ns) { [unowned self] in
                c.timers[kind] = nil
                self.post(c, .timerFired(kind))
            }
        case .cancelTimer(let kind):
            if let old = c.timers.removeValue(forKey: kind) { loop.cancelTimer(old) }
        case .markReady:
            c.readySinceStart = true
            c.isUp = true
            logger.info("ready", metadata: unit(c))
            startHealthChecks(c)
        case .markStopped(let result):
            stopped(c, result: result)
        case .recordExit(let role, let status, let result):
            let who: String
            switch role {
            case .main: who = "main process"
            case .control(let kind, let index): who = "\(kind.rawValue)[\(index)]"
            }
            let message = "\(who) \(describe(status))" + (result == .success ? "" : " (\(result.rawValue))")
            if result == .success {
                logger.info("\(message)", metadata: unit(c))
            } else {
                logger.warning("\(message)", metadata: unit(c))
            }
        case .watchMainPID(let pid):
            adoptMainPID(pid, for: c)
        case .updateStatusText(let text):
            c.statusText = text
        case .log(let event, let message):
            switch event {
            case "failed", "start-limit-hit", "spawn-failed", "watchdog", "start-timeout", "stop-timeout",
                "health-check-failed", "oom-kill", "start-blocked":
                logger.warning("\(message)", metadata: unit(c))
            default:
                logger.info("\(message)", metadata: unit(c))
            }
        }
    }

    func unit(_ c: Component) -> Logger.Metadata { c.logMetadata }

    func describe(_ status: ExitStatus) -> String {
        switch status {
        case .exited(let code): "exited with status \(code)"
        case .killed(let signal, let core):
            "killed by \(SignalNumber(rawValue: signal).name)" + (core ? " (core dumped)" : "")
        case .unknown: "ended; its status is unknown (not Warden's child: adopted), judged a failure"
        }
    }

    // MARK: Spawning

    func runCommand(_ kind: CommandKind, index: Int, resultEnvironment: ServiceResultEnvironment?, for c: Component) {
        let commands = c.config.commands(kind)
        guard index < commands.count else {
            post(c, .spawnFailed(reason: "\(kind.rawValue) has no command \(index)"))
            return
        }
        if takeOverInsteadOfSpawning(kind, index: index, for: c) { return }
        if c.invocationID == nil { c.invocationID = Self.newInvocationID(&rng) }
        let context = LaunchContext(
            notifySocketPath: notifySocket?.path, invocationID: c.invocationID!,
            executableSearchPath: options.executableSearchPath,
            mainPID: c.main?.pid, resultEnvironment: resultEnvironment)
        var prepared: PreparedLaunch
        do {
            prepared = try Launcher.prepare(c.config, command: commands[index], kind: kind, context: context)
        } catch {
            post(c, .spawnFailed(reason: error.description))
            return
        }
        if let cgroups {
            do {
                prepared.request.cgroupDirectoryFD = try placeInGroup(c, cgroups)
            } catch {
                prepared.closeAll()
                post(c, .spawnFailed(reason: "cgroup: \(error)"))
                return
            }
        }
        let process: SpawnedProcess
        do {
            process = try spawnPlaced(prepared.request, for: c)
        } catch {
            prepared.closeAll()
            post(c, .spawnFailed(reason: error.description))
            return
        }
        prepared.childOnlyFDs.forEach(RuntimeDescriptors.close)
        if let readFD = prepared.outputReadFD { attachOutput(readFD, to: c) }
        let handle = WatchedProcess(pid: process.pid, pidfd: process.pidfd)
        // A recycled pid is no stranger: its first READY=1 must be read.
        if !notifyStrangers.isEmpty { notifyStrangers[process.pid] = nil }
        let isMain = kind == .start
        if isMain { c.main = handle } else { c.control = handle }
        watched.insert(process.pid)
        do {
            try loop.watchExit(process) { [unowned self] status in
                self.processExited(pid: process.pid, status: status, main: isMain, of: c)
            }
        } catch {
            // The loop cannot watch it: it would run unsupervised. Kill it; the pidfd
            // is still ours, so the exit is reaped through it.
            try? ProcessControl.sendSignal(SIGKILL, toPidfd: process.pidfd)
            _ = ProcessTable.reapIfExited(process.pid)
            RuntimeDescriptors.close(process.pidfd)
            watched.remove(process.pid)
            if isMain { c.main = nil } else { c.control = nil }
            post(c, .spawnFailed(reason: "watching the process: \(error)"))
            return
        }
        post(c, .spawned(pid: process.pid))
        if isMain && c.machine.policy.type == .exec {
            // spawnProcess returns only once the child has exec'd.
            post(c, .execSucceeded)
        }
    }

    static func newInvocationID(_ rng: inout BufferedSystemRandom) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for _ in 0..<2 {
            var value = rng.next()
            for _ in 0..<16 {
                text.append(digits[Int(value & 0xF)])
                value >>= 4
            }
        }
        return text
    }

    func attachOutput(_ fd: Int32, to c: Component) {
        let tag = c.tag
        var key: ObjectIdentifier?
        do {
            let reader = try OutputReader(
                fd: fd, tag: tag, loop: loop,
                handler: { [unowned self] line in
                    self.logger.info(
                        "\(line.text)", metadata: [WardenLogHandler.unitKey: "\(tag)", WardenLogHandler.outputKey: "1"])
                },
                onEnd: { [weak c] in
                    if let c, let key { c.readers[key] = nil }
                })
            key = ObjectIdentifier(reader)
            c.readers[key!] = reader
        } catch {
            RuntimeDescriptors.close(fd)
            logger.warning("cannot read output: \(error)", metadata: unit(c))
        }
    }

    func processExited(pid: Int32, status: ExitStatus?, main: Bool, of c: Component) {
        watched.remove(pid)
        c.needsGoneCheck = true
        if main {
            guard c.main?.pid == pid else {
                // The original main process after MAINPID= named another: not the main.
                pump()
                return
            }
            c.main = nil
            // nil: an adopted main process that is not our child; its status is unknown,
            // and unknown is never read as success.
            let known = status ?? .unknown
            c.lastExit = known
            // As systemd does, the cgroup's OOM kills are looked at before the exit is
            // judged, so a main process the OOM killer took ends in result 'oom-kill'.
            if case .killed(SIGKILL, _) = known, let cgroups {
                let kills = cgroups.newOOMKills(of: c.name)
                if kills > 0 {
                    logger.warning(
                        "OOM kill: main process \(pid) was killed by the kernel's OOM killer (memory.events oom_kill +\(kills))",
                        metadata: unit(c))
                    queue.append((c, .oomKilled))
                }
            }
            post(c, .mainExited(known))
        } else {
            guard c.control?.pid == pid else {
                pump()
                return
            }
            c.control = nil
            post(c, .hookExited(status ?? .unknown))
        }
    }

    func adoptMainPID(_ pid: Int32, for c: Component) {
        if c.main?.pid == pid { return }
        do {
            let pidfd = try ProcessTable.openPidfd(pid)
            c.main = WatchedProcess(pid: pid, pidfd: pidfd)
            watched.insert(pid)
            try loop.watchExit(SpawnedProcess(pid: pid, pidfd: pidfd)) { [unowned self] status in
                self.processExited(pid: pid, status: status, main: true, of: c)
            }
            logger.info("main process is now pid \(pid) (MAINPID=)", metadata: unit(c))
        } catch {
            logger.warning("cannot watch MAINPID=\(pid): \(error)", metadata: unit(c))
            if let main = c.main, main.pid == pid {
                RuntimeDescriptors.close(main.pidfd)
                watched.remove(pid)
            }
            c.main = nil
            c.needsGoneCheck = true
            post(c, .mainExited(.unknown))
        }
    }

    // MARK: Signals and leftovers

    func send(_ signal: Int32, to target: SignalTarget, of c: Component) {
        switch target {
        case .mainProcess:
            if let main = c.main { try? ProcessControl.sendSignal(signal, toPidfd: main.pidfd) }
        case .controlProcess:
            if let control = c.control { try? ProcessControl.sendSignal(signal, toPidfd: control.pidfd) }
        case .allProcesses:
            // Everything found first, then the main and control processes once more
            // through their pidfds (which no pid reuse can misdirect). The order matters
            // without cgroups: once the main process dies, its children are reparented
            // to Warden, and a scan in that moment can miss them (the dead parent's
            // children list is empty, Warden's not yet filled), leaving a child to run
            // until the shutdown budget is spent.
            var signalled = 0
            if let run = c.run { signalled = tracker.signalAll(signal, of: run) }
            if let main = c.main { try? ProcessControl.sendSignal(signal, toPidfd: main.pidfd) }
            if let control = c.control { try? ProcessControl.sendSignal(signal, toPidfd: control.pidfd) }
            // Nothing was left to signal and the main and control processes are reaped:
            // the gone check of this turn needs no second scan (a /proc scan per restart
            // is most of a restart's cost on hosts without cgroups).
            if c.run != nil { c.knownEmpty = signalled == 0 && c.main == nil && c.control == nil }
            c.needsGoneCheck = true
        }
    }

    /// The no-cgroup stand-in for `cgroup.events` `populated 0`: scans for the run's
    /// processes; when none is left, tells the machine; while a stop waits for them,
    /// looks again shortly.
    func checkProcessesGone(_ c: Component) {
        guard let run = c.run else { return }
        if !options.reapAllOrphans { tracker.reapExited(of: run, watched: watched) }
        let live = c.knownEmpty ? [] : tracker.liveProcesses(of: run)
        c.knownEmpty = false
        if live.isEmpty {
            if let timer = c.goneCheckTimer {
                loop.cancelTimer(timer)
                c.goneCheckTimer = nil
            }
            queue.append((c, .allProcessesGone))
            return
        }
        guard c.isWaitingForProcesses, c.goneCheckTimer == nil else { return }
        // With cgroup.events watched the kernel says when the group empties; the timer
        // is then only a safety net.
        let interval =
            cgroups?.isWatched(c.name) == true
            ? TimeSpan(usec: max(options.leftoverPollInterval.usec, 500_000)) : options.leftoverPollInterval
        c.goneCheckTimer = loop.addTimer(after: interval) { [unowned self] in
            c.goneCheckTimer = nil
            guard c.isWaitingForProcesses else { return }
            c.needsGoneCheck = true
            self.pump()
        }
    }

    func orphanReaped(_ pid: Int32, _ status: ExitStatus) {
        logger.debug("reaped orphan \(pid): \(describe(status))")
        for c in allComponents where c.isWaitingForProcesses { c.needsGoneCheck = true }
        pump()
    }

    // MARK: Stopped

    func stopped(_ c: Component, result: ServiceResult) {
        c.isUp = false
        stopHealthChecks(c)
        if let timer = c.goneCheckTimer {
            loop.cancelTimer(timer)
            c.goneCheckTimer = nil
        }
        if let run = c.run {
            c.lastRun = run
            if !options.reapAllOrphans { tracker.reapExited(of: run, watched: watched) }
            tracker.forget(run)
        }
        c.invocationID = nil
        if let cgroups { cleanUpGroup(c, cgroups) }
        if let scopes { releaseScope(c, scopes) }
    }

    /// The component went down for good (not into a restart pause): stop propagation,
    /// and the end of Warden when a critical component failed. Also reached without
    /// `markStopped` when an automatic restart hits the start limit.
    func wentDown(_ c: Component) {
        let wasExplicit = c.explicitStop
        c.explicitStop = false
        if c.name == options.mainProgram, mainProgramExit == nil, !c.removed {
            let code = MainProgram.exitCode(lastExit: c.lastExit)
            mainProgramExit = code
            if phase == .running {
                logger.notice("the main program ended (\(c.lastExit.map(describe) ?? "it never ran")); stopping the rest, then exiting \(code)", metadata: unit(c))
                beginShutdown()
                return
            }
        }
        guard phase == .running else { return }

        // Stop propagation (systemd: Requires=/BindsTo= on explicit stop, BindsTo= on
        // exit or failure). Not for a stop that restarts the unit after a reload.
        if c.pendingConfig == nil && !c.removed || wasExplicit {
            let cause: StopCause = wasExplicit ? .explicitStop : .exitedOrFailed
            for name in graph.unitsToStop(when: c.name, stopsBecause: cause) {
                guard let other = components[name], !other.isDown else { continue }
                logger.info("stopping: \(c.name) stopped (Requires=/BindsTo=)", metadata: unit(other))
                other.explicitStop = true
                queue.append((other, .stopRequested))
            }
        }
        if c.isFailed && c.priority == .critical && c.pendingConfig == nil && !c.removed {
            logger.error(
                "critical component failed for good (\(c.machine.result.rawValue)); shutting down", metadata: unit(c))
            exitCode = SupervisorExitCode.failure
            beginShutdown()
        }
    }

    // MARK: Orchestration

    /// Starts what may start, swaps reloaded configurations in, and drives a shutdown.
    func orchestrate() {
        switch phase {
        case .idle, .finished:
            return
        case .running:
            retired.removeAll { $0.isDown }
            for c in components.values where c.pendingConfig != nil && c.isDown {
                let new = c.pendingConfig!
                c.pendingConfig = nil
                c.replaceConfiguration(new, priority: configuration.effectivePriority(of: new))
                c.wantsStart = true
            }
            for c in components.values.sorted(by: { $0.name < $1.name }) where c.wantsStart {
                considerStart(c)
            }
        case .shuttingDown:
            // Names, not a filter over every component per component: a shutdown of N
            // components runs this at each of its ~3N pumps.
            let all = allComponents
            let running = Set(all.lazy.filter { !$0.isDown }.map(\.name))
            for c in all where !c.isDown && !c.explicitStop {
                let dependents = graph.startsBefore[c.name] ?? []
                guard dependents.isDisjoint(with: running) else { continue }
                c.explicitStop = true
                queue.append((c, .stopRequested))
            }
            if queue.isEmpty && allComponents.allSatisfy(\.isDown) { finish() }
        }
    }

    func considerStart(_ c: Component) {
        let before = graph.startsAfter[c.name] ?? []
        for name in before {
            guard let other = components[name] else { continue }
            if !other.startSettled { return }
        }
        let required = Set(c.config.requires + c.config.bindsTo)
        if let failed = before.sorted().first(where: { required.contains($0) && components[$0]?.startFailed == true }) {
            c.wantsStart = false
            c.dependencyFailure = failed
            logger.warning("not started: dependency \(failed) failed (result 'dependency')", metadata: unit(c))
            if c.priority == .critical {
                logger.error("critical component cannot start; shutting down", metadata: unit(c))
                exitCode = SupervisorExitCode.failure
                beginShutdown()
            }
            return
        }
        c.wantsStart = false
        c.startAttempted = true
        c.readySinceStart = false
        c.dependencyFailure = nil
        c.startQueued = true
        queue.append((c, .startRequested))
    }

    // MARK: Shutdown

    func beginShutdown() {
        switch phase {
        case .idle:
            phase = .shuttingDown
            finish()
            return
        case .running:
            break
        case .shuttingDown, .finished:
            return
        }
        phase = .shuttingDown
        let budget = configuration.settings.effectiveShutdownBudget(isPID1: ProcessControl.isPID1)
        logger.info("shutting down (budget \(budget.usec / 1_000_000)s)")
        serviceManagerStopping(budget: budget)
        for c in allComponents {
            c.wantsStart = false
            c.pendingConfig = nil
        }
        shutdownTimers.append(loop.addTimer(after: budget) { [unowned self] in self.budgetExpired() })
        pump()
    }

    func budgetExpired() {
        guard phase == .shuttingDown else { return }
        exitCode = SupervisorExitCode.failure
        let left = allComponents.filter { !$0.isDown }
        logger.error("shutdown budget used up; killing what is left: \(left.map(\.name).joined(separator: ", "))")
        for c in left { send(SIGKILL, to: .allProcesses, of: c) }
        shutdownTimers.append(loop.addTimer(after: options.shutdownKillGrace) { [unowned self] in
            guard self.phase == .shuttingDown else { return }
            self.logger.error("components still not down after SIGKILL; exiting anyway")
            self.finish()
        })
        pump()
    }

    /// A signal with no effect of its own on Warden: passed on to the main program when
    /// there is one and it is one of `SignalContract.forwarded`, else logged.
    func outsideSignal(_ info: EventLoop.SignalInfo) {
        let name = ProcessControl.signalName(info.signal)
        if SignalContract.forwarded.contains(info.signal), let main = options.mainProgram.flatMap({ components[$0] }) {
            if let process = main.main {
                try? ProcessControl.sendSignal(info.signal, toPidfd: process.pidfd)
                logger.info("\(name) from pid \(info.senderPID) passed on to the main program (pid \(process.pid))", metadata: unit(main))
            } else {
                logger.notice("\(name) from pid \(info.senderPID) not passed on: the main program does not run", metadata: unit(main))
            }
            return
        }
        guard info.signal != SIGWINCH else { return }
        logger.notice("\(name) from pid \(info.senderPID) ignored (Warden stops on TERM or INT, reloads on HUP)")
    }

    func finish() {
        guard phase != .finished else { return }
        for timer in shutdownTimers { loop.cancelTimer(timer) }
        shutdownTimers.removeAll()
        var leftovers: [String] = []
        for c in allComponents {
            for run in [c.run, c.lastRun].compactMap({ $0 }) {
                let live = tracker.liveProcesses(of: run)
                if !live.isEmpty {
                    leftovers.append("\(c.name): \(live.map(String.init).joined(separator: " "))")
                    _ = tracker.signalAll(SIGKILL, of: run)
                }
            }
        }
        if !leftovers.isEmpty {
            logger.error("processes left behind (killed now): \(leftovers.joined(separator: "; "))")
            exitCode = SupervisorExitCode.failure
        }
        // Throttles undone (and recorded) before the groups go and Warden exits.
        shutDownGovernor()
        if let cgroups { removeSubtree(cgroups) }
        if let scopes { releaseScopes(scopes) }
        takeoversFinished()
        // The main program's status is Warden's, unless it ended cleanly and the rest
        // did not (something left behind, a critical failure).
        if let code = mainProgramExit, code != 0 || exitCode == SupervisorExitCode.clean { exitCode = code }
        phase = .finished
        logger.info("all components stopped; exit status \(exitCode)")
        finished.signal(exitCode)
    }

    // MARK: Notifications

    func notified(_ notification: NotifySocket.Notification) {
        guard phase == .running || phase == .shuttingDown else { return }
        let sender = notification.senderPID
        guard let c = owner(of: sender) else {
            logger.debug("notification from pid \(sender), which belongs to no component; ignored")
            rememberNotifyStranger(sender)
            return
        }
        let message = notification.message
        for note in message.ignoredAssignments {
            logger.notice("notification ignored in part: \(note)", metadata: unit(c))
        }
        var events: [ComponentNotification] = []
        if let pid = message.mainPID { events.append(.mainPID(pid)) }
        if let status = message.status { events.append(.status(status)) }
        if message.reloading { events.append(.reloading) }
        if message.stopping { events.append(.stopping) }
        if message.ready { events.append(.ready) }
        if message.watchdogPing { events.append(.watchdogPing) }
        if message.watchdogTrigger { events.append(.watchdogTrigger) }
        if let usec = message.extendTimeoutUSec { events.append(.extendTimeout(TimeSpan(usec: usec))) }
        for event in events { queue.append((c, .notify(event))) }
        pump()
    }

    /// systemd's `NotifyAccess=main`, extended to the main process's descendants (a
    /// wrapper script's child may speak for it): the component whose main process is the
    /// sender or an ancestor of it. The walk up reads one `/proc/PID/stat` per ancestor,
    /// never the whole process table.
    func owner(of pid: Int32) -> Component? {
        let candidates = allComponents.filter { $0.main != nil }
        if let exact = candidates.first(where: { $0.main?.pid == pid }) { return exact }
        var current = pid
        for _ in 0..<64 {
            guard let entry = ProcessTable.entry(of: current), entry.parentPID > 1 else { return nil }
            current = entry.parentPID
            if let owner = candidates.first(where: { $0.main?.pid == current }) { return owner }
        }
        return nil
    }

    /// Whether a notification from `pid` is worth parsing: not when the pid was found,
    /// within the last second, to belong to no component. Anyone on the host may write
    /// to the notify socket (services run as other users, as under systemd); a flood
    /// from outside the stack then costs one lookup per datagram, and a second later the
    /// pid is looked at again (it may have become a component's, or been recycled).
    func admitsNotificationSender(_ pid: Int32) -> Bool {
        guard let until = notifyStrangers[pid] else { return true }
        if MonotonicInstant(usec: EventLoop.monotonicNanoseconds() / 1_000) < until { return false }
        notifyStrangers[pid] = nil
        return true
    }

    /// Remembers a sender that spoke for no component (`admitsNotificationSender`); the
    /// memory is bounded, and forgetting early only costs another look.
    func rememberNotifyStranger(_ pid: Int32) {
        if notifyStrangers.count >= 4096 { notifyStrangers.removeAll(keepingCapacity: true) }
        notifyStrangers[pid] = MonotonicInstant(usec: EventLoop.monotonicNanoseconds() / 1_000).advanced(by: .seconds(1))
    }

    // MARK: Reload

    func reloadFromSource() {
        guard let reloadSource else {
            logger.warning("reload requested, but no configuration source is set")
            return
        }
        logger.info("reloading the configuration")
        serviceManagerReloading()
        applyReload(reloadSource())
        serviceManagerReloaded()
    }

    func applyReload(_ result: ConfigurationLoader.Result) {
        guard phase == .running else {
            logger.notice("reload ignored: not running")
            return
        }
        guard let new = result.configuration else {
            for diagnostic in result.diagnostics { logger.error("\(diagnostic.description)") }
            let errors = result.diagnostics.filter { $0.severity == .error }.count
            logger.error("reload refused: the configuration has \(errors) error(s); nothing changed")
            return
        }
        for diagnostic in result.diagnostics { logger.notice("\(diagnostic.description)") }
        if new.settings.settingsOnlyChangesNeedRestart(comparedTo: configuration.settings) {
            logger.notice("changes to [Warden] settings take effect at the next start of warden")
        }
        var added: [String] = []
        var changed: [String] = []
        var removed: [String] = []
        let newNames = Set(new.services.map(\.name.description))
        for (name, c) in components where !newNames.contains(name) {
            removed.append(name)
            c.removed = true
            c.wantsStart = false
            c.pendingConfig = nil
            components[name] = nil
            retired.append(c)
            if !c.isDown {
                c.explicitStop = true
                queue.append((c, .stopRequested))
            }
        }
        for service in new.services {
            let name = service.name.description
            let priority = new.effectivePriority(of: service)
            if let c = components[name] {
                if c.config.differsInSettings(from: service) {
                    changed.append(name)
                    c.pendingConfig = service
                    c.wantsStart = false
                    if !c.isDown { queue.append((c, .stopRequested)) }
                } else {
                    c.refreshLocations(service, priority: priority)
                }
            } else {
                added.append(name)
                let c = Component(config: service, priority: priority)
                c.wantsStart = true
                components[name] = c
            }
        }
        scopes?.configurationReloaded(from: configuration, to: new, logger: logger)
        configuration = new
        graph = DependencyGraph(configuration: new)
        host = HostProbe.facts()
        if let cgroups {
            for problem in cgroups.replacePlan(CgroupPlan.plan(for: new, host: host)) {
                logger.warning("not enforced after reload: \(problem)")
            }
        }
        func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.sorted().joined(separator: ", ") }
        logger.info("reloaded: added \(list(added)); changed \(list(changed)); removed \(list(removed))")
        pump()
    }
}

extension WardenSettings {
    /// True when a reload brings `[Warden]` settings the running daemon cannot apply.
    func settingsOnlyChangesNeedRestart(comparedTo old: WardenSettings) -> Bool {
        stateDirectory != old.stateDirectory || controlSocket != old.controlSocket || logTarget != old.logTarget
            || cgroupBackend != old.cgroupBackend
    }
}

/// A one-shot signal from the loop thread to a waiting thread, carrying the exit code.
final class FinishSignal: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var code: Int32?

    init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    func signal(_ value: Int32) {
        pthread_mutex_lock(&mutex)
        code = value
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func wait(timeoutSeconds: Double?) -> Int32? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard let timeoutSeconds else {
            while code == nil { pthread_cond_wait(&condition, &mutex) }
            return code
        }
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = Double(deadline.tv_sec) + Double(deadline.tv_nsec) / 1e9 + timeoutSeconds
        deadline.tv_sec = Int(total)
        deadline.tv_nsec = Int((total - Double(Int(total))) * 1e9)
        while code == nil {
            if pthread_cond_timedwait(&condition, &mutex, &deadline) == ETIMEDOUT { break }
        }
        return code
    }
}
