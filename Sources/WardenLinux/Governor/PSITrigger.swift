import Glibc
import WardenCore

/// Why a PSI trigger could not be set up: the runtime then samples every
/// `SampleIntervalSec=` instead, and says so with this text.
public struct PSIUnavailable: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var errno: Int32?

    public var description: String { "PSI trigger on \(path) not available here (\(reason))" }
}

/// A PSI trigger (`some <stall_us> <window_us>` written to a pressure file) watched by the
/// event loop: the kernel wakes the descriptor with `POLLPRI` when the stall over the
/// window reaches the threshold, at most once per window. Use from the loop thread;
/// `cancel()` before dropping it, or let `deinit` do it.
public final class PSITrigger {
    public let path: String
    public let stallUSec: UInt64
    /// The window in force; wider than asked when the kernel only allowed a multiple of 2 s.
    public let windowUSec: UInt64
    public let requestedWindowUSec: UInt64
    /// Set when the trigger differs from the request, for the log.
    public let note: String?

    private var fd: Int32
    private var registration: EventLoop.RegistrationID?
    private weak var loop: EventLoop?

    /// Linux 6.5+ lets processes without `CAP_SYS_RESOURCE` create triggers only with a window
    /// that is a multiple of 2 s (they share the 2-second averaging work instead of getting a
    /// real-time poller thread); others get EINVAL. Measured on the build host: Warden runs as
    /// root there but without CAP_SYS_RESOURCE, and `some 150000 1000000` fails, `some
    /// 300000 2000000` works.
    public static let unprivilegedWindowMultipleUSec: UInt64 = 2_000_000

    private init(path: String, fd: Int32, stallUSec: UInt64, windowUSec: UInt64, requestedWindowUSec: UInt64, note: String?) {
        self.path = path
        self.fd = fd
        self.stallUSec = stallUSec
        self.windowUSec = windowUSec
        self.requestedWindowUSec = requestedWindowUSec
        self.note = note
    }

    deinit { cancel() }

    /// Opens `path` (`/proc/pressure/cpu`, `…/trading-critical.slice/cpu.pressure`) read-write
    /// and non-blocking, writes `some <stallUSec> <windowUSec>`, and registers the descriptor
    /// on `loop` for `POLLPRI`. `onFire` runs on the loop thread each time the trigger fires;
    /// `onGone` once if the kernel reports an error on it (the cgroup was removed), after which
    /// the trigger is cancelled. With `widenWindowWhenUnprivileged`, a window the kernel refuses
    /// for want of `CAP_SYS_RESOURCE` is widened to the next multiple of 2 s, the stall scaled
    /// with it, and `note` says so.
    public static func register(
        path: String, stallUSec: UInt64, windowUSec: UInt64, on loop: EventLoop, widenWindowWhenUnprivileged: Bool = true,
        onFire: @escaping () -> Void, onGone: @escaping () -> Void = {}
    ) -> Result<PSITrigger, PSIUnavailable> {
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            return .failure(PSIUnavailable(path: path, reason: openFailure(code, path: path), errno: code))
        }
        var window = windowUSec
        var stall = stallUSec
        var note: String?
        var code = writeTrigger(fd, stall: stall, window: window)
        if code == EINVAL, widenWindowWhenUnprivileged, window % unprivilegedWindowMultipleUSec != 0 {
            let widened = (window / unprivilegedWindowMultipleUSec + 1) * unprivilegedWindowMultipleUSec
            let scaled = stall * widened / max(window, 1)
            if writeTrigger(fd, stall: scaled, window: widened) == 0 {
                note = "window widened from \(TimeSpan(usec: window).systemdString()) to \(TimeSpan(usec: widened).systemdString()) "
                    + "(without CAP_SYS_RESOURCE the kernel accepts only multiples of 2s; reaction takes up to one window longer)"
                window = widened
                stall = scaled
                code = 0
            }
        }
        guard code == 0 else {
            close(fd)
            return .failure(PSIUnavailable(path: path, reason: writeFailure(code, stall: stall, window: window), errno: code))
        }
        let trigger = PSITrigger(path: path, fd: fd, stallUSec: stall, windowUSec: window, requestedWindowUSec: windowUSec, note: note)
        do {
            trigger.registration = try loop.register(fd: fd, for: .priority) { [weak trigger] events in
                // A removed cgroup reports EPOLLERR (with EPOLLPRI): not a firing.
                if events.contains(.error) {
                    trigger?.cancel()
                    onGone()
                } else if events.contains(.priority) {
                    onFire()
                }
            }
            trigger.loop = loop
        } catch {
            return .failure(PSIUnavailable(path: path, reason: "cannot watch it: \(error)", errno: error.errno))
        }
        return .success(trigger)
    }

    /// Stops watching and closes the descriptor (which removes the trigger from the kernel).
    public func cancel() {
        if let registration, let loop { loop.unregister(registration) }
        registration = nil
        if fd >= 0 { close(fd) }
        fd = -1
    }

    public var isActive: Bool { fd >= 0 }

    private static func writeTrigger(_ fd: Int32, stall: UInt64, window: UInt64) -> Int32 {
        // The kernel takes the trigger in one write and wants it NUL-terminated or not; send the NUL as its docs do.
        var bytes = Array("some \(stall) \(window)".utf8CString).map { UInt8(bitPattern: $0) }
        let n = SystemCall.retryingInterrupts { bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) } }
        return n >= 0 ? 0 : errno
    }

    private static func openFailure(_ code: Int32, path: String) -> String {
        switch code {
        case ENOENT:
            path.hasPrefix("/proc/")
                ? "no such file: this kernel has no PSI (CONFIG_PSI=n or booted with psi=0)"
                : "no such file: no cgroup v2 pressure file there, or the group is gone"
        case EOPNOTSUPP: "PSI is disabled on this kernel (psi=0)"
        case EACCES, EPERM: "not writable for Warden: \(errnoDescription(code))"
        case EROFS: "read-only file system (a container's /proc or /sys mounted read-only)"
        default: "open: \(errnoDescription(code))"
        }
    }

    private static func writeFailure(_ code: Int32, stall: UInt64, window: UInt64) -> String {
        switch code {
        case EINVAL:
            "the kernel refused 'some \(stall) \(window)': the window must be 500ms to 10s (older kernels), "
                + "and a multiple of 2s without CAP_SYS_RESOURCE (Linux 6.5+)"
        case EOPNOTSUPP: "PSI is disabled on this kernel (psi=0)"
        case EPERM, EACCES: "the kernel refused the trigger: \(errnoDescription(code)) (needs CAP_SYS_RESOURCE)"
        default: "write: \(errnoDescription(code))"
        }
    }
}
