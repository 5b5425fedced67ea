import CWardenShims
import Glibc
import WardenCore

/// The supervisor's end of `$NOTIFY_SOCKET`: an `AF_UNIX` datagram socket with
/// `SO_PASSCRED`, so every message arrives with the sender's pid as the kernel saw it
/// (a child cannot claim to be another). Messages are parsed into `NotifyMessage` and
/// handed, with the pid, to a handler on the event loop; the runtime decides whether the
/// pid may speak for a component (`NotifyAccess=`).
///
/// Refused datagrams (too large, carrying descriptors, NUL bytes, invalid UTF-8) go to
/// the `refused` handler with the reason; descriptors are closed on arrival.
public final class NotifySocket: @unchecked Sendable {
    /// One accepted notification.
    public struct Notification: Sendable {
        public var senderPID: Int32
        public var senderUID: UInt32
        public var message: NotifyMessage
    }

    /// Why a datagram was dropped.
    public enum Refusal: Hashable, Sendable, CustomStringConvertible {
        /// Longer than `maximumDatagramBytes`.
        case oversized(bytes: Int)
        /// It carried descriptors (`FDSTORE=`); Warden keeps no store, they were closed.
        case passedDescriptors(count: Int)
        case unparsable(NotifyMessage.RefusalReason)

        public var description: String {
            switch self {
            case .oversized(let bytes): "datagram of \(bytes) bytes is too large"
            case .passedDescriptors(let count): "\(count) passed descriptor(s), closed"
            case .unparsable(.embeddedNUL): "embedded NUL byte"
            case .unparsable(.invalidUTF8): "not valid UTF-8"
            }
        }
    }

    /// systemd reads notifications into a buffer of this size (`NOTIFY_BUFFER_MAX`).
    public static let defaultMaximumDatagramBytes = 4096

    /// Where it is bound: a path, or `@name` in the abstract namespace. This is the
    /// value for the children's `NOTIFY_SOCKET=`.
    public let path: String
    public let fd: Int32
    public let maximumDatagramBytes: Int
    private let loop: EventLoop
    private var registration: EventLoop.RegistrationID?
    private var buffer: [UInt8]

    /// Binds the socket (a stale file at `path` is replaced) and starts delivering on
    /// `loop`. A path socket is made writable by everyone (`0666`), as systemd's own is:
    /// services run as other users, and who may speak for a component is decided by
    /// the sender pid, not by file permissions. The directory's mode still applies.
    ///
    /// `admits` is asked first, with the kernel's credentials only: a datagram from a
    /// sender it turns away is dropped before anything is parsed, so that a flood from
    /// outside the stack costs a receive and a lookup per datagram.
    public init(
        path: String, loop: EventLoop, maximumDatagramBytes: Int = NotifySocket.defaultMaximumDatagramBytes,
        admits: @escaping (_ senderPID: Int32, _ senderUID: UInt32) -> Bool = { _, _ in true },
        handler: @escaping (Notification) -> Void,
        refused: @escaping (_ senderPID: Int32, _ reason: Refusal) -> Void = { _, _ in }
    ) throws(ProcessControlError) {
        if !path.hasPrefix("@") { unlink(path) }
        let fd = warden_notify_socket_bind(path)
        guard fd >= 0 else { throw ProcessControlError(operation: "bind notify socket \(path)", errno: errno) }
        if !path.hasPrefix("@") && chmod(path, 0o666) != 0 {
            let code = errno
            Glibc.close(fd)
            throw ProcessControlError(operation: "chmod 0666 \(path)", errno: code)
        }
        self.fd = fd
        self.path = path
        self.loop = loop
        self.maximumDatagramBytes = maximumDatagramBytes
        // One byte more than accepted per datagram, so an oversized one is seen as such;
        // room for a whole burst.
        self.buffer = [UInt8](repeating: 0, count: (maximumDatagramBytes + 1) * Self.burst)
        self.deliver = { [unowned self] in self.receiveAll(admits: admits, handler: handler, refused: refused) }
        do {
            try watch()
        } catch {
            Glibc.close(fd)
            if !path.hasPrefix("@") { unlink(path) }
            throw error
        }
    }

    private var deliver: () -> Void = {}
    private var pauseTimer: EventLoop.TimerID?
    private var closed = false

    private func watch() throws(EventLoop.Error) {
        registration = try loop.register(fd: fd, for: .readable) { [unowned self] _ in self.deliver() }
    }

    /// A burst that held nothing but datagrams `admits` turned away is a sign of a flood
    /// from outside the stack: the socket is not read for `floodPause`. Its queue (10
    /// datagrams by default, `net.unix.max_dgram_qlen`) fills and the flooding senders
    /// block in their sends (or fail with EAGAIN) instead of taking a CPU at Warden's
    /// pace; a component's own notification waits behind them for a few pauses at most.
    /// A burst with one admitted datagram in it does not pause.
    private func pauseForFlood() {
        guard let registration, pauseTimer == nil else { return }
        loop.unregister(registration)
        self.registration = nil
        pauseTimer = loop.addTimer(after: Self.floodPause) { [unowned self] in
            self.pauseTimer = nil
            guard !self.closed else { return }
            try? self.watch()
        }
    }

    /// How long a flood of strangers' datagrams keeps the socket unread.
    public static let floodPause = TimeSpan.milliseconds(5)

    /// Stops delivery, closes the socket and removes a path socket's file.
    public func close() {
        closed = true
        if let registration { loop.unregister(registration) }
        registration = nil
        if let pauseTimer { loop.cancelTimer(pauseTimer) }
        pauseTimer = nil
        Glibc.close(fd)
        if !path.hasPrefix("@") { unlink(path) }
    }

    private func receiveAll(admits: (Int32, UInt32) -> Bool, handler: (Notification) -> Void, refused: (Int32, Refusal) -> Void) {
        // One burst per wakeup, taken with one recvmmsg: a flooding sender cannot starve
        // the rest of the loop (level-triggered epoll brings us back for the remainder),
        // and costs one system call per burst rather than per datagram.
        let capacity = maximumDatagramBytes + 1
        var datagrams = [warden_notify_datagram](repeating: warden_notify_datagram(), count: Self.burst)
        let received = buffer.withUnsafeMutableBytes { bytes in
            datagrams.withUnsafeMutableBufferPointer {
                warden_notify_receive_batch(fd, bytes.baseAddress, capacity, Int32(Self.burst), $0.baseAddress)
            }
        }
        guard received > 0 else { return }  // nothing queued (errors: nothing to do here)
        var strangers = 0
        for index in 0..<Int(received) {
            let d = datagrams[index]
            guard admits(d.pid, d.uid) else {
                strangers += 1
                continue
            }
            let count = Int(d.length)
            if d.passed_fds > 0 {
                refused(d.pid, .passedDescriptors(count: Int(d.passed_fds)))
                continue
            }
            if d.truncated != 0 || count > maximumDatagramBytes {
                refused(d.pid, .oversized(bytes: count))
                continue
            }
            let start = index * capacity
            do {
                let message = try NotifyMessage(parsing: buffer[start..<(start + count)])
                handler(Notification(senderPID: d.pid, senderUID: d.uid, message: message))
            } catch {
                refused(d.pid, .unparsable(error))
            }
        }
        if strangers == Int(received) { pauseForFlood() }
    }

    /// Datagrams taken per wakeup.
    static let burst = 64
}
