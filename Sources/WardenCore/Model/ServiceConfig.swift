/// Resource-control settings shared by `[Service]` and `[Slice]` (systemd.resource-control(5)).
/// Each maps to one cgroup v2 file; nil means "not set here", so the kernel default or the
/// parent's value holds.
public struct ResourceControl: Hashable, Sendable {
    /// `CPUQuota=` → `cpu.max` quota (per second of wall time).
    public var cpuQuota: CPUQuota?
    /// `CPUQuotaPeriodSec=` → `cpu.max` period; systemd's default is 100 ms.
    public var cpuQuotaPeriod: TimeSpan?
    /// `CPUWeight=` → `cpu.weight` (1…10000, kernel default 100).
    public var cpuWeight: CPUWeight?
    /// `AllowedCPUs=` → `cpuset.cpus`.
    public var allowedCPUs: CPUSet?
    /// `AllowedMemoryNodes=` → `cpuset.mems`.
    public var allowedMemoryNodes: CPUSet?
    /// `MemoryMin=` → `memory.min`.
    public var memoryMin: MemoryLimit?
    /// `MemoryLow=` → `memory.low`.
    public var memoryLow: MemoryLimit?
    /// `MemoryHigh=` → `memory.high`.
    public var memoryHigh: MemoryLimit?
    /// `MemoryMax=` → `memory.max`.
    public var memoryMax: MemoryLimit?
    /// `MemorySwapMax=` → `memory.swap.max`.
    public var memorySwapMax: MemoryLimit?
    /// `MemoryZSwapMax=` → `memory.zswap.max`.
    public var memoryZSwapMax: MemoryLimit?
    /// `TasksMax=` → `pids.max`.
    public var tasksMax: TasksMax?
    /// `IOWeight=` → `io.weight` (1…10000, kernel default 100).
    public var ioWeight: IOWeight?

    public init() {}
}

/// One command of `ExecStart=`, `ExecStop=`, … with where it was written.
public struct ConfiguredCommand: Hashable, Sendable {
    public var command: ExecCommand
    public var location: SourceLocation

    public init(command: ExecCommand, location: SourceLocation) {
        self.command = command
        self.location = location
    }
}

/// `[X-Warden] HealthCheck=` and its timing keys.
public struct HealthCheck: Hashable, Sendable {
    public var target: HealthCheckTarget
    /// `HealthCheckIntervalSec=`, default 30 s (the operators' container health check).
    public var interval: TimeSpan
    /// `HealthCheckTimeoutSec=`, default 10 s.
    public var timeout: TimeSpan
    /// `HealthCheckFailures=`: consecutive failures before the component is restarted, default 3.
    public var failuresBeforeRestart: Int

    public static let defaultInterval = TimeSpan.seconds(30)
    public static let defaultTimeout = TimeSpan.seconds(10)
    public static let defaultFailures = 3
}

/// A component: one `NAME.service` unit, as Warden understands it.
///
/// Every field is the unit's setting, nil when the unit does not set it; defaults are
/// applied where the setting is used (see `RestartPolicy`, `CgroupPlan`), so the model
/// can always say what the operator wrote.
public struct ServiceConfig: Hashable, Sendable {
    public var name: UnitName
    public var location: SourceLocation
    /// Where each key was last assigned, for messages about settings.
    public var keyLocations: [String: SourceLocation] = [:]

    // [Unit]
    public var description: String?
    public var after: [String] = []
    public var before: [String] = []
    public var requires: [String] = []
    public var wants: [String] = []
    public var bindsTo: [String] = []
    /// `SuccessAction=` is set to an action other than `none`. Warden does not carry the
    /// action out; it makes a unit without `ExecStart=` valid, as in systemd.
    public var hasSuccessAction = false
    /// Keys whose assignment was left out because a `%` specifier could not be expanded.
    public var unresolvedKeys: Set<String> = []
    /// `Condition…=` lines in order: an unmet one skips the start.
    public var conditions: [UnitCondition] = []
    /// `Assert…=` lines in order: a failed one fails the start.
    public var asserts: [UnitCondition] = []

    // [Service]: lifecycle
    public var type: ServiceType?
    /// `ExecCondition=`: run before `ExecStartPre=`; exit 1–254 skips the start.
    public var execCondition: [ConfiguredCommand] = []
    public var execStartPre: [ConfiguredCommand] = []
    public var execStart: [ConfiguredCommand] = []
    public var execStartPost: [ConfiguredCommand] = []
    public var execReload: [ConfiguredCommand] = []
    public var execStop: [ConfiguredCommand] = []
    public var execStopPost: [ConfiguredCommand] = []
    public var restart: RestartMode?
    public var restartSec: TimeSpan?
    public var restartSteps: Int?
    public var restartMaxDelaySec: TimeSpan?
    public var restartPreventExitStatus: ExitStatusSet?
    public var successExitStatus: ExitStatusSet?
    public var startLimitBurst: Int?
    public var startLimitIntervalSec: TimeSpan?
    public var timeoutStartSec: TimeSpan?
    public var timeoutStopSec: TimeSpan?
    public var watchdogSec: TimeSpan?
    public var killSignal: SignalNumber?
    public var killMode: KillMode?
    public var finalKillSignal: SignalNumber?
    public var sendSIGKILL: Bool?
    public var remainAfterExit: Bool?
    /// `PIDFile=`, absolute (a relative path is taken below /run, as systemd does).
    public var pidFile: String?
    public var guessMainPID: Bool?
    public var busName: String?
    public var reloadSignal: SignalNumber?

    // [Service]: process environment
    public var user: String?
    public var group: String?
    public var supplementaryGroups: [String] = []
    public var workingDirectory: String?
    /// `SyslogIdentifier=`: the name the output is logged under (`logTag`).
    public var syslogIdentifier: String?
    /// `Environment=` in order; later assignments of a name win.
    public var environment: [EnvironmentAssignment] = []
    public var environmentFiles: [EnvironmentFileReference] = []
    public var umask: UInt32?
    /// `RuntimeDirectory=`, `StateDirectory=`, … and their modes.
    public var directories = ExecDirectories()
    public var nice: Int32?
    public var cpuAffinity: CPUSet?
    public var cpuSchedulingPolicy: SchedulingPolicy?
    public var cpuSchedulingPriority: Int32?
    public var oomScoreAdjust: Int32?
    public var resourceLimits: [ResourceLimitKind: ResourceLimit] = [:]
    public var ambientCapabilities: CapabilitySet?
    public var capabilityBoundingSet: CapabilitySet?
    /// Every assignment of the two capability keys so far: systemd folds them together
    /// (later lines add, `~` lines remove, an empty line resets), so each new line
    /// re-folds the whole list.
    var capabilityAssignments: [CapabilityKey: [String]] = [:]
    public var noNewPrivileges: Bool?
    /// `IgnoreSIGPIPE=`; nil means systemd's default, yes.
    public var ignoreSIGPIPE: Bool?
    public var standardOutput: OutputTarget?
    public var standardError: OutputTarget?

    // Resource control
    public var slice: String?
    public var resources = ResourceControl()

    // [X-Warden]
    public var priority: Priority?
    public var duplicates: DuplicatePolicy?
    public var duplicateMatch: DuplicateMatch?
    public var healthCheckTarget: HealthCheckTarget?
    public var healthCheckIntervalSec: TimeSpan?
    public var healthCheckTimeoutSec: TimeSpan?
    public var healthCheckFailures: Int?
    public var cleanupSignal: SignalNumber?
    public var emergencyCPUQuota: CPUQuota?

    public init(name: UnitName, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// The health check with its defaults filled in, when `HealthCheck=` is set.
    public var healthCheck: HealthCheck? {
        guard let healthCheckTarget else { return nil }
        return HealthCheck(
            target: healthCheckTarget,
            interval: healthCheckIntervalSec ?? HealthCheck.defaultInterval,
            timeout: healthCheckTimeoutSec ?? HealthCheck.defaultTimeout,
            failuresBeforeRestart: healthCheckFailures ?? HealthCheck.defaultFailures)
    }

    /// The slice the component runs in: `Slice=` or systemd's default `system.slice`.
    public var effectiveSlice: String { slice ?? "system.slice" }
}

/// `EnvironmentFile=PATH` or `-PATH` (missing file ignored).
public struct EnvironmentFileReference: Hashable, Sendable {
    public var path: String
    public var ignoreIfMissing: Bool
}

/// A resource group: one `NAME.slice` unit.
public struct SliceConfig: Hashable, Sendable {
    public var name: UnitName
    public var location: SourceLocation
    public var keyLocations: [String: SourceLocation] = [:]
    public var description: String?
    public var resources = ResourceControl()
    /// `[X-Warden] Priority=` for the whole slice; components inherit it unless they set their own.
    public var priority: Priority?
    /// `[X-Warden] EmergencyCPUQuota=` for the slice as a whole.
    public var emergencyCPUQuota: CPUQuota?
    /// True when no unit file defines the slice and Warden creates it with defaults.
    public var isImplicit: Bool = false

    public init(name: UnitName, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// The parent slice by systemd's naming rule: `a-b-c.slice` → `a-b.slice`;
    /// `-.slice` (the root) has none, and a top-level slice's parent is the root.
    public var parentName: String? {
        SliceConfig.parent(of: name.description)
    }

    public static func parent(of sliceName: String) -> String? {
        guard sliceName != "-.slice", sliceName.hasSuffix(".slice") else { return nil }
        let base = sliceName.dropLast(".slice".count)
        guard let dash = base.lastIndex(of: "-") else { return "-.slice" }
        return base[..<dash] + ".slice"
    }
}

/// A model that remembers where each of its keys was set.
public protocol KeyLocating {
    var keyLocations: [String: SourceLocation] { get set }
}

extension ServiceConfig: KeyLocating {}
extension SliceConfig: KeyLocating {}
extension WardenSettings: KeyLocating {}
