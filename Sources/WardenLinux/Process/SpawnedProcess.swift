import CWardenShims
import Glibc
import WardenCore

/// A started process: it has already exec'd. The pidfd is close-on-exec and owned by
/// the caller (`EventLoop.watchExit` closes it after the exit was delivered).
public struct SpawnedProcess: Hashable, Sendable {
    public var pid: Int32
    public var pidfd: Int32

    public init(pid: Int32, pidfd: Int32) {
        self.pid = pid
        self.pidfd = pidfd
    }
}

/// Why a process could not be started: the step that failed in the child (or the
/// parent) and its errno. The child never ran the program.
public struct SpawnError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being done: `setrlimit(RLIMIT_NOFILE)`, `execve /usr/bin/x`, `chdir /srv`.
    public var step: String
    public var errno: Int32

    public init(step: String, errno: Int32) {
        self.step = step
        self.errno = errno
    }

    public var description: String { "\(step): \(errnoDescription(errno)) (errno \(errno))" }
}

/// Starts a process as `request` describes. Returns once the child has exec'd; a failure
/// anywhere before `execve` (including `execve` itself) throws with the failing step.
///
/// Without a cgroup this is `clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD)` on a private stack
/// (the fastest measured path, about 0.5 ms round trip). With `cgroupDirectoryFD` it is
/// `clone3(CLONE_INTO_CGROUP|CLONE_PIDFD)`, so the child never runs outside its cgroup;
/// on kernels without clone3 the child writes itself into `cgroup.procs` first.
public func spawnProcess(_ request: SpawnRequest) throws(SpawnError) -> SpawnedProcess {
    try spawnProcess(request, forkStyle: false)
}

/// `forkStyle` takes the clone3 path (the one used with a cgroup) without a cgroup, so
/// host tests cover it without touching the host's cgroups.
func spawnProcess(_ request: SpawnRequest, forkStyle: Bool) throws(SpawnError) -> SpawnedProcess {
    let result = try startSpawn(request, forkStyle: forkStyle, gated: false)
    return SpawnedProcess(pid: result.pid, pidfd: result.pidfd)
}

func startSpawn(_ request: SpawnRequest, forkStyle: Bool, gated: Bool) throws(SpawnError) -> warden_spawn_result {
    var owned: [UnsafeMutablePointer<CChar>] = []
    defer { owned.forEach { free($0) } }
    func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
        let pointer = strdup(s)!
        owned.append(pointer)
        return pointer
    }
    let path = cString(request.executablePath)
    let argv: [UnsafeMutablePointer<CChar>?] = request.arguments.map { cString($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = request.environment.map { cString($0) } + [nil]
    let directory = request.workingDirectory.map { cString($0) }
    let limits = request.resourceLimits.map {
        warden_spawn_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard)
    }
    let cpus = (request.cpuAffinity ?? []).map { Int32(truncatingIfNeeded: $0) }
    let groups: [gid_t] = request.supplementaryGroups ?? []
    if request.cpuAffinity?.isEmpty == true {
        throw SpawnError(step: "sched_setaffinity (empty CPU list)", errno: EINVAL)
    }

    func stdio(_ stream: StandardStream) -> Int32 {
        switch stream {
        case .inherit: WARDEN_SPAWN_STDIO_INHERIT
        case .null: WARDEN_SPAWN_STDIO_NULL
        case .fd(let fd): fd
        }
    }

    var config = warden_spawn_config()
    config.path = UnsafePointer(path)
    config.working_directory = directory.map { UnsafePointer($0) }
    config.stdio = (stdio(request.stdin), stdio(request.stdout), stdio(request.stderr))
    if let mask = request.umask {
        config.set_umask = 1
        config.umask = mask
    }
    if let nice = request.nice {
        config.set_nice = 1
        config.nice = nice
    }
    if request.schedulingPolicy != nil || request.schedulingPriority != nil {
        config.set_scheduler = 1
        config.scheduling_policy = request.schedulingPolicy ?? SCHED_OTHER
        config.scheduling_priority = request.schedulingPriority ?? 0
    }
    if let oom = request.oomScoreAdjust {
        config.set_oom_score_adjust = 1
        config.oom_score_adjust = oom
    }
    if let bounding = request.capabilityBoundingSet {
        config.set_bounding_set = 1
        config.bounding_set = bounding
    }
    if let ambient = request.ambientCapabilities {
        config.set_ambient = 1
        config.ambient = ambient
    }
    if request.supplementaryGroups != nil || request.userID != nil || request.groupID != nil {
        config.set_groups = 1
        config.group_count = Int32(groups.count)
    }
    if let gid = request.groupID {
        config.set_gid = 1
        config.gid = gid
    }
    if let uid = request.userID {
        config.set_uid = 1
        config.uid = uid
    }
    config.no_new_privileges = request.noNewPrivileges ? 1 : 0
    config.ignore_sigpipe = request.ignoreSIGPIPE ? 1 : 0
    config.parent_death_signal = request.parentDeathSignal ?? 0
    config.cgroup_fd = request.cgroupDirectoryFD ?? -1
    config.last_capability = Int32(Capabilities.lastSupportedCapability)
    config.fork_style = forkStyle ? 1 : 0
    config.gated = gated ? 1 : 0
    config.rlimit_count = Int32(limits.count)
    config.cpu_count = Int32(cpus.count)

    var result = warden_spawn_result()
    let rc = argv.withUnsafeBufferPointer { argvBuffer in
        envp.withUnsafeBufferPointer { envpBuffer in
            limits.withUnsafeBufferPointer { limitsBuffer in
                cpus.withUnsafeBufferPointer { cpusBuffer in
                    groups.withUnsafeBufferPointer { groupsBuffer in
                        config.argv = argvBuffer.baseAddress
                        config.envp = envpBuffer.baseAddress
                        config.rlimits = limitsBuffer.baseAddress
                        config.cpus = cpusBuffer.baseAddress
                        config.groups = groupsBuffer.baseAddress
                        return warden_spawn(&config, &result)
                    }
                }
            }
        }
    }
    guard rc == 0 else {
        throw SpawnError(step: spawnStepName(result, SpawnRequest.Summary(request)), errno: result.error)
    }
    return result
}

func spawnStepName(_ result: warden_spawn_result, _ request: SpawnRequest.Summary) -> String {
    let detail = result.detail
    switch Int(result.step) {
    case Int(WARDEN_SPAWN_STEP_PIPE): return "pipe2 (error pipe)"
    case Int(WARDEN_SPAWN_STEP_STACK): return "mmap (child stack)"
    case Int(WARDEN_SPAWN_STEP_CLONE): return "clone"
    case Int(WARDEN_SPAWN_STEP_CLONE3):
        return request.hasCgroup ? "clone3(CLONE_INTO_CGROUP)" : "clone3"
    case Int(WARDEN_SPAWN_STEP_CGROUP_JOIN): return "write cgroup.procs"
    case Int(WARDEN_SPAWN_STEP_SETSID): return "setsid"
    case Int(WARDEN_SPAWN_STEP_SIGNALS): return "sigprocmask"
    case Int(WARDEN_SPAWN_STEP_STDIO): return "dup2 \(["stdin", "stdout", "stderr"][Int(detail) % 3])"
    case Int(WARDEN_SPAWN_STEP_CHDIR): return "chdir \(request.workingDirectory ?? "")"
    case Int(WARDEN_SPAWN_STEP_RLIMIT): return "setrlimit(\(ProcessResourceLimit.name(of: detail)))"
    case Int(WARDEN_SPAWN_STEP_NICE): return "setpriority(nice \(detail))"
    case Int(WARDEN_SPAWN_STEP_AFFINITY): return "sched_setaffinity \(request.cpuAffinity ?? [])"
    case Int(WARDEN_SPAWN_STEP_SCHEDULER):
        return "sched_setscheduler(policy \(detail), priority \(request.schedulingPriority ?? 0))"
    case Int(WARDEN_SPAWN_STEP_OOM_SCORE_ADJ): return "write /proc/self/oom_score_adj \(detail)"
    case Int(WARDEN_SPAWN_STEP_BOUNDING_SET): return "prctl(PR_CAPBSET_DROP, \(Capabilities.name(of: Int(detail))))"
    case Int(WARDEN_SPAWN_STEP_SETGROUPS): return "setgroups \(request.supplementaryGroups ?? [])"
    case Int(WARDEN_SPAWN_STEP_SETGID): return "setresgid \(UInt32(bitPattern: detail))"
    case Int(WARDEN_SPAWN_STEP_KEEPCAPS): return "prctl(PR_SET_KEEPCAPS)"
    case Int(WARDEN_SPAWN_STEP_SETUID): return "setresuid \(UInt32(bitPattern: detail))"
    case Int(WARDEN_SPAWN_STEP_CAPSET): return "capset"
    case Int(WARDEN_SPAWN_STEP_AMBIENT): return "prctl(PR_CAP_AMBIENT_RAISE, \(Capabilities.name(of: Int(detail))))"
    case Int(WARDEN_SPAWN_STEP_NO_NEW_PRIVS): return "prctl(PR_SET_NO_NEW_PRIVS)"
    case Int(WARDEN_SPAWN_STEP_PARENT_DEATH_SIGNAL): return "prctl(PR_SET_PDEATHSIG, \(detail))"
    case Int(WARDEN_SPAWN_STEP_EXECVE): return "execve \(request.executablePath)"
    case Int(WARDEN_SPAWN_STEP_GATE): return "waiting for placement (the gate was closed, not opened)"
    default: return "spawn step \(result.step)"
    }
}

extension SpawnedProcess {
    /// Waits until the process ends, reaps it and closes its pidfd: for a helper command
    /// run to completion. The errno when it cannot be waited for.
    public func waitForExit() -> Result<ExitStatus, SystemCallError> {
        defer { close(pidfd) }
        var code: Int32 = 0
        var status: Int32 = 0
        var reaped: pid_t = 0
        guard SystemCall.retryingInterrupts({ warden_wait_pidfd(pidfd, 0, &code, &status, &reaped) }) == 0 else {
            return .failure(.last("waitid", "pid \(pid)"))
        }
        return .success(ExitStatus(waitCode: code, status: status))
    }
}
