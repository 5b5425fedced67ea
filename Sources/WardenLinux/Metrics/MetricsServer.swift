import CWardenShims
import Glibc
import WardenCore

/// The `MetricsListen=` endpoint: a minimal HTTP/1.1 server for Prometheus scrapes on the
/// supervisor's `EventLoop` (a `StreamServer`). `GET /metrics` (and `HEAD`) answers 200
/// with the text exposition format; `/healthz` and `/readyz` answer 200 or 503 from
/// `probe` (run on the loop, so an answer also says the loop turns); any other path 404,
/// any other method on a known path 405.
///
/// Like `ControlServer`, nothing a client does can block the loop or exhaust the daemon:
/// every descriptor is non-blocking; the request head is capped at `maximumRequestBytes`
/// (431, then close); a request not complete within `requestTimeout` of the connection
/// gets 408; a response not taken by the client within `requestTimeout` is dropped;
/// at `maximumConnections` the oldest connection still sending its request is closed to
/// make room, and only when every connection is being answered does a newcomer get 503.
/// Every answer carries `Connection: close`: one request per connection, as Prometheus
/// scrapes.
///
/// After an answer the server half-closes and reads (and discards) whatever the client
/// still sends, for a short while, before closing: closing a socket with unread input
/// makes the kernel send a reset, which can destroy the answer before the client read
/// it (the "lingering close" of HTTP servers; it matters for the 431 of an oversized
/// request).
///
/// Confinement: after `init`, everything runs on the loop thread; `close` too.
public final class MetricsServer: @unchecked Sendable {
    /// Renders the body of one scrape; runs on the loop thread.
    public typealias Handler = (MetricsScrape) -> [UInt8]
    private let probe: ((HTTPRequestHead.Probe) -> (ok: Bool, text: String))?

    /// The Prometheus text exposition format, version 0.0.4.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    public static let defaultRequestTimeout = TimeSpan.seconds(10)
    /// A scrape's request head is a few hundred bytes; 8 KiB leaves room for proxies' headers.
    public static let defaultMaximumRequestBytes = 8 * 1024

    /// The address as configured (`127.0.0.1`, `::1`, `localhost`).
    public let host: String
    /// The port bound: the configured one, or the kernel's choice for port 0 (tests).
    public let port: UInt16
    /// The bound address is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104).
    public let isLoopback: Bool
    public let requestTimeout: TimeSpan
    public let maximumRequestBytes: Int
    public let maximumConnections: Int
    /// How long a closed-for-writing connection is drained before it is closed.
    public let lingerTimeout: TimeSpan
    private let loop: EventLoop
    private let handler: Handler
    private let stream: StreamServer<Session>

    /// What HTTP keeps per connection: the request head received so far.
    struct Session {
        var input: [UInt8] = []
    }

    /// Binds `host:port` (numeric IPv4 or IPv6, or a name resolved once, here) and starts
    /// accepting on `loop`. Throws with the address and the errno when the address
    /// cannot be resolved or bound.
    public init(
        host: String, port: UInt16, loop: EventLoop, requestTimeout: TimeSpan = MetricsServer.defaultRequestTimeout,
        maximumRequestBytes: Int = MetricsServer.defaultMaximumRequestBytes, maximumConnections: Int = 32,
        lingerTimeout: TimeSpan = .seconds(1), handler: @escaping Handler,
        probe: ((HTTPRequestHead.Probe) -> (ok: Bool, text: String))? = nil
    ) throws(ProcessControlError) {
        self.host = host
        self.loop = loop
        self.handler = handler
        self.probe = probe
        self.requestTimeout = requestTimeout
        self.maximumRequestBytes = maximumRequestBytes
        self.maximumConnections = maximumConnections
        self.lingerTimeout = lingerTimeout
        let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let address = try Self.resolve(host: host, port: port, shown: shown)
        let fd = socket(Int32(address.family), Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProcessControlError(operation: "socket() for the metrics listener \(shown)", errno: errno) }
        func fail(_ operation: String) -> ProcessControlError {
            let code = errno
            Glibc.close(fd)
            return ProcessControlError(operation: operation, errno: code)
        }
        // A restarted Warden must get its port back while the old connections sit in
        // TIME_WAIT; SO_REUSEADDR does not let two listeners share a port on Linux.
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var storage = address.storage
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, address.length) }
        }
        guard bound == 0 else { throw fail("bind the metrics listener to \(shown)") }
        guard listen(fd, 64) == 0 else { throw fail("listen on \(shown)") }
        var actual = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw fail("getsockname of the metrics listener \(shown)") }
        self.port = Self.port(of: actual)
        self.isLoopback = Self.isLoopback(actual)
        stream = StreamServer(
            listening: fd, loop: loop, maximumConnections: maximumConnections, requestTimeout: requestTimeout,
            receiveBytes: 4096, whenFull: .evictOldestReading,
            busyAnswer: Self.response(status: "503 Service Unavailable", body: Array("too many scrapes at once\n".utf8)))
        do {
            try stream.start(
                StreamServer.Handlers(
                    accepted: { _ in Session() },
                    received: { [unowned self] c, bytes in self.received(bytes, on: c) },
                    timedOut: { [unowned self] c in self.timedOut(c) },
                    resumed: { _ in }))
        } catch {
            stream.close()
            throw error
        }
    }

    /// Open connections (tests).
    public var connectionCount: Int { stream.connectionCount }
    /// Open connections past their request: being answered or closing (tests).
    public var answeringCount: Int { stream.connectionCount - stream.count(in: .reading) }

    /// Stops accepting and drops every connection. Loop thread.
    public func close() {
        stream.close()
    }

    // MARK: Addresses

    private struct Address {
        var family: Int32
        var storage: sockaddr_storage
        var length: socklen_t
    }

    private static func resolve(host: String, port: UInt16, shown: String) throws(ProcessControlError) -> Address {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            let reason = rc == EAI_SYSTEM ? errno : EINVAL
            let detail = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw ProcessControlError(operation: "resolve the metrics listener address \(shown) (\(detail))", errno: reason)
        }
        defer { freeaddrinfo(list) }
        var storage = sockaddr_storage()
        let length = min(Int(first.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: length))
        }
        return Address(family: first.pointee.ai_family, storage: storage, length: socklen_t(length))
    }

    private static func port(of address: sockaddr_storage) -> UInt16 {
        var copy = address
        return withUnsafePointer(to: &copy) { pointer in
            switch Int32(address.ss_family) {
            case AF_INET: pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            case AF_INET6: pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            default: 0
            }
        }
    }

    private static func isLoopback(_ address: sockaddr_storage) -> Bool {
        var copy = address
        return withUnsafePointer(to: &copy) { pointer in
            switch Int32(address.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    UInt32(bigEndian: $0.pointee.sin_addr.s_addr) >> 24 == 127
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    let bytes = withUnsafeBytes(of: address.pointee.sin6_addr) { Array($0) }
                    let loopback6 = bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
                    let mapped4 = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
                    return loopback6 || mapped4
                }
            default:
                return false
            }
        }
    }

    // MARK: One connection

    private typealias Connection = StreamServer<Session>.Connection

    /// Collects the request head; answers once it is complete, or too long.
    private func received(_ bytes: ArraySlice<UInt8>, on c: Connection) -> Bool {
        let searchFrom = max(0, c.session.input.count - 3)
        c.session.input += bytes
        if let headEnd = HTTPRequestHead.endOfHead(c.session.input, from: searchFrom) {
            handle(c, head: Array(c.session.input[0..<headEnd]))
            return false
        }
        if c.session.input.count > maximumRequestBytes {
            respond(
                c,
                Self.response(
                    status: "431 Request Header Fields Too Large",
                    body: Array("request head longer than \(maximumRequestBytes) bytes\n".utf8)))
            return false
        }
        return true
    }

    private func timedOut(_ c: Connection) {
        let waited = "\(requestTimeout.usec / 1_000_000)s"
        respond(c, Self.response(status: "408 Request Timeout", body: Array("request not complete within \(waited)\n".utf8)))
    }

    private func handle(_ c: Connection, head: [UInt8]) {
        guard head.count <= maximumRequestBytes else {
            respond(
                c,
                Self.response(
                    status: "431 Request Header Fields Too Large",
                    body: Array("request head longer than \(maximumRequestBytes) bytes\n".utf8)))
            return
        }
        switch HTTPRequestHead.route(head) {
        case .malformed:
            respond(c, Self.response(status: "400 Bad Request", body: Array("not an HTTP/1.x request line\n".utf8)))
        case .methodNotAllowed:
            respond(
                c,
                Self.response(
                    status: "405 Method Not Allowed", extraHeaders: "Allow: GET, HEAD\r\n",
                    body: Array("only GET and HEAD are answered\n".utf8)))
        case .probe(let which, let headOnly) where probe != nil:
            stream.pause(c)
            // Answered from a turn of the loop, like a scrape: a wedged loop answers nothing.
            loop.execute { [weak self, c] in
                guard let self, self.stream.isOpen(c), let probe = self.probe else { return }
                let (ok, text) = probe(which)
                self.respond(
                    c,
                    Self.response(
                        status: ok ? "200 OK" : "503 Service Unavailable", body: Array((text + "\n").utf8),
                        headOnly: headOnly))
            }
        case .notFound, .probe:
            let served = probe == nil ? "only /metrics is served here" : "/metrics, /healthz and /readyz are served here"
            respond(c, Self.response(status: "404 Not Found", body: Array((served + "\n").utf8)))
        case .scrape(let headOnly):
            stream.pause(c)
            let requested = EventLoop.monotonicNanoseconds()
            loop.execute { [weak self, c] in
                guard let self, self.stream.isOpen(c) else { return }
                let lag = Double(EventLoop.monotonicNanoseconds() &- requested) / 1e9
                let body = self.handler(MetricsScrape(loopLagSeconds: lag))
                self.respond(
                    c,
                    Self.response(
                        status: "200 OK", contentType: Self.contentType, body: body, headOnly: headOnly))
            }
        }
    }

    /// Starts writing `answer`; the connection lingers, then closes, once it is out.
    private func respond(_ c: Connection, _ answer: [UInt8]) {
        c.session.input = []
        // A fresh deadline for the answer: a large body to a slow reader takes a while.
        stream.armTimer(c, after: requestTimeout)
        stream.write(c, answer, then: .linger(lingerTimeout))
    }

    // MARK: Responses

    static func response(
        status: String, contentType: String = "text/plain; charset=utf-8", extraHeaders: String = "", body: [UInt8],
        headOnly: Bool = false
    ) -> [UInt8] {
        var bytes = Array(
            ("HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
                + "\(extraHeaders)Connection: close\r\n\r\n").utf8)
        if !headOnly { bytes += body }
        return bytes
    }
}
