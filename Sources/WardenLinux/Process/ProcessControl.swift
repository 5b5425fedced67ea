import CWardenShims
import Glibc
import WardenCore

/// Process-wide facts and actions of a supervisor: PID 1, subreaper, signals.
public enum ProcessControl {
    /// True when this process is PID 1 of its PID namespace (a container's init, or the
    /// VM's): orphans are then reparented to it and must be reaped by it.
    public static var isPID1: Bool { getpid() == 1 }

    /// `sched_yield`: lets a process just woken on this CPU run first.
    public static func yieldProcessor() { sched_yield() }

    /// Blocks the calling thread for the shortest sleep the kernel gives (a nanosecond,
    /// rounded up by the thread's timer slack, 50 µs by default), so that processes just
    /// signalled run before it goes on. A sleep gives the CPU away where `sched_yield`
    /// may not: the scheduler runs a woken process queued on this CPU at once, and an
    /// idle CPU takes over one that waits behind busy work on the other CPU, whereas a
    /// yield returns to the caller whenever the scheduler still picks it first.
    ///
    /// A rehearsal asks for an invalid sleep, which fails at once: it pays ahead for what
    /// the first real call would pay on the way to sleeping (this code and the C
    /// library's paged in, the dynamic loader binding `nanosleep`).
    public static func passProcessor(rehearsal: Bool = false) {
        var shortest = timespec(tv_sec: 0, tv_nsec: rehearsal ? -1 : 1)
        _ = nanosleep(&shortest, nil)
    }

    /// `PR_SET_CHILD_SUBREAPER`: orphaned descendants are reparented to this process
    /// instead of PID 1, so a service's double-forked daemons stay in reach.
    public static func setChildSubreaper(_ on: Bool = true) throws(ProcessControlError) {
        guard warden_set_child_subreaper(on ? 1 : 0) == 0 else {
            throw ProcessControlError(operation: "prctl(PR_SET_CHILD_SUBREAPER, \(on ? 1 : 0))", errno: errno)
        }
    }

    /// Whether `PR_SET_CHILD_SUBREAPER` is on for this process.
    public static var isChildSubreaper: Bool { warden_is_child_subreaper() == 1 }

    /// True when orphans end up here (PID 1 or subreaper): the supervisor must reap them.
    public static var receivesOrphans: Bool { isPID1 || isChildSubreaper }

    /// Signals a process through its pidfd, so a recycled PID is never hit.
    /// Signalling a process that has exited but is not reaped yet is not an error.
    public static func sendSignal(_ signal: Int32, toPidfd pidfd: Int32) throws(ProcessControlError) {
        guard warden_pidfd_send_signal(pidfd, signal) == 0 else {
            if errno == ESRCH { return }
            throw ProcessControlError(operation: "pidfd_send_signal(\(signalName(signal)))", errno: errno)
        }
    }

    /// `kill(-pgid, signal)`: every process of a process group (a spawned process leads
    /// its own session and group, so its pid is its group id). A group that is already
    /// empty is not an error. Group ids 0 and 1 are refused with EINVAL: `kill(0)` would
    /// hit the supervisor's own group, and `kill(-1)` every process it may signal.
    public static func killProcessGroup(_ processGroupID: Int32, signal: Int32) throws(ProcessControlError) {
        guard processGroupID > 1 else {
            throw ProcessControlError(operation: "kill(-\(processGroupID), \(signalName(signal))) refused", errno: EINVAL)
        }
        guard Glibc.kill(-processGroupID, signal) == 0 else {
            if errno == ESRCH { return }
            throw ProcessControlError(
                operation: "kill(-\(processGroupID), \(signalName(signal)))", errno: errno)
        }
    }

    /// The start time of a process in clock ticks since boot (field 22 of
    /// `/proc/PID/stat`). With the pid it identifies one process across PID reuse, e.g.
    /// to check that a PIDFile= still names the process that wrote it.
    /// `procRoot` is a parameter so tests can point it at a seeded directory.
    public static func startTime(of pid: Int32, procRoot: String = "/proc") -> UInt64? {
        // Read into a stack buffer and parsed as bytes, with no allocation: this runs at
        // every spawn (the re-adoption record) and for each process a stop signals. Field
        // 22 lies well within the first 1 KiB (the name is at most 64 bytes).
        withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 1) { buffer -> UInt64? in
            guard let count = FileIO.read("\(procRoot)/\(pid)/stat", into: buffer) else { return nil }
            return ProcessStatFields.parse(UnsafeRawBufferPointer(rebasing: buffer[..<count]))?.startTicks
        }
    }

    /// `SIGTERM` for 15, or `signal 99`.
    public static func signalName(_ signal: Int32) -> String {
        guard let text = warden_signal_abbrev(signal) else { return "signal \(signal)" }
        return "SIG" + String(cString: text)
    }
}
