import CWardenShims
import Glibc
import WardenCore

/// The process table read from `/proc`, for supervisors without a cgroup to ask.
/// `procRoot` is a parameter so tests can point it at a seeded directory.
public enum ProcessTable {
    /// Every process visible in `procRoot`, by pid. Processes that vanish while the
    /// directory is read are skipped.
    public static func snapshot(procRoot: String = "/proc") -> [Int32: ProcessEntry] {
        var result: [Int32: ProcessEntry] = [:]
        guard let dir = opendir(procRoot) else { return result }
        defer { closedir(dir) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        while let entry = readdir(dir) {
            guard let pid = decimalName(entry) else { continue }
            guard let stat = readStat(pid, procRoot: procRoot, into: &buffer) else { continue }
            result[pid] = ProcessEntry(pid: pid, stat: stat)
        }
        return result
    }

    /// Whether `procRoot` shows this process's own PID namespace: `/proc/self` names the
    /// pid `getpid()` returns. Not so under `unshare --pid` without `--mount-proc`, or in
    /// a container given the host's /proc: every pid read there names another process.
    public static func showsOwnNamespace(procRoot: String = "/proc") -> Bool {
        var buffer = [CChar](repeating: 0, count: 32)
        let length = readlink(procRoot + "/self", &buffer, buffer.count - 1)
        guard length > 0 else { return false }
        let text = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int32(text) == getpid()
    }

    /// One process's entry (`/proc/PID/stat`), or nil when it is gone.
    public static func entry(of pid: Int32, procRoot: String = "/proc") -> ProcessEntry? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        return readStat(pid, procRoot: procRoot, into: &buffer).map { ProcessEntry(pid: pid, stat: $0) }
    }

    /// The processes of the subtrees below `roots`, each root included, found by
    /// following `/proc/PID/task/TID/children` down from the roots instead of reading
    /// every process of the host: for a supervisor whose components are a few of the
    /// host's processes, and whose check after a crash usually finds nothing below it,
    /// a few reads instead of three system calls per process on the host.
    ///
    /// Holds the same entries as `snapshot` would for these processes (what a walk up
    /// from any of them to a root needs). Processes that vanish while the tree is read
    /// are skipped; a process forked while its parent's list is read may be missed, as
    /// a process forked behind `snapshot`'s directory cursor is. Nil when the kernel has
    /// no `children` files (built without `CONFIG_PROC_CHILDREN`) or `procRoot` is a
    /// seeded directory without them: then use `snapshot`.
    public static func subtreeSnapshot(of roots: [Int32], procRoot: String = "/proc") -> [Int32: ProcessEntry]? {
        var result: [Int32: ProcessEntry] = [:]
        var buffer = [UInt8](repeating: 0, count: 1024)
        var pending = roots
        var sawChildrenFile = false
        while let pid = pending.popLast() {
            guard result[pid] == nil else { continue }
            guard let stat = readStat(pid, procRoot: procRoot, into: &buffer) else { continue }
            result[pid] = ProcessEntry(pid: pid, stat: stat)
            // Children hang off the thread that forked them (or inherited them), so every
            // thread's list is read; most processes have one thread, named like the process.
            let threads = stat.threads == 1 ? [pid] : taskIDs(of: pid, procRoot: procRoot)
            for thread in threads {
                guard let children = readChildren("\(procRoot)/\(pid)/task/\(thread)/children") else { continue }
                sawChildrenFile = true
                pending.append(contentsOf: children)
            }
        }
        // A live root always has a children file (empty when childless) on a kernel that
        // has them; none at all means the kernel (or the seeded directory) has none.
        return sawChildrenFile || result.isEmpty ? result : nil
    }

    /// The direct children of `pid` (from every thread's `children` file); nil when the
    /// kernel has no `children` files or the process is gone.
    public static func children(of pid: Int32, procRoot: String = "/proc") -> [Int32]? {
        var found: [Int32]?
        for thread in taskIDs(of: pid, procRoot: procRoot) {
            guard let children = readChildren("\(procRoot)/\(pid)/task/\(thread)/children") else { continue }
            found = (found ?? []) + children
        }
        return found
    }

    /// The thread ids in `/proc/PID/task`.
    static func taskIDs(of pid: Int32, procRoot: String) -> [Int32] {
        guard let dir = opendir("\(procRoot)/\(pid)/task") else { return [] }
        defer { closedir(dir) }
        var ids: [Int32] = []
        while let entry = readdir(dir) {
            if let id = decimalName(entry) { ids.append(id) }
        }
        return ids
    }

    /// The pids listed in a `children` file (space-separated); nil when it cannot be opened.
    static func readChildren(_ path: String) -> [Int32]? {
        let bytes: [UInt8]
        switch FileIO.read(path) {
        case .success(let read): bytes = read
        case .failure(let error) where error.operation == "open": return nil
        case .failure: bytes = []  // a task that ended while it was read: no children
        }
        var pids: [Int32] = []
        var value: Int32 = 0
        var digits = 0
        for byte in bytes {
            if byte >= 48 && byte <= 57 {
                value = value &* 10 &+ Int32(byte - 48)
                digits += 1
            } else if digits > 0 {
                pids.append(value)
                value = 0
                digits = 0
            }
        }
        if digits > 0 { pids.append(value) }
        return pids
    }

    /// The number a `/proc` directory entry is named by; nil for other names.
    static func decimalName(_ entry: UnsafeMutablePointer<dirent>) -> Int32? {
        withUnsafeBytes(of: entry.pointee.d_name) { raw in
            var value: Int32 = 0
            var digits = 0
            for byte in raw {
                if byte == 0 { break }
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value &* 10 &+ Int32(byte - 48)
                digits += 1
            }
            return digits > 0 ? value : nil
        }
    }

    /// `/proc/PID/stat` read into `buffer` and parsed; nil when the process is gone.
    static func readStat(_ pid: Int32, procRoot: String, into buffer: inout [UInt8]) -> ProcessStatFields? {
        guard let count = FileIO.read("\(procRoot)/\(pid)/stat", into: &buffer) else { return nil }
        return ProcessStatFields.parse(buffer[0..<count])
    }

    /// The initial environment of `pid` (`/proc/PID/environ`), one `NAME=value` each; nil
    /// when it cannot be read. The environment of a service is small; 16 MiB bounds a
    /// hostile one.
    public static func environmentVariables(of pid: Int32, procRoot: String = "/proc") -> [String]? {
        environmentEntries(of: pid, procRoot: procRoot)?.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether the initial environment of `pid` (`/proc/PID/environ`, what it was exec'd
    /// with) holds exactly `assignment` (`INVOCATION_ID=…`). False when unreadable, e.g.
    /// for a zombie or a process of another user when not root.
    public static func environment(of pid: Int32, contains assignment: String, procRoot: String = "/proc") -> Bool {
        let wanted = Array(assignment.utf8)
        return environmentEntries(of: pid, procRoot: procRoot)?.contains { $0.count == wanted.count && $0.elementsEqual(wanted) } ?? false
    }

    /// The value of `name` in the initial environment of `pid`, the first if it is there
    /// more than once (as `getenv` finds it); nil when it is not there or unreadable.
    public static func environmentValue(of pid: Int32, named name: String, procRoot: String = "/proc") -> String? {
        let prefix = Array(name.utf8) + [UInt8(ascii: "=")]
        guard let entries = environmentEntries(of: pid, procRoot: procRoot),
            let entry = entries.first(where: { $0.starts(with: prefix) })
        else { return nil }
        return String(decoding: entry.dropFirst(prefix.count), as: UTF8.self)
    }

    private static func environmentEntries(of pid: Int32, procRoot: String) -> [ArraySlice<UInt8>]? {
        guard let bytes = try? FileIO.read("\(procRoot)/\(pid)/environ", limit: LocalFileSystem.defaultMaximumBytes).get() else { return nil }
        return bytes.split(separator: 0, omittingEmptySubsequences: true)
    }

    /// A pidfd for `pid` (`pidfd_open`), close-on-exec.
    public static func openPidfd(_ pid: Int32) throws(ProcessControlError) -> Int32 {
        let fd = warden_pidfd_open(pid, 0)
        guard fd >= 0 else { throw ProcessControlError(operation: "pidfd_open(\(pid))", errno: errno) }
        return fd
    }

    /// Reaps `pid` if it is an exited child of this process (`waitid(P_PID, WNOHANG)`);
    /// nil when it is still running or not a child.
    public static func reapIfExited(_ pid: Int32) -> ExitStatus? {
        var code: Int32 = 0
        var status: Int32 = 0
        guard warden_wait_pid(pid, &code, &status) == 1 else { return nil }
        return ExitStatus(waitCode: code, status: status)
    }

    /// Sends `signal` to `pid` through a fresh pidfd, after checking that the pid still
    /// names the process that started at `startTime` (so a recycled pid is never hit).
    /// Returns false when the process is gone or is another one now.
    @discardableResult
    public static func signal(_ signal: Int32, pid: Int32, startTime: UInt64, procRoot: String = "/proc") -> Bool {
        guard let fd = try? openPidfd(pid) else { return false }
        defer { close(fd) }
        // The pidfd pins the process: if the start time still matches now, it is ours.
        guard ProcessControl.startTime(of: pid, procRoot: procRoot) == startTime else { return false }
        return (try? ProcessControl.sendSignal(signal, toPidfd: fd)) != nil
    }
}
