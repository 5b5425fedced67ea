import CWardenShims
import Glibc
import WardenCore

/// What one non-blocking transfer on a stream (a socket, or a TLS session over one) did.
enum StreamTransfer: Hashable, Sendable {
    /// How many bytes went out.
    case sent(Int)
    case received([UInt8])
    /// Nothing now: call again once the socket has these `poll` events (`POLLIN`, `POLLOUT`).
    case wait(Int16)
    /// The peer closed the connection.
    case closed
    /// The errno's text, or the TLS library's.
    case failed(String)
}

/// The socket steps of Warden's HTTP client, each done at once on a non-blocking TCP
/// socket: the health probe waits for readiness on the event loop, the alert webhook
/// with `poll` until its deadline.
enum StreamSocket {
    enum Connecting: Hashable, Sendable {
        case connected(Int32)
        /// Connecting goes on; the socket is writable once it settled (`connectError`).
        case inProgress(Int32)
        /// No socket is left open.
        case failed(String)
    }

    /// A non-blocking, close-on-exec socket connecting to `address`.
    static func connect(to address: ProbeAddress) -> Connecting {
        let fd = socket(address.socketFamily, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        // A socket that cannot be made (IPv6 disabled, EMFILE) fails this address only.
        guard fd >= 0 else { return .failed(errnoDescription(errno)) }
        let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return .connected(fd) }
        let code = errno
        guard code == EINPROGRESS || code == EINTR else {
            close(fd)
            return .failed(errnoDescription(code))
        }
        return .inProgress(fd)
    }

    /// Why a connect that was in progress failed (`SO_ERROR`), or nil once connected.
    static func connectError(_ fd: Int32) -> String? {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0 { code = errno }
        return code == 0 ? nil : errnoDescription(code)
    }

    /// Sends what it can of `bytes` (never raising SIGPIPE).
    static func send(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> StreamTransfer {
        let n = SystemCall.retryingInterrupts {
            bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        if n >= 0 { return .sent(n) }
        let code = errno
        return code == EAGAIN || code == EWOULDBLOCK ? .wait(Int16(POLLOUT)) : .failed(errnoDescription(code))
    }

    /// Receives at most `count` bytes.
    static func receive(_ fd: Int32, upTo count: Int) -> StreamTransfer {
        var buffer = [UInt8](repeating: 0, count: max(1, count))
        let n = SystemCall.retryingInterrupts { buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count, 0) } }
        if n > 0 { return .received(Array(buffer[0..<n])) }
        if n == 0 { return .closed }
        let code = errno
        return code == EAGAIN || code == EWOULDBLOCK ? .wait(Int16(POLLIN)) : .failed(errnoDescription(code))
    }
}
