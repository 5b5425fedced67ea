import CWardenShims
import Glibc
import WardenCore

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
