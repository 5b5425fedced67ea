/// One process as a `/proc` scan saw it. Filled by the effects layer (`ProcScanner`);
/// every decision about processes (duplicates, top lists, recommendations) takes these.
public struct ScannedProcess: Hashable, Sendable {
    public var pid: Int32
    public var parentPID: Int32
    /// `comm`, field 2 of `/proc/PID/stat` (at most 15 bytes, set by the process).
    public var name: String
    /// The target of `/proc/PID/exe`, without the kernel's ` (deleted)` suffix; nil for
    /// kernel threads and when the link is not readable (another user's process, non-root).
    public var executable: String?
    /// The file `/proc/PID/exe` leads to, by device and inode: the same program whatever
    /// path started it, and told apart from a new file installed under the same path. Nil
    /// unless the scan asked for it, and when it cannot be read.
    public var executableFile: FileIdentity?
    /// True when the kernel marked the executable ` (deleted)`: the file was replaced
    /// (an upgrade) while this copy kept running the old one.
    public var executableDeleted: Bool
    /// `/proc/PID/cmdline` split at its NULs: argv as the process currently shows it.
    public var arguments: [String]
    /// The cgroup v2 path (the `0::` line of `/proc/PID/cgroup`), nil without cgroup v2.
    public var cgroup: String?
    /// Field 22 of `/proc/PID/stat`, clock ticks since boot. With the PID it names one
    /// process across PID reuse.
    public var startTimeTicks: UInt64
    /// Real user id (first field of `Uid:` in `/proc/PID/status`).
    public var uid: UInt32?
    /// One letter: `R` running, `S` sleeping, `D` disk wait, `Z` zombie, `T` stopped, …
    public var state: Character
    /// `utime + stime` in clock ticks (fields 14 and 15).
    public var cpuTicks: UInt64
    /// Resident set size (field 24, pages × page size).
    public var rssBytes: UInt64

    public init(
        pid: Int32, parentPID: Int32, name: String, executable: String?, executableDeleted: Bool = false,
        arguments: [String], cgroup: String?, startTimeTicks: UInt64, uid: UInt32?, state: Character,
        cpuTicks: UInt64, rssBytes: UInt64, executableFile: FileIdentity? = nil
    ) {
        self.pid = pid
        self.parentPID = parentPID
        self.name = name
        self.executable = executable
        self.executableDeleted = executableDeleted
        self.arguments = arguments
        self.cgroup = cgroup
        self.startTimeTicks = startTimeTicks
        self.uid = uid
        self.state = state
        self.cpuTicks = cpuTicks
        self.rssBytes = rssBytes
        self.executableFile = executableFile
    }

    /// What a kill must re-verify before signalling: the PID and its start time.
    public var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTimeTicks: startTimeTicks) }

    /// The command line for people and for `pattern:` matching: argv joined by single
    /// spaces; `[name]` for a process without one (kernel thread, zombie), as `ps` shows it.
    public var commandLine: String {
        arguments.isEmpty ? "[\(name)]" : CommandLinePattern.commandLine(arguments: arguments)
    }

    /// Kernel threads have no executable and no command line.
    public var isKernelThread: Bool { executable == nil && arguments.isEmpty }

    /// Zombies (`Z`) and dead tasks (`X`) run nothing: they are never a copy of anything.
    public var hasExited: Bool { state == "Z" || state == "X" }
}

/// One process across PID reuse: the PID and its start time in clock ticks since boot.
public struct ProcessIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public var pid: Int32
    public var startTimeTicks: UInt64

    public init(pid: Int32, startTimeTicks: UInt64) {
        self.pid = pid
        self.startTimeTicks = startTimeTicks
    }

    public var description: String { "PID \(pid) (started at tick \(startTimeTicks))" }
}

/// The processes that are Warden's: its own PIDs (the daemon, the command being run) with
/// all their descendants, and every process in one of its cgroups (or beneath it).
/// Such processes are never duplicates and never signalled by `warden duplicates --kill`.
public struct WardenProcesses: Hashable, Sendable {
    public var pids: Set<Int32>
    /// cgroup v2 paths (`/warden.service`); a process in one of them or below is Warden's.
    public var cgroups: [String]

    public init(pids: Set<Int32> = [], cgroups: [String] = []) {
        self.pids = pids
        self.cgroups = cgroups
    }

    /// Every PID of `processes` that is Warden's: the given PIDs, their descendants
    /// (through `parentPID`), and processes in Warden's cgroups.
    public func members(of processes: [ScannedProcess]) -> Set<Int32> {
        var children: [Int32: [Int32]] = [:]
        var pending = Array(pids)
        for process in processes {
            children[process.parentPID, default: []].append(process.pid)
            if let cgroup = process.cgroup, isWardenCgroup(cgroup) { pending.append(process.pid) }
        }
        var owned = Set<Int32>()
        while let pid = pending.popLast() {
            guard owned.insert(pid).inserted else { continue }
            pending += children[pid] ?? []
        }
        return owned
    }

    public func isWardenCgroup(_ path: String) -> Bool {
        cgroups.contains { prefix in
            prefix == "/" ? true : path == prefix || path.hasPrefix(prefix + "/")
        }
    }
}
