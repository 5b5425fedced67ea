import CWardenShims
import Glibc
import WardenCore

/// A process held by a pidfd whose identity (PID + start time) was verified after the
/// pidfd was opened. Signals go through the pidfd, so once verified, the handle can
/// never hit another process, even if the PID is recycled meanwhile.
public final class VerifiedProcess {
    public let identity: ProcessIdentity
    /// Owned; closed on deinit.
    public let pidfd: Int32

    private init(identity: ProcessIdentity, pidfd: Int32) {
        self.identity = identity
        self.pidfd = pidfd
    }

    deinit { close(pidfd) }

    /// Why a process could not be opened.
    public enum OpenFailure: Error, Hashable, Sendable {
        /// No process has the PID any more.
        case gone
        /// The PID names a process with another start time: it was recycled.
        case identityChanged(foundStartTimeTicks: UInt64)
        case failed(ProcessControlError)
    }

    /// Opens a pidfd for `identity.pid`, then reads the start time of the PID. The order
    /// matters: the start time is checked *after* the pidfd exists, so a match proves the
    /// pidfd names the process that was seen in the scan (a recycled PID would show a
    /// different start time, and a process exiting in between shows none).
    public static func open(_ identity: ProcessIdentity, procRoot: String = "/proc") -> Result<VerifiedProcess, OpenFailure> {
        let fd = warden_pidfd_open(identity.pid, 0)
        guard fd >= 0 else {
            let code = errno
            if code == ESRCH { return .failure(.gone) }
            return .failure(.failed(ProcessControlError(operation: "pidfd_open(\(identity.pid))", errno: code)))
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard let found = ProcessControl.startTime(of: identity.pid, procRoot: procRoot) else {
            close(fd)
            return .failure(.gone)
        }
        guard found == identity.startTimeTicks else {
            close(fd)
            return .failure(.identityChanged(foundStartTimeTicks: found))
        }
        return .success(VerifiedProcess(identity: identity, pidfd: fd))
    }

    /// `pidfd_send_signal`. Returns 0, or the errno (`ESRCH` once the process has exited
    /// and been reaped; the pidfd then names nothing, never a newcomer with the same PID).
    public func signal(_ number: Int32) -> Int32 {
        warden_pidfd_send_signal(pidfd, number) == 0 ? 0 : errno
    }

    /// Whether the process has exited (the pidfd is readable then), waiting up to `timeout`.
    public func waitForExit(timeout: TimeSpan) -> Bool {
        let deadline = monotonicMicroseconds() + (timeout.isInfinite ? UInt64(Int32.max) * 1000 : timeout.usec)
        return SystemCall.poll(pidfd, events: Int16(POLLIN), untilMonotonicMicroseconds: deadline) > 0
    }
}
