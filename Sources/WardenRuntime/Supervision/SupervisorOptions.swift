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
    /// Signal.terminate/Signal.interrupt → graceful shutdown, Signal.hangup → reload, through the loop's
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
    /// After `ShutdownBudgetSec=` everything left gets Signal.kill; this is how long Warden
    /// then waits for the kills to be seen before giving up.
    public var shutdownKillGrace: TimeSpan
    /// The main program's unit (`warden run -- CMD`): when it ends, everything stops and
    /// Warden exits with its status (`MainProgram.exitCode`); `SignalContract.forwarded`
    /// signals go to it.
    public var mainProgram: String?
    /// The previous Warden of this state directory was killed or crashed: processes it
    /// started but had not recorded yet are looked for at start (`stopUnrecordedLeftovers`).
    public var previousRunEndedUncleanly = false
    /// Where `RuntimeDirectory=`, `StateDirectory=`, … are made: systemd's system
    /// locations; tests give a temporary root.
    public var execDirectoryBases = ExecDirectoryBases.system
    /// What the daemon found out about cgroups at start (a reason when there are none, the
    /// controllers it may enable when there are): `status` names the settings that hold
    /// no process for that reason. Nil when another backend (systemd scopes) applies them.
    public var cgroupAvailability: CgroupAvailability?

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
    /// Why the last start did not run: an unmet condition or a failed assert.
    public var conditionNote: String?
}

/// Exit codes of `warden run`.
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
