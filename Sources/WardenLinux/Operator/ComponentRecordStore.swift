import CWardenShims
import Glibc
import WardenCore

/// Reads and writes `STATE/components.records` (format: `ComponentRecordsFile`).
///
/// Every write replaces the whole file atomically: the new contents go to a temporary
/// file in the same directory, which is fsynced and renamed over the old one, and the
/// directory is fsynced, so a crash at any moment leaves either the old or the new
/// records, never a torn file. The file is small (one line per component).
public struct ComponentRecordStore: Sendable {
    public var stateDirectory: String

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public var path: String { stateDirectory + "/" + ComponentRecordsFile.fileName }

    /// The records, with a note per damaged line; no file means no records.
    public func load() -> (records: [ComponentRecord], problems: [String]) {
        guard access(path, F_OK) == 0 else { return ([], []) }
        guard let text = try? LocalFileSystem().readFile(path) else {
            return ([], ["\(path) cannot be read: \(errnoDescription(errno))"])
        }
        return ComponentRecordsFile.parse(text)
    }

    /// Replaces the file with `records`; an empty list removes it.
    public func save(_ records: [ComponentRecord]) throws(ProcessControlError) {
        guard !records.isEmpty else {
            try remove()
            return
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw ProcessControlError(operation: "open \(temporary)", errno: errno) }
        var bytes = Array(ComponentRecordsFile.render(records).utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temporary)
                throw ProcessControlError(operation: "write \(temporary)", errno: code)
            }
            offset += n
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            unlink(temporary)
            throw ProcessControlError(operation: "fsync \(temporary)", errno: code)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw ProcessControlError(operation: "rename \(temporary) to \(path)", errno: code)
        }
        syncDirectory()
    }

    /// Removes the file (a graceful shutdown leaves nothing to re-adopt).
    public func remove() throws(ProcessControlError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw ProcessControlError(operation: "unlink \(path)", errno: errno)
        }
        syncDirectory()
    }

    /// The rename (or unlink) is durable once the directory is.
    private func syncDirectory() {
        let fd = open(stateDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

/// A process looked at through a pidfd opened first: what /proc says about the PID
/// afterwards is about the process the pidfd holds, as long as the start time read
/// after opening matches the one the caller expects.
public enum PinnedProcess {
    /// Opens a pidfd for `pid`, then reads its `stat` and `cgroup`. nil when no process
    /// has the PID. The caller owns the descriptor.
    public static func observe(_ pid: Int32, procRoot: String = "/proc") -> (pidfd: Int32, observed: ObservedProcess)? {
        let fd = warden_pidfd_open(pid, 0)
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard let process = ProcScanner(procRoot: procRoot).process(pid, [.cgroup]) else {
            close(fd)
            return nil
        }
        return (fd, ObservedProcess(startTimeTicks: process.startTimeTicks, cgroup: process.cgroup, isZombie: process.hasExited))
    }

    /// The cgroup v2 path of `pid` (`0::` line of `/proc/PID/cgroup`).
    public static func cgroup(of pid: Int32, procRoot: String = "/proc") -> String? {
        ProcScanner(procRoot: procRoot).process(pid, [.cgroup])?.cgroup
    }

    /// Moves `pid` (its whole thread group) into the group open at `groupFD` by writing
    /// its `cgroup.procs`. Fails with EACCES/EPERM when the writer may not move the
    /// process out of its current group (cgroup v2 delegation: the common ancestor's
    /// `cgroup.procs` must be writable too), EBUSY/EOPNOTSUPP for a threaded or
    /// domain-invalid target, ESRCH when it exited.
    public static func moveIntoCgroup(_ pid: Int32, groupFD: Int32) throws(ProcessControlError) {
        let fd = openat(groupFD, "cgroup.procs", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ProcessControlError(operation: "open cgroup.procs", errno: errno) }
        defer { close(fd) }
        var text = Array(String(pid).utf8)
        let n = text.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == text.count else {
            throw ProcessControlError(operation: "write \(pid) to cgroup.procs", errno: n < 0 ? errno : EIO)
        }
    }
}
