import Logging
import WardenCore
import WardenLinux

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
    /// The stack-level decisions: phase, start order, stop propagation, shutdown.
    var planner: StackPlanner
    var phase: StackPlanner.Phase { planner.phase }
    var components: [String: Component] = [:]
    /// Removed by a reload, still stopping.
    var retired: [Component] = []
    var notifySocket: NotifySocket?
    /// The main program's exit status once it ended (`SupervisorOptions.mainProgram`).
    var mainProgramExit: Int32?
    /// Senders found to belong to no component, until when their datagrams are dropped
    /// unread (`admitsNotificationSender`). Loop thread.
    var notifyStrangers: [Int32: MonotonicInstant] = [:]
    var exitCode = SupervisorExitCode.clean
    var queue: [(Component, ComponentEvent)] = []
    /// Signals for the processes of components beyond their main and control ones, sent
    /// together once the turn's events are handled (`sendPendingSignals`).
    var pendingSignals: [(Component, SignalRequest)] = []
    var pumping = false
    /// Orphans were reaped this turn of the loop; the look they call for is scheduled
    /// (`orphanReaped`). Loop thread.
    var orphanLookScheduled = false
    var rng = BufferedSystemRandom()
    /// Pids with a live `watchExit`: never reaped by anything else.
    var watched: Set<Int32> = []
    var shutdownTimers: [EventLoop.TimerID] = []
    let finished = FinishSignal()
    /// systemd's notify socket for Warden itself (inactive outside systemd).
    let serviceManager = SystemdNotifier()
    var announcedReady = false
    var announcedStatus: String?
    /// Settings the cgroup writer found it could not apply (an interface file missing on
    /// this kernel), as `status` reports them beside what `options.cgroupAvailability` rules out.
    var refusedCgroupWrites: [UnenforcedSetting] = []
    /// Pumps run so far: what `firstStopSignals` are checked against.
    var pumps: UInt64 = 0
    var firstStopSignals = FirstStopSignals()
    /// Duplicates and adoption (Supervisor+Duplicates, Supervisor+Adoption).
    let takeoverState = TakeoverState()
    /// Run by `finish()` on the loop thread before the cgroup subtree goes and Warden
    /// exits: the governor undoes (and records) its throttles here.
    var beforeExit: [() -> Void] = []
    /// What `Condition…=`/`Assert…=` lines are tested against at each start.
    var conditionFacts: any ConditionFacts = HostConditionFacts()

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
        self.planner = StackPlanner(graph: DependencyGraph(configuration: configuration), mainProgram: options.mainProgram)
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
                for signal in [Signal.terminate, Signal.interrupt] {
                    try loop.signal(signal) { [unowned self] info in
                        // The stop signals go out first, and the programs' handlers
                        // run before the shutdown's planning takes this CPU; the log
                        // line follows them.
                        if self.phase == .running, self.firstStopSignals.sendAhead(currentPump: self.pumps) > 0 {
                            ProcessControl.passProcessor()
                        }
                        self.beginShutdown(
                            cause: { "\(ProcessControl.signalName(info.signal)) from pid \(info.senderPID): shutting down" })
                    }
                }
                try loop.signal(Signal.hangup) { [unowned self] _ in self.reloadFromSource() }
                for signal in SignalContract.ignoredWithALogLine + [Signal.windowChange] {
                    try loop.signal(signal) { [unowned self] info in self.outsideSignal(info) }
                }
            }
            let socketPath = NotifySocketAddress.forStateDirectory(options.stateDirectory)
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
            planner.beginRunning()
            if let procfs = tracker as? ProcfsProcessTracker {
                procfs.watchedRoots = { [unowned self] in self.watched }
            }
            let mode = ProcessControl.isPID1 ? "as PID 1" : "pid \(ThisProcess.pid)"
            logger.info("starting \(configuration.services.count) component(s) (\(mode))")
            startServiceManagerLink()
            if case .failure(let cycle) = planner.graph.startLevels() {
                logger.error("\(cycle); starting without ordering")
            }
            for service in configuration.services {
                let component = Component(config: service, priority: configuration.effectivePriority(of: service))
                component.stack.wantsStart = true
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
                    isReady: c.isUp, dependencyFailure: c.stack.dependencyFailure,
                    invocationID: c.invocationID, conditionNote: c.machine.conditionNote)
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
        pumps &+= 1
        var again = false
        repeat {
            while !queue.isEmpty {
                let (component, queued) = queue.removeFirst()
                if queued == .startRequested { component.stack.startQueued = false }
                // Any start ends an operator's stop (a takeover that finishes one marks
                // it again).
                if queued == .startRequested || queued == .restartRequested { component.stoppedByOperator = false }
                for event in admit(queued, for: component) {
                    let wasDown = component.isDown
                    let actions = component.handle(event, now: Self.now(), rng: &rng)
                    for action in actions { perform(action, for: component) }
                    if !wasDown && component.isDown { wentDown(component) }
                }
            }
            sendPendingSignals()
            let goneChecks = allComponents.filter(\.needsGoneCheck)
            for component in goneChecks { component.needsGoneCheck = false }
            if !goneChecks.isEmpty { checkProcessesGone(goneChecks) }
            let phaseBefore = phase
            orchestrate()
            // A phase change (a shutdown begun while orchestrating) needs another pass.
            again = !queue.isEmpty || !pendingSignals.isEmpty || (phase != phaseBefore && phase != .finished)
        } while again
        warnOfImplicitDuplicates()
        takeoverState.duplicateScan = nil
        updateServiceManager()
        persistComponentRecords()
        if phase == .running, allComponents.allSatisfy(\.hasSettled) { prepareFirstStopSignals() }
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
        case .testConditions:
            // A main process being taken over already runs: its start passed them.
            let verdict =
                c.takeover != nil
                ? ConditionVerdict(outcome: .met)
                : ConditionEvaluator(facts: conditionFacts).evaluate(conditions: c.config.conditions, asserts: c.config.asserts)
            queue.append((c, .conditionsTested(verdict)))
        case .markSkipped:
            // systemd finishes a condition-skipped start job as done: for the units
            // ordered after this one (and those that require it) the start succeeded.
            c.stack.readySinceStart = true
        case .markReady:
            c.stack.readySinceStart = true
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
        case .findMainPID:
            findMainPID(for: c)
        case .watchBusName:
            watchBusName(for: c)
        case .updateStatusText(let text):
            c.statusText = text
        case .log(let event, let message):
            logger.log(level: Logger.Level(event.level), "\(message)", metadata: unit(c))
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
}
