import Logging
import WardenCore
import WardenLinux

/// A process Warden started (or adopted through `MAINPID=`) and watches through a pidfd.
/// The pidfd belongs to the `EventLoop.watchExit` registration, which closes it right
/// after the exit handler ran; the handler clears the handle first, so a live handle
/// always has an open pidfd.
struct WatchedProcess {
    var pid: Int32
    var pidfd: Int32
}

/// Everything the supervisor keeps about one component. Confined to the loop thread.
final class Component {
    let name: String
    private(set) var config: ServiceConfig
    private(set) var machine: ComponentMachine
    var priority: Priority

    var timers: [TimerKind: EventLoop.TimerID] = [:]
    var main: WatchedProcess?
    /// `Type=forking`: when the ExecStart= process of this start began (clock ticks since
    /// boot): a daemon named by `PIDFile=` that no scan could attribute must be younger.
    var forkingStartTicks: UInt64?
    var control: WatchedProcess?
    /// The `$INVOCATION_ID` of the current run, nil between runs.
    var invocationID: String?
    /// The run whose processes were tracked last, for the leftover check at shutdown.
    var lastRun: TrackedRun?
    var readers: [ObjectIdentifier: OutputReader] = [:]

    var lastExit: ExitStatus?
    var statusText: String?
    /// Up and ready now: `markReady` seen, `markStopped` not yet.
    var isUp = false
    /// Where it stands in the start and stop of the stack (`StackPlanner`), with the
    /// machine's state as it is now: whatever reads or changes it (a plan, a reload, an
    /// operator's request) sees whether the component is down at that moment.
    var stack: StackMember {
        get {
            var member = storedStack
            member.isDown = isDown
            member.isFailed = isFailed
            return member
        }
        set { storedStack = newValue }
    }
    private var storedStack: StackMember

    /// Waits to start or for its reloaded configuration: a running stack's plan has
    /// something to do for it (read on every pass of the pump, without a copy).
    var awaitsPlan: Bool { storedStack.wantsStart || storedStack.replacement != nil }
    /// A reload changed the unit: once down, this configuration is swapped in.
    var pendingConfig: ServiceConfig?
    /// The process scan is due at the end of this loop turn.
    var needsGoneCheck = false
    /// A scan of this turn found nothing left (see `Supervisor.send`).
    var knownEmpty = false
    var goneCheckTimer: EventLoop.TimerID?
    var health = HealthState()
    /// A running process to take over at the next start (Supervisor+Adoption).
    var takeover: PendingTakeover?
    /// The current run's main process was taken over: its `ExecStartPost=` is skipped.
    var mainTakenOver = false
    /// The previous Warden's record of the re-adopted main process: the base of its
    /// record (its settings fingerprint is the one it was started from).
    var adoptedRecord: ComponentRecord?
    /// What follows the takeover of a re-adopted process at once (`AdoptionPlan`).
    var adoptionFollowUp: AdoptionPlan.FollowUp?
    /// What Warden has begun doing to the main process with this PID (a stop, restart or
    /// replacement), recorded before its first signal; a later main process has none.
    var intent: (kind: ComponentIntent, pid: Int32)?
    /// The main process with this PID had its `ExecStop=` started (recorded before the
    /// first command runs, `ComponentRecord.stopCommandsBegun`).
    var stopCommandsBegun: Int32?
    /// An operator stopped it and nothing started it since: recorded, so a Warden started
    /// after this one was killed leaves it down.
    var stoppedByOperator = false
    /// The fingerprint of `config`'s settings, for the records (computed once per
    /// configuration).
    var settingsFingerprint: UnitFingerprint {
        if let cachedFingerprint { return cachedFingerprint }
        let fingerprint = UnitFingerprint(config)
        cachedFingerprint = fingerprint
        return fingerprint
    }
    private var cachedFingerprint: UnitFingerprint?
    /// A `Duplicates=kill` holding this component's start (Supervisor+Duplicates).
    var duplicateKill: DuplicateKillRun?
    /// Kills done for the start under way; a copy that is back after one is refused.
    var duplicateKillRounds = 0
    /// Why the next start is refused without a scan (a kill that failed).
    var forcedDuplicateRefusal: String?
    /// The poll of a start that waits on the world (a `PIDFile=` to appear, `BusName=` to
    /// be taken, the rest of the start wave for `Type=idle`; Supervisor+ServiceTypes).
    var startPoll: EventLoop.TimerID?
    /// `Type=idle`: when the deferred start goes ahead whatever else still starts.
    var idleStartDeadline: MonotonicInstant?
    /// What the poll of this start last reported (a `PIDFile=` pid refused, the bus not
    /// answering), so each is reported once.
    var startPollNote: String?

    /// The reason of `blocked`, for `warden status`.
    var blockedReason: String? {
        if case .blocked(let reason) = machine.state { return reason }
        return nil
    }

    init(config: ServiceConfig, priority: Priority) {
        self.name = config.name.description
        self.config = config
        self.machine = ComponentMachine(policy: config.restartPolicy, commands: config.serviceCommands)
        self.priority = priority
        self.storedStack = StackMember(name: name, priority: priority, requiredUnits: config.requiredUnits)
    }

    var tag: String { config.logTag }

    /// The metadata of Warden's log lines about this component, built once per tag
    /// (several lines per restart each built the dictionary).
    var logMetadata: Logger.Metadata {
        let tag = self.tag
        if let cached = cachedLogMetadata, cached.tag == tag { return cached.metadata }
        let metadata: Logger.Metadata = [WardenLogHandler.unitKey: "\(tag)"]
        cachedLogMetadata = (tag, metadata)
        return metadata
    }
    private var cachedLogMetadata: (tag: String, metadata: Logger.Metadata)?

    /// Down: nothing runs and nothing is pending (restart pauses are not down).
    var isDown: Bool {
        switch machine.state {
        case .inactive, .failed, .blocked: true
        default: false
        }
    }

    var isFailed: Bool {
        if case .failed = machine.state { return true }
        return false
    }

    /// In one of the phases that wait for every process to be gone.
    var isWaitingForProcesses: Bool {
        switch machine.state {
        case .stopping(.stopSignal), .stopping(.watchdogSignal), .stopping(.finalKill): true
        // Type=forking without a known main process runs while any of its processes does.
        case .running, .reloading: machine.mainPIDUnknown && main == nil
        default: false
        }
    }

    var run: TrackedRun? {
        guard let invocationID else { return nil }
        return TrackedRun(
            unit: name, invocationID: invocationID, rootPIDs: [main?.pid, control?.pid].compactMap { $0 })
    }

    func handle(_ event: ComponentEvent, now: MonotonicInstant, rng: inout BufferedSystemRandom)
        -> [ComponentAction]
    {
        machine.handle(event, now: now, rng: &rng)
    }

    /// The next stop goes on from the stop signal (`ComponentMachine.stopCommandsAlreadyRan`).
    func stopCommandsAlreadyRan() { machine.stopCommandsAlreadyRan() }

    /// Swaps a reloaded configuration in; only while down (the plan has reset the
    /// member's start bookkeeping).
    func replaceConfiguration(_ new: ServiceConfig, priority: Priority) {
        precondition(isDown, "configuration replaced while \(machine.subState)")
        config = new
        cachedFingerprint = nil
        self.priority = priority
        machine = ComponentMachine(policy: new.restartPolicy, commands: new.serviceCommands)
        health = HealthState()
    }

    /// Keeps the configuration's source locations current without touching the machine.
    func refreshLocations(_ new: ServiceConfig, priority: Priority) {
        config = new
        self.priority = priority
        stack.priority = priority
    }
}

/// The health-check bookkeeping of one component.
struct HealthState {
    var timer: EventLoop.TimerID?
    var consecutiveFailures = 0
    var probing = false
    var cancelProbe: (() -> Void)?
}
