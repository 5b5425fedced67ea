// The supervision settings of one component, with systemd's names, units and defaults
// (systemd.service(5), systemd.unit(5), systemd.kill(5)).

/// The few Linux signal numbers the supervision core itself names. They are the same on
/// x86-64 and arm64; the core cannot import Glibc to read them from `<signal.h>`.
enum LinuxSignal {
    static let hangup: Int32 = 1      // SIGHUP
    static let interrupt: Int32 = 2   // SIGINT
    static let abort: Int32 = 6       // SIGABRT
    static let kill: Int32 = 9        // SIGKILL
    static let brokenPipe: Int32 = 13 // SIGPIPE
    static let terminate: Int32 = 15  // SIGTERM

    /// systemd counts these as a clean end of a daemon that has no handler for them.
    static let cleanForDaemons: Set<Int32> = [hangup, interrupt, terminate, brokenPipe]
}

/// How a component is started, watched, restarted and stopped.
///
/// Every field is the systemd setting of the same name with its unit in the field name;
/// the defaults are systemd's (`DefaultTimeoutStartSec=`, `DefaultStartLimitBurst=` …
/// at their shipped values). `cleanupSignal` and `restartJitterPercent` are Warden's own.
public struct RestartPolicy: Hashable, Sendable {
    /// `Type=`. Default `simple`.
    public var type: ServiceType
    /// `Restart=`. Default `no`.
    public var restart: RestartMode
    /// `RestartSec=`: the pause before an automatic restart. Default 100 ms.
    public var restartUSec: TimeSpan
    /// `RestartSteps=`: restarts over which the pause grows from `RestartSec=` to
    /// `RestartMaxDelaySec=`. Default 0 (no growth).
    public var restartSteps: Int
    /// `RestartMaxDelaySec=`: the longest pause. nil: not set (systemd's `infinity`), so the
    /// pause never grows.
    public var restartMaxDelayUSec: TimeSpan?
    /// `RestartPreventExitStatus=`: main-process ends that never lead to a restart.
    public var restartPreventExitStatus: ExitStatusSet
    /// `RestartForceExitStatus=`: main-process ends that always lead to a restart.
    public var restartForceExitStatus: ExitStatusSet
    /// `SuccessExitStatus=`: further exit codes and signals that count as a clean end.
    public var successExitStatus: ExitStatusSet
    /// `StartLimitBurst=`. Default 5.
    public var startLimitBurst: Int
    /// `StartLimitIntervalSec=`. Default 10 s; 0 disables the start limit.
    public var startLimitIntervalUSec: TimeSpan
    /// `TimeoutStartSec=`. Default 90 s, but `infinity` for `Type=oneshot` as in systemd.
    public var timeoutStartUSec: TimeSpan
    /// `TimeoutStopSec=`. Default 90 s. Also used for the watchdog abort (systemd's
    /// `TimeoutAbortSec=` defaults to it).
    public var timeoutStopUSec: TimeSpan
    /// `WatchdogSec=`. nil: no watchdog (systemd's 0).
    public var watchdogUSec: TimeSpan?
    /// `WatchdogSignal=`: sent when the watchdog expires. Default SIGABRT, for a core dump.
    public var watchdogSignal: Int32
    /// `KillSignal=`. Default SIGTERM.
    public var killSignal: Int32
    /// `FinalKillSignal=`. Default SIGKILL.
    public var finalKillSignal: Int32
    /// `SendSIGKILL=`: send `FinalKillSignal=` when `TimeoutStopSec=` expires. Default yes.
    public var sendSIGKILL: Bool
    /// `KillMode=`. Default `control-group`.
    public var killMode: KillMode
    /// `RemainAfterExit=`: stay active after the main process exited cleanly. Default no.
    public var remainAfterExit: Bool
    /// `ReloadSignal=`: what a reload of `Type=notify-reload` sends. Default SIGHUP.
    public var reloadSignal: Int32
    /// `[X-Warden] CleanupSignal=`: sent to the main process when a stop begins, before
    /// `ExecStop=` and `KillSignal=`, so it can drop caches and free memory first. nil: none.
    public var cleanupSignal: Int32?
    /// `[X-Warden]` restart jitter: each automatic-restart pause is lengthened by a random
    /// 0…N % of itself, so a fleet that failed together does not restart in lockstep.
    /// Only ever added, never subtracted: `RestartSec=` stays the lower bound an operator
    /// configured. Default 10; 0 restores systemd's exact timing.
    public var restartJitterPercent: UInt32

    public static let defaultTimeoutUSec = TimeSpan.seconds(90)

    /// Every parameter defaults to systemd's value. `timeoutStartUSec: nil` means systemd's
    /// default for the type: infinity for `oneshot`, 90 s otherwise.
    public init(
        type: ServiceType = .simple,
        restart: RestartMode = .no,
        restartUSec: TimeSpan = .milliseconds(100),
        restartSteps: Int = 0,
        restartMaxDelayUSec: TimeSpan? = nil,
        restartPreventExitStatus: ExitStatusSet = ExitStatusSet(),
        restartForceExitStatus: ExitStatusSet = ExitStatusSet(),
        successExitStatus: ExitStatusSet = ExitStatusSet(),
        startLimitBurst: Int = 5,
        startLimitIntervalUSec: TimeSpan = .seconds(10),
        timeoutStartUSec: TimeSpan? = nil,
        timeoutStopUSec: TimeSpan = RestartPolicy.defaultTimeoutUSec,
        watchdogUSec: TimeSpan? = nil,
        watchdogSignal: Int32 = 6,  // SIGABRT
        killSignal: Int32 = 15,  // SIGTERM
        finalKillSignal: Int32 = 9,  // SIGKILL
        sendSIGKILL: Bool = true,
        killMode: KillMode = .controlGroup,
        remainAfterExit: Bool = false,
        reloadSignal: Int32 = 1,  // SIGHUP
        cleanupSignal: Int32? = nil,
        restartJitterPercent: UInt32 = 10
    ) {
        self.type = type
        self.restart = restart
        self.restartUSec = restartUSec
        self.restartSteps = restartSteps
        self.restartMaxDelayUSec = restartMaxDelayUSec
        self.restartPreventExitStatus = restartPreventExitStatus
        self.restartForceExitStatus = restartForceExitStatus
        self.successExitStatus = successExitStatus
        self.startLimitBurst = startLimitBurst
        self.startLimitIntervalUSec = startLimitIntervalUSec
        self.timeoutStartUSec =
            timeoutStartUSec ?? (type == .oneshot ? .infinity : RestartPolicy.defaultTimeoutUSec)
        self.timeoutStopUSec = timeoutStopUSec
        self.watchdogUSec = watchdogUSec
        self.watchdogSignal = watchdogSignal
        self.killSignal = killSignal
        self.finalKillSignal = finalKillSignal
        self.sendSIGKILL = sendSIGKILL
        self.killMode = killMode
        self.remainAfterExit = remainAfterExit
        self.reloadSignal = reloadSignal
        self.cleanupSignal = cleanupSignal
        self.restartJitterPercent = restartJitterPercent
    }

    /// The watchdog period when one is configured: `WatchdogSec=0` and `infinity` mean off.
    var effectiveWatchdogUSec: TimeSpan? {
        guard let watchdogUSec, watchdogUSec.usec > 0, !watchdogUSec.isInfinite else { return nil }
        return watchdogUSec
    }
}

/// Which `Exec*=` list a command belongs to.
public enum CommandKind: String, CaseIterable, Hashable, Sendable {
    case condition = "ExecCondition"
    case startPre = "ExecStartPre"
    case start = "ExecStart"
    case startPost = "ExecStartPost"
    case reload = "ExecReload"
    case stop = "ExecStop"
    case stopPost = "ExecStopPost"
}

/// What the state machine needs to know about one configured command line.
public struct CommandSlot: Hashable, Sendable {
    /// The `-` prefix: a failing exit is logged and then treated as success.
    public var ignoresFailure: Bool

    public init(ignoresFailure: Bool = false) { self.ignoresFailure = ignoresFailure }

    public static let plain = CommandSlot()
    public static let ignoringFailure = CommandSlot(ignoresFailure: true)
}

/// The shape of a component's command lists: how many commands of each kind, and which
/// ones carry the `-` prefix. The command lines themselves stay with the runtime, which
/// receives `runCommand(kind, index:)` and looks the line up.
public struct ServiceCommands: Hashable, Sendable {
    /// The unit has `Condition…=` or `Assert…=` lines: each start begins by testing them.
    public var checksConditions: Bool
    /// `ExecCondition=`: run first; exit 1–254 skips the start.
    public var condition: [CommandSlot]
    public var startPre: [CommandSlot]
    /// One command, except for `Type=oneshot` where several run one after another.
    public var start: [CommandSlot]
    public var startPost: [CommandSlot]
    /// `ExecReload=`, run one after another by a reload.
    public var reload: [CommandSlot]
    public var stop: [CommandSlot]
    public var stopPost: [CommandSlot]

    public init(
        startPre: [CommandSlot] = [], start: [CommandSlot] = [.plain], startPost: [CommandSlot] = [],
        reload: [CommandSlot] = [], stop: [CommandSlot] = [], stopPost: [CommandSlot] = [],
        condition: [CommandSlot] = [], checksConditions: Bool = false
    ) {
        self.checksConditions = checksConditions
        self.condition = condition
        self.startPre = startPre
        self.start = start
        self.startPost = startPost
        self.reload = reload
        self.stop = stop
        self.stopPost = stopPost
    }

    public subscript(kind: CommandKind) -> [CommandSlot] {
        switch kind {
        case .condition: condition
        case .startPre: startPre
        case .start: start
        case .startPost: startPost
        case .reload: reload
        case .stop: stop
        case .stopPost: stopPost
        }
    }

    /// systemd's `ExecStop=` presence, which decides whether a stop begins with commands.
    public var hasStopCommands: Bool { !stop.isEmpty }
}
