import CWardenShims
import Glibc
import WardenCore

/// Why a control request got no answer.
public struct ControlClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being done (`connect to /run/warden/control.sock`).
    public var operation: String
    public var errno: Int32?
    public var detail: String?

    public var description: String {
        var text = operation
        if let errno { text += ": " + String(cString: strerror(errno)) }
        if let detail { text += ": " + detail }
        return text
    }

    /// The daemon is not there (no socket file, nobody listening).
    public var daemonNotRunning: Bool { errno == ENOENT || errno == ECONNREFUSED }
}

/// The blocking client side: connect, send one request line, read one answer line.
/// For the CLI and tests; the daemon never uses it on its loop.
public struct ControlClient: Sendable {
    public let path: String
    /// Bound on the whole exchange, so a wedged daemon cannot hang `warden status`.
    public var timeoutSeconds: Int

    public init(path: String, timeoutSeconds: Int = 10) {
        self.path = path
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sends `request` and returns the daemon's answer (which may carry an `error`).
    public func send(_ request: ControlRequest) -> Result<ControlResponse, ControlClientError> {
        let connected = connect()
        guard case .success(let fd) = connected else {
            if case .failure(let error) = connected { return .failure(error) }
            fatalError("unreachable")
        }
        defer { close(fd) }
        var line = ControlCodec.encodeLine(request)
        var offset = 0
        while offset < line.count {
            let n = SystemCall.retryingInterrupts {
                line.withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            guard n > 0 else { return .failure(ControlClientError(operation: "send to \(path)", errno: errno)) }
            offset += n
        }
        switch Self.readLine(fd) {
        case .success(let bytes):
            return ControlCodec.decodeResponse(bytes).mapError {
                ControlClientError(operation: "read the answer from \(path)", detail: $0.message)
            }
        case .failure(let error):
            return .failure(ControlClientError(operation: "read the answer from \(path)", errno: error.errno, detail: error.detail))
        }
    }

    /// A connected, blocking socket with send and receive timeouts.
    public func connect() -> Result<Int32, ControlClientError> {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(ControlClientError(operation: "socket(AF_UNIX)", errno: errno)) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = Self.address(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            return .failure(ControlClientError(operation: "connect to \(path)", errno: code))
        }
        // Believe only a daemon run by root or by this user: anyone else who managed to
        // bind this path could answer "stopped" while the component runs on.
        guard let server = ControlPeer(connectedSocket: fd) else {
            let code = errno
            close(fd)
            return .failure(ControlClientError(operation: "read the credentials of the daemon at \(path)", errno: code))
        }
        guard server.userID == 0 || server.userID == geteuid() else {
            close(fd)
            return .failure(ControlClientError(
                operation: "connect to \(path)",
                detail: "the socket is served by uid \(server.userID) (\(server)), neither root nor you: not a Warden to believe"))
        }
        return .success(fd)
    }

    /// Reads up to and without the first `\n`. Answers have no size cap here: a status
    /// of thousands of components is large, and the daemon is trusted.
    public static func readLine(_ fd: Int32) -> Result<[UInt8], ControlClientError> {
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = SystemCall.retryingInterrupts { buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
            if n < 0 {
                let detail = errno == EAGAIN ? "no answer in time" : nil
                return .failure(ControlClientError(operation: "recv", errno: errno, detail: detail))
            }
            if n == 0 {
                return .failure(ControlClientError(operation: "recv", detail: "the daemon closed the connection without answering"))
            }
            if let newline = buffer[0..<n].firstIndex(of: UInt8(ascii: "\n")) {
                line += buffer[0..<newline]
                return .success(line)
            }
            line += buffer[0..<n]
        }
    }

    /// True when something accepts connections at `path`.
    public static func answers(_ path: String) -> Bool {
        if case .success(let fd) = ControlClient(path: path, timeoutSeconds: 1).connect() {
            close(fd)
            return true
        }
        return false
    }

    static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }
}
