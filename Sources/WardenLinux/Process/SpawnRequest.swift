import Glibc

/// Everything the supervisor sets up for one process between `clone` and `execve`,
/// applied in this order: cgroup, session, signals, stdio, descriptors, umask, chdir,
/// rlimits, nice, affinity, scheduler, oom_score_adj, bounding set, groups/gid/uid,
/// capabilities, no_new_privs, parent-death signal, execve.
public struct SpawnRequest: Sendable {
    /// Absolute path given to `execve`.
    public var executablePath: String
    /// The whole `argv`, including `argv[0]`.
    public var arguments: [String]
    /// `KEY=VALUE` strings; the child gets exactly these.
    public var environment: [String]
    /// `chdir` target; nil keeps the supervisor's directory.
    public var workingDirectory: String?
    public var umask: UInt32?
    public var resourceLimits: [ProcessResourceLimit]
    /// `setpriority(PRIO_PROCESS)`, -20...19.
    public var nice: Int32?
    /// CPU numbers for `sched_setaffinity`; nil keeps the inherited mask.
    public var cpuAffinity: [Int]?
    /// `SCHED_*` number; applied only together with `schedulingPriority` (0 when nil).
    public var schedulingPolicy: Int32?
    public var schedulingPriority: Int32?
    /// Written to `/proc/self/oom_score_adj`, -1000...1000.
    public var oomScoreAdjust: Int32?
    public var userID: UInt32?
    public var groupID: UInt32?
    /// `setgroups`. When nil and a user or group is set, supplementary groups are cleared
    /// (the supervisor's own, often `root`, must never leak into a service); when nil and
    /// neither is set, they are left as they are. The caller resolves a user's groups.
    public var supplementaryGroups: [UInt32]?
    /// Bit n set = capability n stays in the bounding set; nil keeps it unchanged.
    public var capabilityBoundingSet: UInt64?
    /// Bit n set = capability n is raised as an ambient capability (and becomes the
    /// exact permitted/inheritable/effective set before exec); nil = none, no change.
    public var ambientCapabilities: UInt64?
    public var noNewPrivileges: Bool
    /// `IgnoreSIGPIPE=`: the program starts with SIGPIPE ignored. Off by default here;
    /// `Launcher` applies systemd's default (on) for components.
    public var ignoreSIGPIPE: Bool
    public var stdin: StandardStream
    public var stdout: StandardStream
    public var stderr: StandardStream
    /// An `O_DIRECTORY` descriptor of the cgroup to start in (`CLONE_INTO_CGROUP`).
    public var cgroupDirectoryFD: Int32?
    /// `PR_SET_PDEATHSIG`. Fires when the *spawning thread* exits: spawn from the
    /// long-lived event-loop thread only.
    public var parentDeathSignal: Int32?

    public init(
        executablePath: String, arguments: [String]? = nil, environment: [String] = [],
        workingDirectory: String? = nil, umask: UInt32? = nil, resourceLimits: [ProcessResourceLimit] = [],
        nice: Int32? = nil, cpuAffinity: [Int]? = nil, schedulingPolicy: Int32? = nil,
        schedulingPriority: Int32? = nil, oomScoreAdjust: Int32? = nil, userID: UInt32? = nil,
        groupID: UInt32? = nil, supplementaryGroups: [UInt32]? = nil,
        capabilityBoundingSet: UInt64? = nil, ambientCapabilities: UInt64? = nil,
        noNewPrivileges: Bool = false, ignoreSIGPIPE: Bool = false, stdin: StandardStream = .null,
        stdout: StandardStream = .inherit, stderr: StandardStream = .inherit,
        cgroupDirectoryFD: Int32? = nil, parentDeathSignal: Int32? = nil
    ) {
        self.executablePath = executablePath
        self.arguments = arguments ?? [executablePath]
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.umask = umask
        self.resourceLimits = resourceLimits
        self.nice = nice
        self.cpuAffinity = cpuAffinity
        self.schedulingPolicy = schedulingPolicy
        self.schedulingPriority = schedulingPriority
        self.oomScoreAdjust = oomScoreAdjust
        self.userID = userID
        self.groupID = groupID
        self.supplementaryGroups = supplementaryGroups
        self.capabilityBoundingSet = capabilityBoundingSet
        self.ambientCapabilities = ambientCapabilities
        self.noNewPrivileges = noNewPrivileges
        self.ignoreSIGPIPE = ignoreSIGPIPE
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.cgroupDirectoryFD = cgroupDirectoryFD
        self.parentDeathSignal = parentDeathSignal
    }
}

extension SpawnRequest {
    /// What error messages need of a request after the spawn call returned.
    struct Summary: Hashable, Sendable {
        var executablePath: String
        var workingDirectory: String?
        var cpuAffinity: [Int]?
        var schedulingPriority: Int32?
        var supplementaryGroups: [UInt32]?
        var hasCgroup: Bool

        init(_ request: SpawnRequest) {
            executablePath = request.executablePath
            workingDirectory = request.workingDirectory
            cpuAffinity = request.cpuAffinity
            schedulingPriority = request.schedulingPriority
            supplementaryGroups = request.supplementaryGroups
            hasCgroup = request.cgroupDirectoryFD != nil
        }
    }
}
