/// One component in a `status` answer. The field names are the stable JSON shape
/// documented in docs/control-protocol.md; absent values are omitted, never sentinels.
public struct ComponentSnapshot: Codable, Hashable, Sendable {
    public var name: String
    /// systemd's ActiveState (`active`, `activating`, `failed`, …) and SubState.
    public var activeState: String
    public var subState: String
    /// systemd's Result (`success`, `exit-code`, …).
    public var result: String
    public var mainPID: Int32?
    public var controlPID: Int32?
    /// Automatic restarts since the last operator start.
    public var restarts: Int
    /// Seconds the main process has been running.
    public var uptimeSeconds: Double?
    /// CPU time (user + system) the main process used so far.
    public var cpuUsageSeconds: Double?
    /// CPU limit in percent of one CPU (`CPUQuota=`), when set.
    public var cpuQuotaPercent: Double?
    public var memoryCurrentBytes: UInt64?
    public var memoryPeakBytes: UInt64?
    /// `MemoryHigh=` / `MemoryMax=`, when set.
    public var memoryHighBytes: UInt64?
    public var memoryMaxBytes: UInt64?
    /// Threads of the main process (tasks of the cgroup once cgroups are wired).
    public var tasks: Int?
    /// Where the figures come from: `cgroup` or `process` (the main process alone, from
    /// /proc, when the component has no cgroup).
    public var usageSource: String?
    public var slice: String
    /// The component signalled readiness and has not stopped since.
    public var ready: Bool
    public var lastExit: ControlExitStatus?
    /// The last `STATUS=` it sent.
    public var statusText: String?
    /// A `Requires=`/`BindsTo=` unit that failed, so this one was not started.
    public var dependencyFailure: String?
    public var invocationID: String?
    /// Why the component is `blocked` (`blocked: duplicate PID 1234 (cmdline)`).
    public var blockedReason: String?
    /// systemd's LoadState when it is not `loaded`: `masked` for a unit whose file is
    /// empty or a link to /dev/null, which Warden never starts.
    public var loadState: String?
    /// `Priority=` as in force (`critical`, `normal`, `batch`); what readiness probes judge.
    public var priority: String?
    /// Why the last start did not run: `start condition unmet: ConditionPathExists=/x`
    /// (the component is inactive, not failed) or `start assertion failed: …`.
    public var conditionResult: String?
    /// How the last reload ended (systemd's `ReloadResult`: `success`, `exit-code`,
    /// `timeout`, …); absent while one runs and before the first.
    public var reloadResult: String?
    /// The component's own resource settings the kernel does not enforce here (no usable
    /// cgroup, a controller missing, an interface file the kernel lacks), each with the
    /// reason; absent when every one is in force. The CPU and memory limits above are
    /// then what the unit asks for, not what holds the process.
    public var notEnforced: [UnenforcedSetting]?

    public init(
        name: String, activeState: String, subState: String, result: String, mainPID: Int32? = nil,
        controlPID: Int32? = nil, restarts: Int = 0, uptimeSeconds: Double? = nil, cpuUsageSeconds: Double? = nil,
        cpuQuotaPercent: Double? = nil, memoryCurrentBytes: UInt64? = nil, memoryPeakBytes: UInt64? = nil,
        memoryHighBytes: UInt64? = nil, memoryMaxBytes: UInt64? = nil, tasks: Int? = nil, usageSource: String? = nil,
        slice: String, ready: Bool = false, lastExit: ControlExitStatus? = nil, statusText: String? = nil,
        dependencyFailure: String? = nil, invocationID: String? = nil, blockedReason: String? = nil,
        priority: String? = nil, conditionResult: String? = nil
    ) {
        self.name = name
        self.activeState = activeState
        self.subState = subState
        self.result = result
        self.mainPID = mainPID
        self.controlPID = controlPID
        self.restarts = restarts
        self.uptimeSeconds = uptimeSeconds
        self.cpuUsageSeconds = cpuUsageSeconds
        self.cpuQuotaPercent = cpuQuotaPercent
        self.memoryCurrentBytes = memoryCurrentBytes
        self.memoryPeakBytes = memoryPeakBytes
        self.memoryHighBytes = memoryHighBytes
        self.memoryMaxBytes = memoryMaxBytes
        self.tasks = tasks
        self.usageSource = usageSource
        self.slice = slice
        self.ready = ready
        self.lastExit = lastExit
        self.statusText = statusText
        self.dependencyFailure = dependencyFailure
        self.invocationID = invocationID
        self.blockedReason = blockedReason
        self.priority = priority
        self.conditionResult = conditionResult
    }
}
