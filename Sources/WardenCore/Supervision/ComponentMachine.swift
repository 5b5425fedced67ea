// The whole life of one component as one deterministic table, s6-style: the runtime waits
// for something to happen, feeds it in as a `ComponentEvent` with the current monotonic
// time, and carries out the `ComponentAction`s that come back. Nothing here reads a clock,
// spawns, signals or sleeps.
//
// The states and transitions follow systemd's service.c (service_enter_start_pre …
// service_enter_dead); the comments name the systemd state each phase corresponds to.
// Deliberate differences, all documented where they occur:
// - ExecStopPost= runs once every process is gone (systemd runs it once the main and
//   control processes are gone, then signals leftovers in FINAL_SIGTERM/FINAL_SIGKILL).
// - An explicit start or restart is never refused by the start limit: it resets the
//   limiter and starts. Only automatic restarts are limited (see `startRequested`).
// - `CleanupSignal=` and restart jitter are Warden's.

/// Where a component is in its life.
public enum ComponentState: Hashable, Sendable {
    /// Not running, and nothing pending (systemd `dead`).
    case inactive
    /// Not started because something outside it forbids it, e.g. a copy of the program that
    /// Warden did not start is already running and `Duplicates=refuse`.
    case blocked(reason: String)
    case starting(StartPhase)
    /// Started and its main process is alive (without a known main process, `Type=forking`
    /// with `mainPIDUnknown`: any of its processes).
    case running
    /// A reload is under way (`reloadStep` says which kind): `ExecReload=` commands, a
    /// `Type=notify-reload` signal, or a `RELOADING=1` the service sent on its own.
    case reloading
    /// `RemainAfterExit=yes`: started, the main process exited cleanly, still counts as up.
    case exited
    case stopping(StopPhase)
    /// Down, restarting automatically at `until`.
    case autoRestartWait(until: MonotonicInstant)
    /// Down after a failure; stays down until started again or `reset-failed`.
    case failed(ServiceResult)
}

/// The steps of a start (systemd `start-pre`, `start`, `start-post`).
public enum StartPhase: Hashable, Sendable {
    /// The unit's `Condition…=`/`Assert…=` lines are being tested (`testConditions`).
    case conditions
    /// Running `ExecCondition=` command `index` (systemd `condition`).
    case conditionCommand(index: Int)
    /// Running `ExecStartPre=` command `index`.
    case preCommand(index: Int)
    /// `ExecStart=` command `index` was launched; waiting for what the type needs.
    case main(index: Int, waitingFor: Readiness)
    /// Running `ExecStartPost=` command `index`.
    case postCommand(index: Int)
}

/// What `Type=` waits for before a component counts as started.
public enum Readiness: Hashable, Sendable {
    /// `Type=simple`: the spawn.
    case spawn
    /// `Type=exec`: the `execve()` of the main program.
    case exec
    /// `Type=notify`: `READY=1`.
    case ready
    /// `Type=oneshot`: the clean exit of each `ExecStart=` command.
    case exit
    /// `Type=forking`: the clean exit of the `ExecStart=` process, then the daemon it left
    /// (`daemonFound`).
    case forked
    /// `Type=dbus`: `BusName=` taken on the system bus (`busNameAcquired`).
    case busName
}

/// What a reload is waiting for (systemd `reload`, `reload-signal`, `reload-notify`).
public enum ReloadStep: Hashable, Sendable {
    /// `ExecReload=` command `index` runs.
    case command(index: Int)
    /// `Type=notify-reload`: `ReloadSignal=` was sent; waiting for `RELOADING=1`.
    case signalSent
    /// `RELOADING=1` arrived; waiting for `READY=1`.
    case notified
}

/// The steps of a stop.
public enum StopPhase: Hashable, Sendable {
    /// Running `ExecStop=` command `index` (systemd `stop`).
    case stopCommand(index: Int)
    /// `KillSignal=` was sent, or the service said `STOPPING=1` (systemd `stop-sigterm`).
    case stopSignal
    /// The watchdog expired and `WatchdogSignal=` was sent (systemd `stop-watchdog`).
    case watchdogSignal
    /// `FinalKillSignal=` was sent (systemd `stop-sigkill`).
    case finalKill
    /// Running `ExecStopPost=` command `index` (systemd `stop-post`).
    case postCommand(index: Int)
}

/// The timers a component can have armed; at most one of each.
public enum TimerKind: String, CaseIterable, Hashable, Sendable {
    /// `TimeoutStartSec=`, re-armed for every start step.
    case startTimeout
    /// `TimeoutStopSec=`, re-armed for every stop step.
    case stopTimeout
    /// `TimeoutStartSec=` applied to a reload (each `ExecReload=` command, a reload signal,
    /// or a reload announced with `RELOADING=1`).
    case reloadTimeout
    /// `WatchdogSec=`, re-armed by `WATCHDOG=1`.
    case watchdog
    /// The end of the automatic-restart pause.
    case restartDelay
}

/// An sd_notify message, already parsed.
public enum ComponentNotification: Hashable, Sendable {
    case ready
    case reloading
    case stopping
    /// `WATCHDOG=1`
    case watchdogPing
    /// `WATCHDOG=trigger`
    case watchdogTrigger
    /// `EXTEND_TIMEOUT_USEC=`
    case extendTimeout(TimeSpan)
    /// `MAINPID=`
    case mainPID(Int32)
    /// `STATUS=`
    case status(String)
}

/// Something that happened to a component.
public enum ComponentEvent: Hashable, Sendable {
    /// An operator or the boot sequence asked for a start.
    case startRequested
    case stopRequested
    case restartRequested
    /// `warden reload NAME`: run `ExecReload=` (or send `ReloadSignal=` for
    /// `Type=notify-reload`). The runtime asks `reloadRefusal` first.
    case reloadRequested
    /// `reset-failed`: forget the failure and the start-limit count.
    case resetFailedRequested
    /// The runtime found a reason not to start (e.g. a duplicate, `Duplicates=refuse`)
    /// and feeds this instead of `startRequested`.
    case startBlocked(reason: String)
    /// The process of the last `runCommand` exists.
    case spawned(pid: Int32)
    /// The last `runCommand` could not be carried out (fork, cgroup or exec setup failed).
    case spawnFailed(reason: String)
    /// `Type=exec`: the main program's `execve()` succeeded.
    case execSucceeded
    /// `Type=forking`, answering `findMainPID`: the daemon's pid (from `PIDFile=` or
    /// guessed), or nil when none could be determined (then the component runs while any
    /// of its processes does, as systemd's service without a main PID).
    case daemonFound(pid: Int32?)
    /// `Type=dbus`: the component's `BusName=` has an owner on the system bus.
    case busNameAcquired
    case notify(ComponentNotification)
    /// The main process ended (for `oneshot`, the current `ExecStart=` command).
    case mainExited(ExitStatus)
    /// The running `ExecStartPre=`/`ExecStartPost=`/`ExecStop=`/`ExecStopPost=` command
    /// ended. There is never more than one at a time.
    case hookExited(ExitStatus)
    /// The answer to `testConditions`.
    case conditionsTested(ConditionVerdict)
    /// A timer from `setTimer` fired. Stale or early firings are ignored.
    case timerFired(TimerKind)
    /// Warden's health check judged the component unhealthy (after its own retries).
    case healthCheckFailed(reason: String)
    /// Accepted so the runtime may feed every probe result; it changes nothing.
    case healthCheckPassed
    /// The component's cgroup (or process group) has no process left.
    case allProcessesGone
    /// The kernel OOM killer killed a process of the component.
    case oomKilled
}

/// Whom a signal goes to.
public enum SignalTarget: Hashable, Sendable {
    case mainProcess
    /// The running `Exec*Pre/Post/Stop` command.
    case controlProcess
    /// Every process in the component's cgroup (or process group).
    case allProcesses
}

/// Whose exit `recordExit` reports.
public enum ProcessRole: Hashable, Sendable {
    case main(index: Int)
    case control(CommandKind, index: Int)
}

/// Something the runtime must do.
public enum ComponentAction: Hashable, Sendable {
    /// Spawn command `index` of `kind`; answer with `spawned` or `spawnFailed`. For
    /// `ExecStop=`/`ExecStopPost=` the environment gets `resultEnvironment.variables(…)`.
    case runCommand(CommandKind, index: Int, resultEnvironment: ServiceResultEnvironment?)
    case sendSignal(Int32, to: SignalTarget)
    /// Arm (or re-arm) the timer to fire at the instant; answer with `timerFired`.
    case setTimer(TimerKind, at: MonotonicInstant)
    case cancelTimer(TimerKind)
    /// Test the unit's conditions and asserts now; answer with `conditionsTested`.
    case testConditions
    /// The start finished: the component is up; units ordered after it may start.
    case markReady
    /// The start was skipped (an unmet condition, `ExecCondition=` exit 1–254): the
    /// component stays inactive, and the start counts as done for the units ordered
    /// after it (systemd finishes the job as done).
    case markSkipped(reason: String)
    /// The component is fully down (every process gone, `ExecStopPost=` done).
    case markStopped(ServiceResult)
    /// A process ended; `result` is how it was judged (after the `-` prefix).
    case recordExit(ProcessRole, ExitStatus, result: ServiceResult)
    /// `MAINPID=` named a new main process: watch it instead of the spawned one.
    case watchMainPID(Int32)
    /// `Type=forking`: the `ExecStart=` process exited cleanly; find the daemon it left
    /// (`PIDFile=`, else `GuessMainPID=`) and answer with `daemonFound`. Also after a
    /// successful reload, when systemd reads `PIDFile=` again: a new pid there is answered
    /// as `MAINPID=`.
    case findMainPID
    /// `Type=dbus`: watch the system bus for `BusName=`; answer with `busNameAcquired`
    /// (or `spawnFailed` when it cannot be watched).
    case watchBusName
    /// `STATUS=` text to show in `warden status`.
    case updateStatusText(String)
    /// A line for the journal; the event names what happened and carries its level.
    case log(ComponentLogEvent, message: String)
}

/// What a component's log line reports. The raw value is a stable machine name; the
/// level is part of the event, so every line about a failure is a warning wherever it is
/// written.
public enum ComponentLogEvent: String, CaseIterable, Hashable, Sendable {
    case startQueued = "start-queued"
    case restartCancelled = "restart-cancelled"
    case startBlocked = "start-blocked"
    case starting
    case started
    case finalKillSkipped = "final-kill-skipped"
    case stopped
    case failed
    case spawnFailed = "spawn-failed"
    case failureIgnored = "failure-ignored"
    case oomKill = "oom-kill"
    case healthCheckFailed = "health-check-failed"
    case reloading
    case reloaded
    case reloadFailed = "reload-failed"
    case watchdog
    case startLimitHit = "start-limit-hit"
    case restartScheduled = "restart-scheduled"
    case conditionUnmet = "condition-unmet"
    case assertFailed = "assert-failed"
    case conditionUnevaluated = "condition-unevaluated"
    case startTimeout = "start-timeout"
    case reloadTimeout = "reload-timeout"
    case stopTimeout = "stop-timeout"

    public var level: LogLevel {
        switch self {
        case .failed, .startLimitHit, .spawnFailed, .watchdog, .startTimeout, .stopTimeout, .healthCheckFailed, .oomKill,
            .startBlocked, .assertFailed, .conditionUnevaluated, .reloadFailed:
            .warning
        case .startQueued, .restartScheduled, .restartCancelled, .starting, .started, .finalKillSkipped, .stopped, .failureIgnored,
            .reloading, .reloaded, .reloadTimeout, .conditionUnmet:
            .info
        }
    }
}

/// The state machine of one component. Value type: copy it to explore "what if".
public struct ComponentMachine: Sendable {
    public let policy: RestartPolicy
    public let commands: ServiceCommands
    public private(set) var state: ComponentState = .inactive
    private var skipStopCommands = false
    /// The result of the current (or last) run; the first failure wins.
    public private(set) var result: ServiceResult = .success
    /// How the main process of the current (or last) run ended.
    public private(set) var mainExitStatus: ExitStatus?
    public private(set) var mainPID: Int32?
    /// systemd's `n_restarts`: automatic restarts since the last explicit start.
    public private(set) var restartCount = 0
    public private(set) var statusText: String?
    /// Why the last start did not run: `start condition unmet: …` or `start assertion
    /// failed: …`; nil once a start gets past its conditions.
    public private(set) var conditionNote: String?
    /// Armed timers and their deadlines.
    public private(set) var timers: [TimerKind: MonotonicInstant] = [:]
    public private(set) var startLimiter: StartLimiter
    /// What the reload under way waits for; nil outside `reloading`, and for a reload the
    /// service announced itself with `RELOADING=1`.
    public private(set) var reloadStep: ReloadStep?
    /// How the last reload ended (systemd's `ReloadResult`): `success`, the failed
    /// command's result, or `timeout`; nil while one runs and before the first.
    public private(set) var reloadResult: ServiceResult?
    /// `Type=forking` found no main process (several processes left, no `PIDFile=`): the
    /// component counts as up while any of its processes runs (systemd's unknown main PID).
    public private(set) var mainPIDUnknown = false

    private var mainAlive = false
    private var controlAlive = false
    /// False once the runtime reported the cgroup empty; true again at the next spawn.
    private var processesRemain = false
    /// A stop was requested: do not restart automatically (systemd `forbid_restart`).
    private var forbidRestart = false
    /// A start or restart was requested while stopping: start once down.
    private var pendingStart = false
    private var cleanupSignalSent = false

    // Per-event scratch: the time of the event, the actions produced, one random draw.
    private var now = MonotonicInstant.zero
    private var out: [ComponentAction] = []
    private var draw: UInt64 = 0

    public init(policy: RestartPolicy, commands: ServiceCommands = ServiceCommands()) {
        self.policy = policy
        self.commands = commands
        self.startLimiter = StartLimiter(
            burst: policy.startLimitBurst, intervalUSec: policy.startLimitIntervalUSec)
    }

    /// Feeds one event at `now`; returns what the runtime must do, in order. `rng` supplies
    /// the restart jitter (pass `SystemRandomNumberGenerator` in production, a seeded one in
    /// tests).
    public mutating func handle<R: RandomNumberGenerator>(
        _ event: ComponentEvent, now: MonotonicInstant, rng: inout R
    ) -> [ComponentAction] {
        self.now = now
        self.draw = rng.next()
        self.out = []
        dispatch(event)
        let actions = out
        out = []
        return actions
    }

    /// The same as a pure function: the next machine and the actions.
    public static func transition<R: RandomNumberGenerator>(
        _ machine: ComponentMachine, _ event: ComponentEvent, now: MonotonicInstant, rng: inout R
    ) -> (ComponentMachine, [ComponentAction]) {
        var next = machine
        let actions = next.handle(event, now: now, rng: &rng)
        return (next, actions)
    }

    /// systemd's `ActiveState`: active, reloading, inactive, failed, activating, deactivating.
    public var activeState: String {
        switch state {
        case .inactive, .blocked: "inactive"
        case .starting, .autoRestartWait: "activating"
        case .running, .exited: "active"
        case .reloading: "reloading"
        case .stopping: "deactivating"
        case .failed: "failed"
        }
    }

    /// systemd's `SubState` spelling of the state.
    public var subState: String {
        switch state {
        case .inactive: "dead"
        case .blocked: "blocked"
        case .starting(.conditions): "condition"
        case .starting(.conditionCommand): "condition"
        case .starting(.preCommand): "start-pre"
        case .starting(.main): "start"
        case .starting(.postCommand): "start-post"
        case .running: "running"
        case .reloading: "reload"
        case .exited: "exited"
        case .stopping(.stopCommand): "stop"
        case .stopping(.stopSignal): "stop-sigterm"
        case .stopping(.watchdogSignal): "stop-watchdog"
        case .stopping(.finalKill): "stop-sigkill"
        case .stopping(.postCommand): "stop-post"
        case .autoRestartWait: "auto-restart"
        case .failed: "failed"
        }
    }

    // MARK: - Dispatch

    private mutating func dispatch(_ event: ComponentEvent) {
        switch event {
        case .startRequested: startRequested()
        case .stopRequested: stopRequested(thenStart: false)
        case .restartRequested: restartRequested()
        case .reloadRequested: reloadRequested()
        case .resetFailedRequested: resetFailed()
        case .startBlocked(let reason): startBlocked(reason)
        case .spawned(let pid): spawned(pid)
        case .spawnFailed(let reason): spawnFailed(reason)
        case .execSucceeded: execSucceeded()
        case .daemonFound(let pid): daemonFound(pid)
        case .busNameAcquired: busNameAcquired()
        case .notify(let message): notify(message)
        case .mainExited(let status): mainExited(status)
        case .hookExited(let status): hookExited(status)
        case .conditionsTested(let verdict): conditionsTested(verdict)
        case .timerFired(let kind): timerFired(kind)
        case .healthCheckFailed(let reason): healthCheckFailed(reason)
        case .healthCheckPassed: break
        case .allProcessesGone: allProcessesGone()
        case .oomKilled: oomKilled()
        }
    }

    // MARK: - Requests

    /// An explicit start. Operator-friendly meaning of the start limit (systemd refuses
    /// `systemctl start` while the limit is hit until `reset-failed`): an explicit start or
    /// restart is the operator taking over, so it resets the limiter and the restart
    /// counter and always starts. The limit guards automatic restarts, which is where a
    /// crash loop happens; the explicit start counts as the first start of a new window.
    private mutating func startRequested() {
        switch state {
        case .inactive, .failed, .blocked:
            beginStart(automatic: false)
        case .autoRestartWait:
            cancelTimer(.restartDelay)
            beginStart(automatic: false)
        case .stopping:
            pendingStart = true
            log(.startQueued, "start requested while stopping; starting once stopped")
        case .starting, .running, .reloading, .exited:
            break
        }
    }

    private mutating func restartRequested() {
        switch state {
        case .inactive, .failed, .blocked, .autoRestartWait:
            startRequested()
        case .starting, .running, .reloading, .exited, .stopping:
            stopRequested(thenStart: true)
        }
    }

    private mutating func stopRequested(thenStart: Bool) {
        switch state {
        case .inactive, .failed:
            break
        case .blocked:
            state = .inactive
        case .autoRestartWait:
            // systemd: a stop during the restart pause ends in `dead`.
            cancelTimer(.restartDelay)
            state = .inactive
            log(.restartCancelled, "automatic restart cancelled by stop request")
        case .starting, .reloading:
            forbidRestart = true
            pendingStart = thenStart
            enterStopSignal(.success)
        case .running, .exited:
            forbidRestart = true
            pendingStart = thenStart
            enterStop(.success)
        case .stopping:
            forbidRestart = true
            pendingStart = thenStart
        }
    }

    private mutating func resetFailed() {
        startLimiter.reset()
        restartCount = 0
        switch state {
        case .failed, .blocked:
            state = .inactive
            result = .success
        default:
            break
        }
    }

    /// Why a reload cannot be done now, in words that follow the component's name; nil
    /// when it can. systemd: "Job type reload is not applicable" without `ExecReload=`,
    /// "not active, cannot reload" when down.
    public var reloadRefusal: String? {
        let bySignal = policy.type == .notifyReload && mainAlive
        guard !commands.reload.isEmpty || policy.type == .notifyReload else {
            return "has no ExecReload= (a reload is not applicable)"
        }
        switch state {
        case .running, .exited: break
        case .reloading: return "is already reloading"
        default: return "is not active (\(activeState)), cannot reload"
        }
        if !bySignal && commands.reload.isEmpty { return "has no main process to send ReloadSignal= to" }
        return nil
    }

    /// systemd `service_enter_reload`: `Type=notify-reload` with a main process gets
    /// `ReloadSignal=`, anything else runs `ExecReload=` in order. A failed or timed-out
    /// reload leaves the component running; its result is not the service's result.
    private mutating func reloadRequested() {
        guard reloadRefusal == nil else { return }
        cancelTimer(.reloadTimeout)
        reloadResult = nil
        if policy.type == .notifyReload && mainAlive {
            state = .reloading
            reloadStep = .signalSent
            log(.reloading, "reloading: sending \(SignalNumber(rawValue: policy.reloadSignal).name) to the main process")
            out.append(.sendSignal(policy.reloadSignal, to: .mainProcess))
            armTimer(.reloadTimeout, after: policy.timeoutStartUSec)
        } else {
            state = .reloading
            log(.reloading, "reloading: running \(CommandKind.reload.rawValue)")
            runReloadCommand(0)
        }
    }

    private var reloadCommandRuns: Bool {
        if case .command = reloadStep { return true }
        return false
    }

    private mutating func runReloadCommand(_ index: Int) {
        reloadStep = .command(index: index)
        runControl(.reload, index)
        armTimer(.reloadTimeout, after: policy.timeoutStartUSec)
    }

    /// systemd `service_enter_running` after a reload: running while the main process
    /// (or, without a known one, any process) lives; else as a main process that ended.
    private mutating func reloadEnded(_ outcome: ServiceResult = .success) {
        cancelTimer(.reloadTimeout)
        reloadStep = nil
        reloadResult = outcome
        if mainAlive || (mainPIDUnknown && processesRemain) {
            state = .running
        } else {
            mainGoneWhileUp(result)
        }
    }

    private mutating func startBlocked(_ reason: String) {
        switch state {
        case .inactive, .failed, .blocked:
            state = .blocked(reason: reason)
            log(.startBlocked, reason)
        case .autoRestartWait:
            cancelTimer(.restartDelay)
            state = .blocked(reason: reason)
            log(.startBlocked, reason)
        case .starting, .running, .reloading, .exited, .stopping:
            break
        }
    }

    // MARK: - Start (systemd service_start … service_enter_running)

    private mutating func beginStart(automatic: Bool) {
        if automatic {
            guard startLimiter.admit(at: now) else {
                result = .startLimitHit
                state = .failed(.startLimitHit)
                log(
                    .startLimitHit,
                    "start request repeated too quickly: more than \(policy.startLimitBurst) starts "
                        + "within \(policy.startLimitIntervalUSec.usec)us; staying down until "
                        + "an explicit start or reset-failed")
                return
            }
            restartCount += 1
        } else {
            startLimiter.reset()
            _ = startLimiter.admit(at: now)
            restartCount = 0
        }
        result = .success
        mainExitStatus = nil
        mainPID = nil
        mainAlive = false
        controlAlive = false
        forbidRestart = false
        pendingStart = false
        cleanupSignalSent = false
        reloadStep = nil
        mainPIDUnknown = false
        log(.starting, automatic ? "automatic restart #\(restartCount)" : "starting")
        guard commands.checksConditions else {
            conditionNote = nil
            enterConditionCommand(0)
            return
        }
        // systemd tests conditions and asserts at every start, automatic restarts included.
        state = .starting(.conditions)
        out.append(.testConditions)
    }

    private mutating func conditionsTested(_ verdict: ConditionVerdict) {
        guard state == .starting(.conditions) else { return }
        if !verdict.unevaluated.isEmpty {
            log(
                .conditionUnevaluated,
                "cannot be evaluated here, treated as met: " + verdict.unevaluated.map(\.description).joined(separator: ", "))
        }
        switch verdict.outcome {
        case .met:
            conditionNote = nil
            enterConditionCommand(0)
        case .conditionUnmet:
            let reason = verdict.reason ?? "start condition unmet"
            conditionNote = reason
            state = .inactive
            log(.conditionUnmet, reason + "; not started")
            out.append(.markSkipped(reason: reason))
        case .assertFailed:
            // systemd: the start job fails with result `assert`; the unit itself stays
            // inactive, not failed. Units that require it fail (they see a start that
            // ended down without being ready).
            let reason = verdict.reason ?? "start assertion failed"
            conditionNote = reason
            state = .inactive
            log(.assertFailed, reason + "; the start fails")
        }
    }

    /// systemd `service_enter_condition`: the `ExecCondition=` commands, then start-pre.
    private mutating func enterConditionCommand(_ index: Int) {
        guard index < commands.condition.count else {
            enterStartPre(0)
            return
        }
        runControl(.condition, index)
        state = .starting(.conditionCommand(index: index))
        armTimer(.startTimeout, after: policy.timeoutStartUSec)
    }

    private mutating func enterStartPre(_ index: Int) {
        guard index < commands.startPre.count else {
            enterStartMain(0)
            return
        }
        runControl(.startPre, index)
        state = .starting(.preCommand(index: index))
        armTimer(.startTimeout, after: policy.timeoutStartUSec)
    }

    private mutating func enterStartMain(_ index: Int) {
        guard index < commands.start.count else {
            // Only `oneshot` may have no ExecStart= (systemd); it goes straight to start-post.
            enterStartPost(0)
            return
        }
        out.append(.runCommand(.start, index: index, resultEnvironment: nil))
        mainAlive = true
        mainCommandIndex = index
        let readiness: Readiness
        switch policy.type {
        case .simple, .idle: readiness = .spawn
        case .exec: readiness = .exec
        case .notify, .notifyReload: readiness = .ready
        case .oneshot: readiness = .exit
        case .forking: readiness = .forked
        case .dbus: readiness = .busName
        }
        state = .starting(.main(index: index, waitingFor: readiness))
        if readiness == .busName { out.append(.watchBusName) }
        // systemd applies no start timeout to a simple main process: it is started at once.
        if readiness == .spawn {
            cancelTimer(.startTimeout)
        } else {
            armTimer(.startTimeout, after: policy.timeoutStartUSec)
        }
    }

    /// systemd `service_enter_start_post`: the watchdog starts here.
    private mutating func enterStartPost(_ index: Int) {
        if index == 0 { armWatchdog() }
        guard index < commands.startPost.count else {
            completeStart()
            return
        }
        runControl(.startPost, index)
        state = .starting(.postCommand(index: index))
        armTimer(.startTimeout, after: policy.timeoutStartUSec)
    }

    private mutating func completeStart() {
        cancelTimer(.startTimeout)
        guard result == .success else {
            enterStopSignal(result)
            return
        }
        out.append(.markReady)
        if mainAlive || (mainPIDUnknown && processesRemain) {
            state = .running
            log(.started, "started")
        } else {
            mainGoneWhileUp(.success)
        }
    }

    /// systemd `service_enter_running` with the main process gone.
    private mutating func mainGoneWhileUp(_ cause: ServiceResult) {
        setResult(cause)
        if result != .success {
            enterStopSignal(result)
        } else if policy.remainAfterExit {
            cancelTimer(.watchdog)
            state = .exited
        } else {
            enterStop(.success)
        }
    }

    // MARK: - Stop (systemd service_enter_stop … service_enter_dead)

    /// The next stop goes on from the stop signal: the main process was taken over from
    /// a Warden that had already started its `ExecStop=` (`ComponentRecord.stopCommandsBegun`).
    /// Used up by that stop, or dropped when the process ends first.
    public mutating func stopCommandsAlreadyRan() { skipStopCommands = true }

    /// systemd `service_enter_stop`: `ExecStop=` commands, then the stop signal.
    private mutating func enterStop(_ cause: ServiceResult) {
        setResult(cause)
        cancelTimer(.watchdog)
        cancelTimer(.reloadTimeout)
        reloadStep = nil
        sendCleanupSignal()
        let skip = skipStopCommands
        skipStopCommands = false
        if commands.stop.isEmpty || skip {
            enterStopSignal(.success)
            return
        }
        runControl(.stop, 0, withResult: true)
        state = .stopping(.stopCommand(index: 0))
        cancelTimer(.startTimeout)
        armTimer(.stopTimeout, after: policy.timeoutStopUSec)
    }

    /// systemd `service_enter_signal(STOP_SIGTERM)`.
    private mutating func enterStopSignal(_ cause: ServiceResult) {
        setResult(cause)
        cancelTimer(.startTimeout)
        cancelTimer(.reloadTimeout)
        reloadStep = nil
        cancelTimer(.watchdog)
        sendCleanupSignal()
        sendStopSignal(policy.killSignal, final: false)
        if waitingForProcesses {
            state = .stopping(.stopSignal)
            armTimer(.stopTimeout, after: policy.timeoutStopUSec)
        } else {
            enterStopPost(.success)
        }
    }

    /// systemd `service_enter_signal(STOP_WATCHDOG)`: `WatchdogSignal=`, then after
    /// `TimeoutAbortSec=` (= `TimeoutStopSec=`) the final kill.
    private mutating func enterWatchdogSignal() {
        setResult(.watchdog)
        cancelTimer(.startTimeout)
        cancelTimer(.reloadTimeout)
        reloadStep = nil
        cancelTimer(.watchdog)
        sendStopSignal(policy.watchdogSignal, final: false)
        if waitingForProcesses {
            state = .stopping(.watchdogSignal)
            armTimer(.stopTimeout, after: policy.timeoutStopUSec)
        } else {
            enterStopPost(.success)
        }
    }

    /// systemd `service_enter_signal(STOP_SIGKILL)`.
    private mutating func enterFinalKill(_ cause: ServiceResult) {
        setResult(cause)
        guard policy.sendSIGKILL else {
            log(.finalKillSkipped, "SendSIGKILL=no: leaving remaining processes alone")
            enterStopPost(.success)
            return
        }
        sendStopSignal(policy.finalKillSignal, final: true)
        if waitingForProcesses {
            state = .stopping(.finalKill)
            armTimer(.stopTimeout, after: policy.timeoutStopUSec)
        } else {
            enterStopPost(.success)
        }
    }

    /// systemd `service_enter_stop_post`.
    private mutating func enterStopPost(_ cause: ServiceResult) {
        setResult(cause)
        guard !commands.stopPost.isEmpty else {
            finish(.success)
            return
        }
        runControl(.stopPost, 0, withResult: true)
        state = .stopping(.postCommand(index: 0))
        armTimer(.stopTimeout, after: policy.timeoutStopUSec)
    }

    /// systemd `service_enter_dead`: down; restart, start again, or stay down.
    private mutating func finish(_ cause: ServiceResult) {
        setResult(cause)
        for kind in TimerKind.allCases where timers[kind] != nil { cancelTimer(kind) }
        mainAlive = false
        controlAlive = false
        out.append(.markStopped(result))
        if pendingStart {
            pendingStart = false
            log(.stopped, "stopped (\(result.rawValue)); starting again as requested")
            beginStart(automatic: false)
            return
        }
        let restart = !forbidRestart && policy.shallRestart(result: result, mainExit: mainExitStatus)
        forbidRestart = false
        if restart {
            let delay = policy.jitteredRestartDelay(forRestart: restartCount + 1, draw: draw)
            let until = now.advanced(by: delay)
            state = .autoRestartWait(until: until)
            setTimer(.restartDelay, at: until)
            log(
                .restartScheduled,
                "\(result.rawValue); restarting in \(delay.usec)us (restart #\(restartCount + 1))")
        } else if result == .success {
            state = .inactive
            log(.stopped, "stopped")
        } else {
            state = .failed(result)
            log(.failed, "failed with result '\(result.rawValue)'")
        }
    }

    /// True while a process we must wait for is alive. With `KillMode=process` only the
    /// main and control processes count; otherwise also anything left in the cgroup.
    private var waitingForProcesses: Bool {
        mainAlive || controlAlive || (policy.killMode != .process && processesRemain)
    }

    /// After a process ended during the signal phases: on to `ExecStopPost=` once nothing is left.
    private mutating func checkStopProgress(_ cause: ServiceResult) {
        if !waitingForProcesses { enterStopPost(cause) }
    }

    private mutating func sendStopSignal(_ signal: Int32, final: Bool) {
        // KillMode=control-group: the signal goes to every process. mixed: the first signal
        // to the main and control processes, the final one to everything. process: only
        // ever the main and control processes.
        let everyone =
            policy.killMode == .controlGroup || (policy.killMode == .mixed && final)
        if everyone {
            if mainAlive || controlAlive || processesRemain {
                out.append(.sendSignal(signal, to: .allProcesses))
            }
        } else {
            if mainAlive { out.append(.sendSignal(signal, to: .mainProcess)) }
            if controlAlive { out.append(.sendSignal(signal, to: .controlProcess)) }
        }
    }

    private mutating func sendCleanupSignal() {
        guard let signal = policy.cleanupSignal, mainAlive, !cleanupSignalSent else { return }
        cleanupSignalSent = true
        out.append(.sendSignal(signal, to: .mainProcess))
    }

    // MARK: - Process events

    private mutating func spawned(_ pid: Int32) {
        // Only a real process makes the cgroup worth waiting for: a failed spawn adds none.
        processesRemain = true
        if case .starting(.main(_, let readiness)) = state {
            mainPID = pid
            if readiness == .spawn { enterStartPost(0) }
        }
    }

    private mutating func spawnFailed(_ reason: String) {
        switch state {
        case .starting(.main):
            mainAlive = false
            log(.spawnFailed, "\(CommandKind.start.rawValue): \(reason)")
            enterStopSignal(.resources)
        case .starting(.conditionCommand), .starting(.preCommand), .starting(.postCommand):
            controlAlive = false
            log(.spawnFailed, "\(currentControlKind?.rawValue ?? "command"): \(reason)")
            enterStopSignal(.resources)
        case .stopping(.stopCommand):
            controlAlive = false
            log(.spawnFailed, "\(CommandKind.stop.rawValue): \(reason)")
            enterStopSignal(.resources)
        case .reloading where reloadCommandRuns:
            controlAlive = false
            log(.spawnFailed, "\(CommandKind.reload.rawValue): \(reason)")
            log(.reloadFailed, "reload failed (resources); the component keeps running as it was")
            reloadEnded(.resources)
        case .stopping(.postCommand):
            controlAlive = false
            log(.spawnFailed, "\(CommandKind.stopPost.rawValue): \(reason)")
            finish(.resources)
        default:
            break
        }
    }

    private mutating func execSucceeded() {
        if case .starting(.main(_, .exec)) = state { enterStartPost(0) }
    }

    private mutating func daemonFound(_ pid: Int32?) {
        guard case .starting(.main(_, .forked)) = state else { return }
        if let pid {
            if pid != mainPID || !mainAlive {
                mainPID = pid
                mainAlive = true
                processesRemain = true
                out.append(.watchMainPID(pid))
            }
        } else {
            mainPIDUnknown = true
        }
        enterStartPost(0)
    }

    private mutating func busNameAcquired() {
        if case .starting(.main(_, .busName)) = state { enterStartPost(0) }
    }

    private mutating func mainExited(_ status: ExitStatus) {
        guard mainAlive else { return }
        mainAlive = false
        mainExitStatus = status
        // A taken-over process that ended before its stop: the next run's stop is whole.
        skipStopCommands = false
        let index = mainCommandIndex
        var judged = ServiceResult(
            status, judgedAs: policy.mainProcessJudgement, successExitStatus: policy.successExitStatus)
        // An adopted main process that ends while Warden stops it ended, as far as anyone
        // can tell, of the stop: judged as the stop signal would be (clean), not as a crash.
        if status == .unknown, case .stopping(let phase) = state {
            switch phase {
            case .stopSignal, .stopCommand, .finalKill: judged = .success
            default: break
            }
        }
        if judged != .success, index < commands.start.count, commands.start[index].ignoresFailure {
            log(.failureIgnored, "\(CommandKind.start.rawValue) failed (\(judged.rawValue)); ignored ('-' prefix)")
            judged = .success
        }
        out.append(.recordExit(.main(index: index), status, result: judged))
        setResult(judged)

        switch state {
        case .starting(.main(let i, let readiness)):
            switch readiness {
            case .exit:
                if judged != .success {
                    enterStopSignal(judged)
                } else if i + 1 < commands.start.count {
                    enterStartMain(i + 1)
                } else {
                    enterStartPost(0)
                }
            case .ready:
                // systemd: a notify service that exits before READY=1 never was and never
                // will be up; a clean exit there is a protocol violation.
                enterStopSignal(judged != .success ? judged : .protocolViolation)
            case .forked:
                // systemd `service_enter_start_post` after the forking parent's exit: the
                // daemon it left is the main process from now on, once found.
                if judged != .success {
                    enterStopSignal(judged)
                } else {
                    mainPID = nil
                    out.append(.findMainPID)
                }
            case .busName:
                // Gone before it took its bus name: it never was up.
                enterStopSignal(judged != .success ? judged : .resources)
            case .spawn, .exec:
                mainGoneWhileUp(judged)
            }
        case .starting(.postCommand):
            // Wait for the ExecStartPost= command; completeStart then sees the main gone.
            break
        case .running, .exited:
            mainGoneWhileUp(judged)
        case .reloading:
            // An ExecReload= command in flight is waited for; `reloadEnded` then sees the
            // main process gone.
            if !reloadCommandRuns { reloadEnded() }
        case .stopping(.stopSignal), .stopping(.watchdogSignal), .stopping(.finalKill):
            checkStopProgress(judged)
        case .starting(.conditions), .starting(.conditionCommand), .starting(.preCommand), .stopping(.stopCommand),
            .stopping(.postCommand), .inactive, .blocked, .autoRestartWait, .failed:
            break
        }
    }

    /// systemd: an `ExecCondition=` command that exits 1–254 ends the start as skipped
    /// (result `exec-condition` in systemd, the unit inactive, not failed), without
    /// the later commands and without a restart.
    private mutating func conditionCommandSkipped(_ index: Int, code: Int32) {
        let reason = "start condition unmet: \(CommandKind.condition.rawValue)[\(index)] exited with status \(code)"
        for kind in TimerKind.allCases where timers[kind] != nil { cancelTimer(kind) }
        result = .success
        conditionNote = reason
        mainAlive = false
        controlAlive = false
        forbidRestart = false
        out.append(.markStopped(.success))
        out.append(.markSkipped(reason: reason))
        state = .inactive
        log(.conditionUnmet, reason + "; not started")
    }

    private var currentControlKind: CommandKind? {
        switch state {
        case .starting(.conditionCommand): .condition
        case .starting(.preCommand): .startPre
        case .starting(.postCommand): .startPost
        case .stopping(.stopCommand): .stop
        case .stopping(.postCommand): .stopPost
        default: nil
        }
    }

    private mutating func hookExited(_ status: ExitStatus) {
        guard controlAlive else { return }
        controlAlive = false
        if state == .reloading, case .command(let index) = reloadStep {
            reloadCommandExited(index, status)
            return
        }
        let position: (CommandKind, Int)?
        switch state {
        case .starting(.conditionCommand(let i)): position = (.condition, i)
        case .starting(.preCommand(let i)): position = (.startPre, i)
        case .starting(.postCommand(let i)): position = (.startPost, i)
        case .stopping(.stopCommand(let i)): position = (.stop, i)
        case .stopping(.postCommand(let i)): position = (.stopPost, i)
        default: position = nil
        }
        var judged = ServiceResult(status, judgedAs: .controlCommand, successExitStatus: ExitStatusSet())
        if let (kind, index) = position {
            if judged != .success, commands[kind][index].ignoresFailure {
                log(.failureIgnored, "\(kind.rawValue) failed (\(judged.rawValue)); ignored ('-' prefix)")
                judged = .success
            }
            out.append(.recordExit(.control(kind, index: index), status, result: judged))
        } else {
            // A control process killed by a stop: systemd judges its end like any other.
            out.append(.recordExit(.control(lastControlKind, index: lastControlIndex), status, result: judged))
        }
        setResult(judged)

        switch state {
        case .starting(.conditionCommand(let i)):
            if judged == .success {
                enterConditionCommand(i + 1)
            } else if case .exited(let code) = status, (1...254).contains(code) {
                conditionCommandSkipped(i, code: code)
            } else {
                enterStopSignal(judged)
            }
        case .starting(.preCommand(let i)):
            if judged != .success { enterStopSignal(judged) } else { enterStartPre(i + 1) }
        case .starting(.postCommand(let i)):
            if judged != .success { enterStopSignal(judged) } else { enterStartPost(i + 1) }
        case .stopping(.stopCommand(let i)):
            if judged == .success, i + 1 < commands.stop.count {
                runControl(.stop, i + 1, withResult: true)
                state = .stopping(.stopCommand(index: i + 1))
                armTimer(.stopTimeout, after: policy.timeoutStopUSec)
            } else {
                enterStopSignal(judged)
            }
        case .stopping(.postCommand(let i)):
            if judged == .success, i + 1 < commands.stopPost.count {
                runControl(.stopPost, i + 1, withResult: true)
                state = .stopping(.postCommand(index: i + 1))
                armTimer(.stopTimeout, after: policy.timeoutStopUSec)
            } else {
                finish(judged)
            }
        case .stopping(.stopSignal), .stopping(.watchdogSignal), .stopping(.finalKill):
            checkStopProgress(judged)
        default:
            break
        }
    }

    /// One `ExecReload=` command ended: the next one, or back to running. Its failure is
    /// the reload's, logged, never the service's result (systemd `reload_result`).
    private mutating func reloadCommandExited(_ index: Int, _ status: ExitStatus) {
        var judged = ServiceResult(status, judgedAs: .controlCommand, successExitStatus: ExitStatusSet())
        if judged != .success, commands.reload[index].ignoresFailure {
            log(.failureIgnored, "\(CommandKind.reload.rawValue) failed (\(judged.rawValue)); ignored ('-' prefix)")
            judged = .success
        }
        out.append(.recordExit(.control(.reload, index: index), status, result: judged))
        if judged != .success {
            log(.reloadFailed, "reload failed (\(judged.rawValue)); the component keeps running as it was")
            reloadEnded(judged)
        } else if index + 1 < commands.reload.count {
            runReloadCommand(index + 1)
        } else {
            log(.reloaded, "reload finished")
            reloadEnded()
            if policy.type == .forking && state == .running { out.append(.findMainPID) }
        }
    }

    private mutating func allProcessesGone() {
        processesRemain = false
        switch state {
        case .stopping(.stopSignal), .stopping(.watchdogSignal), .stopping(.finalKill):
            checkStopProgress(.success)
        case .running where mainPIDUnknown && !mainAlive:
            // Without a known main process the last process ending is the service's end.
            mainGoneWhileUp(.success)
        default:
            break
        }
    }

    private mutating func oomKilled() {
        switch state {
        case .inactive, .blocked, .autoRestartWait, .failed:
            return
        default:
            log(.oomKill, "a process of the component was killed by the OOM killer")
        }
        // systemd OOMPolicy=stop (the default for services).
        switch state {
        case .starting, .stopping(.stopCommand):
            enterStopSignal(.oomKill)
        case .running, .exited, .reloading:
            enterStop(.oomKill)
        case .stopping(.stopSignal), .stopping(.watchdogSignal):
            enterFinalKill(.oomKill)
        case .stopping(.finalKill), .stopping(.postCommand):
            setResult(.oomKill)
        case .inactive, .blocked, .autoRestartWait, .failed:
            break
        }
    }

    private mutating func healthCheckFailed(_ reason: String) {
        switch state {
        case .running, .reloading:
            // Treated like a watchdog expiry for Restart= (result `watchdog`), but stopped
            // gracefully: the process is alive and may still clean up.
            log(.healthCheckFailed, reason)
            enterStop(.watchdog)
        default:
            break
        }
    }

    // MARK: - Notifications

    private mutating func notify(_ message: ComponentNotification) {
        switch message {
        case .ready:
            switch state {
            case .starting(.main(_, .ready)):
                enterStartPost(0)
            case .reloading:
                // READY=1 ends a reload the service announced (RELOADING=1), never one
                // whose ExecReload= still runs or whose signal it has not acknowledged.
                switch reloadStep {
                case nil, .notified:
                    log(.reloaded, "reload finished")
                    reloadEnded()
                case .command, .signalSent:
                    break
                }
            default:
                break
            }
        case .reloading:
            if state == .running {
                state = .reloading
                reloadStep = nil
                armTimer(.reloadTimeout, after: policy.timeoutStartUSec)
            } else if state == .reloading, reloadStep == .signalSent {
                reloadStep = .notified
            }
        case .stopping:
            // systemd `service_enter_stop_by_notify`: as if we had sent the stop signal.
            switch state {
            case .running, .reloading, .exited:
                cancelTimer(.watchdog)
                cancelTimer(.reloadTimeout)
                reloadStep = nil
                state = .stopping(.stopSignal)
                armTimer(.stopTimeout, after: policy.timeoutStopUSec)
            default:
                break
            }
        case .watchdogPing:
            if timers[.watchdog] != nil, let period = policy.effectiveWatchdogUSec {
                setTimer(.watchdog, at: now.advanced(by: period))
            }
        case .watchdogTrigger:
            switch state {
            case .starting, .running, .reloading, .exited:
                log(.watchdog, "watchdog triggered by the service (WATCHDOG=trigger)")
                enterWatchdogSignal()
            default:
                break
            }
        case .extendTimeout(let span):
            // systemd `service_extend_timeout`: never shortens, also moves the watchdog.
            let phaseTimer: TimerKind?
            switch state {
            case .starting: phaseTimer = .startTimeout
            case .reloading: phaseTimer = .reloadTimeout
            case .stopping: phaseTimer = .stopTimeout
            default: phaseTimer = nil
            }
            guard let phaseTimer else { return }
            let extended = now.advanced(by: span)
            for kind in [phaseTimer, .watchdog] {
                if let current = timers[kind], extended > current { setTimer(kind, at: extended) }
            }
        case .mainPID(let pid):
            switch state {
            case .starting, .running, .reloading, .exited:
                guard pid != mainPID || !mainAlive else { return }
                mainPID = pid
                mainAlive = true
                mainPIDUnknown = false
                processesRemain = true
                if state == .exited { state = .running }
                out.append(.watchMainPID(pid))
                // Type=forking: a daemon that names itself before the parent exits (or
                // after the search came up empty) is the daemon the start waits for.
                if case .starting(.main(_, .forked)) = state { enterStartPost(0) }
            default:
                break
            }
        case .status(let text):
            statusText = text
            out.append(.updateStatusText(text))
        }
    }

    // MARK: - Timers

    private mutating func timerFired(_ kind: TimerKind) {
        guard let deadline = timers[kind], now >= deadline else { return }
        timers[kind] = nil
        switch kind {
        case .startTimeout:
            guard case .starting = state else { return }
            log(.startTimeout, "\(subState) operation timed out; terminating")
            enterStopSignal(.timeout)
        case .reloadTimeout:
            guard state == .reloading else { return }
            log(.reloadTimeout, "reload operation timed out")
            if case .command = reloadStep, controlAlive {
                // systemd kills the reload command with SIGKILL and carries on running.
                out.append(.sendSignal(LinuxSignal.kill, to: .controlProcess))
                controlAlive = false
            }
            reloadEnded(.timeout)
        case .stopTimeout:
            stopTimedOut()
        case .watchdog:
            switch state {
            case .starting, .running, .reloading, .exited:
                log(.watchdog, "watchdog timeout: no WATCHDOG=1 within \(policy.watchdogUSec?.usec ?? 0)us")
                enterWatchdogSignal()
            default:
                break
            }
        case .restartDelay:
            if case .autoRestartWait = state { beginStart(automatic: true) }
        }
    }

    private mutating func stopTimedOut() {
        switch state {
        case .stopping(.stopCommand):
            log(.stopTimeout, "stopping timed out; terminating")
            enterStopSignal(.timeout)
        case .stopping(.stopSignal):
            log(.stopTimeout, "stop-sigterm timed out; killing")
            enterFinalKill(.timeout)
        case .stopping(.watchdogSignal):
            log(.stopTimeout, "stop-watchdog timed out; killing")
            enterFinalKill(.timeout)
        case .stopping(.finalKill):
            // systemd: "Processes still around after SIGKILL. Ignoring." (e.g. stuck in D state)
            log(.stopTimeout, "processes still around after the final kill signal; ignoring")
            mainAlive = false
            controlAlive = false
            processesRemain = false
            enterStopPost(.timeout)
        case .stopping(.postCommand):
            log(.stopTimeout, "\(CommandKind.stopPost.rawValue) timed out; killing it")
            out.append(
                .sendSignal(policy.sendSIGKILL ? policy.finalKillSignal : policy.killSignal, to: .controlProcess))
            controlAlive = false
            finish(.timeout)
        default:
            break
        }
    }

    // MARK: - Helpers

    private var lastControlKind: CommandKind = .startPre
    private var lastControlIndex = 0
    /// The `ExecStart=` command the main process runs (several only for `oneshot`).
    private var mainCommandIndex = 0

    private mutating func runControl(_ kind: CommandKind, _ index: Int, withResult: Bool = false) {
        let env = withResult ? ServiceResultEnvironment(result: result, mainExit: mainExitStatus) : nil
        out.append(.runCommand(kind, index: index, resultEnvironment: env))
        controlAlive = true
        lastControlKind = kind
        lastControlIndex = index
    }

    private mutating func setResult(_ cause: ServiceResult) {
        if result == .success { result = cause }
    }

    /// Arms a timeout. As in systemd, `infinity` and 0 both mean "no timeout".
    private mutating func armTimer(_ kind: TimerKind, after span: TimeSpan) {
        if span.isInfinite || span.usec == 0 {
            cancelTimer(kind)
        } else {
            setTimer(kind, at: now.advanced(by: span))
        }
    }

    private mutating func armWatchdog() {
        if let period = policy.effectiveWatchdogUSec {
            setTimer(.watchdog, at: now.advanced(by: period))
        }
    }

    private mutating func setTimer(_ kind: TimerKind, at instant: MonotonicInstant) {
        timers[kind] = instant
        out.append(.setTimer(kind, at: instant))
    }

    private mutating func cancelTimer(_ kind: TimerKind) {
        guard timers.removeValue(forKey: kind) != nil else { return }
        out.append(.cancelTimer(kind))
    }

    private mutating func log(_ event: ComponentLogEvent, _ message: String) {
        out.append(.log(event, message: message))
    }
}
