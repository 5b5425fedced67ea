import Glibc
import WardenCore

/// Warden's one HTTP client driven blocking, for a thread that may wait (the alert
/// webhook's): one request, one answer judged by its status line. The pieces are the
/// health probe's — `ConnectAttempts` (literal, loopback table or lookup, then each
/// address in turn), `HostResolver`, `StreamSocket`, `HTTPRequest`, `HTTPStatusReader` —
/// waited on here with `poll` instead of the event loop, with TLS (`TLSSession`) between
/// the socket and the request for `https://`.
///
/// Everything, the lookup included, ends by one deadline. No redirect is followed, the
/// body of the answer is never read (only up to its status line, at most 8 KiB), and the
/// connection closes after it. A failure's reason names the step and the host and port,
/// never the URL's path or query, which may carry a secret.
public enum HTTPClient {
    /// Whose certificates an `https://` server may present.
    public enum Trust: Hashable, Sendable {
        /// The system's store: OpenSSL's default paths, `SSL_CERT_FILE` and `SSL_CERT_DIR`
        /// when set, else /etc/ssl/certs.
        case system
        /// Only the certificates of this PEM file.
        case caFile(String)
    }

    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Sends `request` to `url`'s host and returns the answer's status code, whatever it
    /// is, or why there was none. Blocks the calling thread for at most `timeout` (an
    /// infinite or zero timeout waits as long as it takes, as systemd's "0 disables").
    public static func exchange(
        _ request: HTTPRequest, with url: HTTPURL, timeout: TimeSpan, trust: Trust = .system
    ) -> Result<Int, Failure> {
        let start = monotonicMicroseconds()
        let deadline = timeout == .zero || timeout.isInfinite ? UInt64.max : start &+ timeout.usec
        var exchange = Exchange(url: url, deadline: deadline < start ? UInt64.max : deadline, timeout: timeout)
        return exchange.run(request, trust: trust).mapError { Failure(reason: $0.reason) }
    }

    /// The steps of one exchange and the words of their failures.
    private struct Exchange {
        let url: HTTPURL
        let deadline: UInt64
        let timeout: TimeSpan
        var attempts: ConnectAttempts
        var fd: Int32 = -1
        var tls: TLSSession?

        struct Stop: Error {
            var reason: String
        }

        init(url: HTTPURL, deadline: UInt64, timeout: TimeSpan) {
            self.url = url
            self.deadline = deadline
            self.timeout = timeout
            attempts = ConnectAttempts(host: url.host, port: url.port, literal: ProbeAddress(numericHost: url.host, port: url.port))
        }

        /// `hooks.example.com:443`: the peer as failures name it.
        var peer: String { "\(ProbeAddress.formatHost(url.host)):\(url.port)" }

        var timedOut: String { "timed out after \(timeout.systemdString(accuracy: .milliseconds(1)))" }

        mutating func run(_ request: HTTPRequest, trust: Trust) -> Result<Int, Stop> {
            defer {
                tls = nil
                if fd >= 0 { close(fd) }
            }
            do {
                try resolve()
                try connect()
                if url.scheme == .https { try handshake(trust: trust) }
                try send(request.bytes[...])
                return .success(try readStatus())
            } catch {
                return .failure(error)
            }
        }

        mutating func resolve() throws(Stop) {
            guard attempts.needsLookup else { return }
            guard let answer = HostResolver.lookUp(url.host, port: url.port, untilMonotonicMicroseconds: deadline) else {
                throw Stop(reason: "\(timedOut) resolving \(url.host)")
            }
            switch answer {
            case .success(let found):
                if let why = attempts.resolved(found) { throw Stop(reason: why) }
            case .failure(let failure):
                throw Stop(reason: attempts.lookupFailed(failure.message))
            }
        }

        mutating func connect() throws(Stop) {
            while fd < 0 {
                guard let address = attempts.next() else { throw Stop(reason: attempts.failureReason) }
                switch StreamSocket.connect(to: address) {
                case .connected(let socket):
                    fd = socket
                case .failed(let reason):
                    attempts.failed(address, reason: reason)
                case .inProgress(let socket):
                    let ready = SystemCall.poll(socket, events: Int16(POLLOUT), untilMonotonicMicroseconds: deadline)
                    let failure = ready < 0 ? errnoDescription(errno) : ready == 0 ? nil : StreamSocket.connectError(socket)
                    if ready != 0 && failure == nil {
                        fd = socket
                        break
                    }
                    close(socket)
                    guard let failure else { throw Stop(reason: "\(timedOut) connecting to \(attempts.describe(address))") }
                    attempts.failed(address, reason: failure)
                }
            }
        }

        mutating func handshake(trust: Trust) throws(Stop) {
            let caFile: String? = if case .caFile(let path) = trust { path } else { nil }
            let session: TLSSession
            do {
                session = try TLSSession(fd: fd, host: url.host, caFile: caFile)
            } catch {
                throw Stop(reason: "TLS with \(peer): \(error.reason)")
            }
            tls = session
            _ = try step("in the TLS handshake with \(peer)", failing: "TLS handshake with \(peer)") { session.handshake() }
        }

        mutating func send(_ bytes: ArraySlice<UInt8>) throws(Stop) {
            var rest = bytes
            while !rest.isEmpty {
                let transfer = try step("sending the request to \(peer)", failing: "send the request to \(peer)") { [tls, fd] in
                    tls?.send(rest) ?? StreamSocket.send(fd, rest)
                }
                guard case .sent(let count) = transfer else {
                    throw Stop(reason: "send the request to \(peer): the connection was closed")
                }
                rest = rest.dropFirst(count)
            }
        }

        mutating func readStatus() throws(Stop) -> Int {
            var reader = HTTPStatusReader()
            while true {
                let room = min(2048, reader.room)
                let transfer = try step("waiting for an HTTP status line from \(peer)", failing: "read the answer from \(peer)") {
                    [tls, fd] in
                    tls?.receive(upTo: room) ?? StreamSocket.receive(fd, upTo: room)
                }
                guard case .received(let bytes) = transfer else {
                    let how = reader.isEmpty ? "without an answer" : "before a complete HTTP status line"
                    throw Stop(reason: "connection closed by \(peer) \(how)")
                }
                switch reader.receive(bytes) {
                case .needMore: continue
                case .status(let code): return code
                case .malformed(let line): throw Stop(reason: "not an HTTP answer from \(peer): \(line)")
                case .tooLong: throw Stop(reason: "no HTTP status line in the first \(HTTPStatusReader.maximumBytes) bytes from \(peer)")
                }
            }
        }

        /// Runs `transfer` until it moves bytes, the peer closes, it fails (`failing:
        /// reason`), or the deadline passes while it waits (`timed out after … waiting`).
        func step(_ waiting: String, failing: String, _ transfer: () -> StreamTransfer) throws(Stop) -> StreamTransfer {
            while true {
                switch transfer() {
                case .wait(let events):
                    let ready = SystemCall.poll(fd, events: events, untilMonotonicMicroseconds: deadline)
                    if ready == 0 { throw Stop(reason: "\(timedOut) \(waiting)") }
                    if ready < 0 { throw Stop(reason: "\(failing): \(errnoDescription(errno))") }
                case .failed(let reason):
                    throw Stop(reason: "\(failing): \(reason)")
                case let done:
                    return done
                }
            }
        }
    }
}
