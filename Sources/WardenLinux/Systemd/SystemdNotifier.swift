import CSystemd
import Glibc
import WardenCore

/// Warden's own `sd_notify(3)` client: how systemd learns that Warden is ready, what it
/// is doing, that its loop is alive, and that it is reloading or stopping.
///
/// Everything goes through libsystemd's `sd_notify`, which reads `$NOTIFY_SOCKET`
/// at each call. When the variable is absent (Warden not started by systemd, or with a
/// `Type=` other than notify) every call is a no-op, and libsystemd is never loaded;
/// `isActive` and `inactiveReason` say so, once, for the start-up banner.
///
/// The watchdog is deliberately not driven from here: `WATCHDOG=1` must come from the
/// event loop itself, so that a hung loop stops the pings and systemd restarts Warden
/// (a timer thread that keeps pinging would hide the hang). The runtime schedules a
/// loop timer every `watchdogPingInterval` and calls `watchdog()` from it.
public struct SystemdNotifier: Sendable {
    /// One state assignment of the notify protocol (`sd_notify(3)`, "Well-known
    /// assignments"). Rendered as `KEY=value` lines.
    public enum Assignment: Hashable, Sendable {
        /// `READY=1`: start-up (or a reload) finished.
        case ready
        /// `STATUS=…`: one line for `systemctl status`. Newlines are replaced by spaces,
        /// because a newline would end the assignment.
        case status(String)
        /// `WATCHDOG=1`: the loop is alive.
        case watchdog
        /// `RELOADING=1`: a reload started. Always sent with `monotonicUSec`, which
        /// systemd 253+ requires for `Type=notify-reload` and 252 ignores.
        case reloading
        /// `MONOTONIC_USEC=…`: `CLOCK_MONOTONIC` when the reload started.
        case monotonicUSec(UInt64)
        /// `STOPPING=1`: shutdown started.
        case stopping
        /// `EXTEND_TIMEOUT_USEC=…`: the current start/stop/reload job needs this much
        /// longer, counted from now (not added to the configured timeout).
        case extendTimeoutUSec(UInt64)
        /// `MAINPID=…`: the main process (for a re-executed Warden).
        case mainPID(Int32)
        /// `ERRNO=…`: why a start failed, shown by `systemctl status`.
        case errno(Int32)

        /// The protocol line, without the trailing newline.
        public var line: String {
            switch self {
            case .ready: "READY=1"
            case .status(let text): "STATUS=" + String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
            case .watchdog: "WATCHDOG=1"
            case .reloading: "RELOADING=1"
            case .monotonicUSec(let usec): "MONOTONIC_USEC=\(usec)"
            case .stopping: "STOPPING=1"
            case .extendTimeoutUSec(let usec): "EXTEND_TIMEOUT_USEC=\(usec)"
            case .mainPID(let pid): "MAINPID=\(pid)"
            case .errno(let code): "ERRNO=\(code)"
            }
        }
    }

    /// A notification systemd's socket refused (`sd_notify` < 0).
    public struct SendError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The message that was being sent.
        public var message: String
        public var socket: String
        public var errno: Int32

        public var description: String {
            "sd_notify to \(socket) failed for \(message.split(separator: "\n").joined(separator: " ")): "
                + ((errno == ELIBACC ? SystemdLibrary.loadError : nil) ?? String(cString: strerror(errno)))
        }
    }

    /// `$NOTIFY_SOCKET` when this notifier was made; nil: every call is a no-op.
    public let socket: String?
    /// `WatchdogSec=` of Warden's own unit, when systemd enabled the watchdog for this
    /// process (`sd_watchdog_enabled`: `$WATCHDOG_USEC` set and `$WATCHDOG_PID` absent
    /// or ours).
    public let watchdogInterval: TimeSpan?

    /// Reads `$NOTIFY_SOCKET` and the watchdog variables of this process. Leaves them in
    /// the environment: children's environments are built explicitly by the spawner.
    public init() {
        if let value = getenv("NOTIFY_SOCKET"), value.pointee != 0 {
            socket = String(cString: value)
        } else {
            socket = nil
        }
        var usec: UInt64 = 0
        let enabled = warden_sd_watchdog_enabled(0, &usec)
        watchdogInterval = enabled > 0 && usec > 0 ? TimeSpan(usec: usec) : nil
    }

    /// A notifier with the given view of the environment, for tests of the pure parts.
    init(socket: String?, watchdogInterval: TimeSpan?) {
        self.socket = socket
        self.watchdogInterval = watchdogInterval
    }

    /// Whether notifications go anywhere.
    public var isActive: Bool { socket != nil }

    /// Why every call is a no-op, for the start-up banner; nil when active.
    public var inactiveReason: String? {
        socket == nil
            ? "sd_notify off: $NOTIFY_SOCKET is not set (not started by systemd as Type=notify)" : nil
    }

    /// How often the loop should send `WATCHDOG=1`: half of `WatchdogSec=`, as
    /// `sd_watchdog_enabled(3)` recommends, so one late tick does not kill Warden.
    public var watchdogPingInterval: TimeSpan? {
        watchdogInterval.map { TimeSpan(usec: max($0.usec / 2, 1)) }
    }

    /// Sends the assignments in one datagram. Returns false when inactive (nothing was
    /// sent); throws when the socket refused it.
    @discardableResult
    public func send(_ assignments: [Assignment]) throws(SendError) -> Bool {
        guard let socket, !assignments.isEmpty else { return false }
        let message = assignments.map(\.line).joined(separator: "\n")
        let result = warden_sd_notify(0, message)
        if result < 0 { throw SendError(message: message, socket: socket, errno: -result) }
        return result > 0
    }

    /// `READY=1`, with the status line when given.
    @discardableResult
    public func ready(status: String? = nil) throws(SendError) -> Bool {
        try send([.ready] + (status.map { [.status($0)] } ?? []))
    }

    /// `STATUS=…`, e.g. `6/6 running, governor normal`.
    @discardableResult
    public func status(_ text: String) throws(SendError) -> Bool { try send([.status(text)]) }

    /// `WATCHDOG=1`. Call from the event loop, every `watchdogPingInterval`.
    @discardableResult
    public func watchdog() throws(SendError) -> Bool { try send([.watchdog]) }

    /// `RELOADING=1` + `MONOTONIC_USEC=` now. Send `ready()` when the reload finished.
    @discardableResult
    public func reloading(status: String? = nil) throws(SendError) -> Bool {
        try send([.reloading, .monotonicUSec(Self.monotonicNowUSec())] + (status.map { [.status($0)] } ?? []))
    }

    /// `STOPPING=1`, with the status line when given.
    @discardableResult
    public func stopping(status: String? = nil) throws(SendError) -> Bool {
        try send([.stopping] + (status.map { [.status($0)] } ?? []))
    }

    /// `EXTEND_TIMEOUT_USEC=`: the running stop (or start, reload) needs `span`
    /// more from now. Send it while a long graceful stop is still making progress.
    @discardableResult
    public func extendTimeout(by span: TimeSpan) throws(SendError) -> Bool {
        try send([.extendTimeoutUSec(span.usec)])
    }

    /// `CLOCK_MONOTONIC` in microseconds, the clock `MONOTONIC_USEC=` is read against.
    public static func monotonicNowUSec() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
