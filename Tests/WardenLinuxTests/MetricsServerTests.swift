import Glibc
import Synchronization
import Testing
@testable import WardenCore
@testable import WardenLinux

/// A plain TCP client for HTTP/1.x tests against 127.0.0.1: one request per connection.
struct HTTPTestClient {
    struct Response {
        var statusCode: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// A connected, blocking socket with 5 s send/receive timeouts.
    static func connect(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        precondition(fd >= 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(rc == 0, "connect to 127.0.0.1:\(port): errno \(errno)")
        return fd
    }

    /// Sends as much of `bytes` as the peer takes; false when it stopped taking them.
    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Reads until the server closes, then parses status line, headers and body.
    static func readResponse(_ fd: Int32) -> Response? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return parse(bytes)
    }

    static func parse(_ bytes: [UInt8]) -> Response? {
        guard let end = HTTPRequestHead.endOfHead(bytes) else { return nil }
        let head = String(decoding: bytes[0..<end], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let code = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        return Response(statusCode: code, headers: headers, body: Array(bytes[end...]))
    }

    /// One request, the whole answer.
    static func exchange(port: UInt16, _ request: String) -> Response? {
        let fd = connect(port: port)
        defer { close(fd) }
        send(fd, Array(request.utf8))
        return readResponse(fd)
    }
}

@Suite(.serialized) struct MetricsServerTests {
    let loop: EventLoop
    let server: MetricsServer
    static let body = Array("# HELP up Test.\n# TYPE up gauge\nup 1\n".utf8)

    init() throws {
        loop = try EventLoop()
        let loop = self.loop
        server = try MetricsServer(
            host: "127.0.0.1", port: 0, loop: loop, requestTimeout: .milliseconds(300), maximumConnections: 4
        ) { scrape in
            // Rendered on the loop thread, after a measured hand-over.
            precondition(loop.isOnLoopThread && scrape.loopLagSeconds >= 0)
            return Self.body
        }
    }

    func tearDown() {
        let server = self.server
        loop.executeAndWait { server.close() }
        loop.shutdown()
    }

    var connectionCount: Int {
        let server = self.server
        return loop.executeAndWait { server.connectionCount }
    }

    @Test func getMetricsAnswersTheExposition() throws {
        defer { tearDown() }
        #expect(server.isLoopback)
        #expect(server.port > 0)
        let response = try #require(HTTPTestClient.exchange(port: server.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(response.statusCode == 200)
        #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(response.headers["content-length"] == "\(Self.body.count)")
        #expect(response.headers["connection"] == "close")
        #expect(response.body == Self.body)

        let head = try #require(HTTPTestClient.exchange(port: server.port, "HEAD /metrics HTTP/1.1\r\n\r\n"))
        #expect(head.statusCode == 200)
        #expect(head.headers["content-length"] == "\(Self.body.count)")
        #expect(head.body.isEmpty)
    }

    @Test(arguments: [
        ("GET /metrics?name[]=up HTTP/1.1\r\n\r\n", 200),
        ("GET /metrics HTTP/1.0\n\n", 200),
        ("GET / HTTP/1.1\r\n\r\n", 404),
        ("GET /metricsx HTTP/1.1\r\n\r\n", 404),
        ("POST /other HTTP/1.1\r\n\r\n", 404),
        ("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405),
        ("DELETE /metrics HTTP/1.1\r\n\r\n", 405),
        ("get /metrics HTTP/1.1\r\n\r\n", 400),
        ("GET /metrics HTTP/2.0\r\n\r\n", 400),
        ("GET  /metrics HTTP/1.1\r\n\r\n", 400),
        ("\u{16}\u{3}\u{1}binary\r\n\r\n", 400),
    ])
    func routes(request: String, status: Int) throws {
        defer { tearDown() }
        let response = try #require(HTTPTestClient.exchange(port: server.port, request))
        #expect(response.statusCode == status)
        #expect(response.headers["connection"] == "close")
        if status == 405 { #expect(response.headers["allow"] == "GET, HEAD") }
        if status == 200 { #expect(response.body == Self.body) }
    }

    @Test func tenMegabyteRequestGets431AndTheServerAnswersOthers() throws {
        defer { tearDown() }
        let fd = HTTPTestClient.connect(port: server.port)
        defer { close(fd) }
        let huge = Array("GET /metrics HTTP/1.1\r\nX-Filler: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 10 << 20)
        // The server stops reading after 8 KiB and answers; the send fails or blocks
        // until the 5 s timeout, either way the answer is waiting.
        HTTPTestClient.send(fd, huge)
        let response = try #require(HTTPTestClient.readResponse(fd))
        #expect(response.statusCode == 431)
        let next = try #require(HTTPTestClient.exchange(port: server.port, "GET /metrics HTTP/1.1\r\n\r\n"))
        #expect(next.statusCode == 200)
        #expect(next.body == Self.body)
    }

    @Test func unfinishedRequestTimesOutWhileAScrapeStillAnswers() throws {
        defer { tearDown() }
        let slow = HTTPTestClient.connect(port: server.port)
        defer { close(slow) }
        HTTPTestClient.send(slow, Array("GET /metr".utf8))
        let scrape = try #require(HTTPTestClient.exchange(port: server.port, "GET /metrics HTTP/1.1\r\n\r\n"))
        #expect(scrape.statusCode == 200)
        #expect(scrape.body == Self.body)
        // The slow client's deadline (300 ms here) ends it with 408.
        let timedOut = try #require(HTTPTestClient.readResponse(slow))
        #expect(timedOut.statusCode == 408)
        #expect(eventually { connectionCount == 0 })
    }

    @Test func clientThatNeverReadsAHugeAnswerIsDroppedAndOthersAreServed() throws {
        let loop = try EventLoop()
        let big = [UInt8](repeating: UInt8(ascii: "#"), count: 32 << 20)
        let server = try MetricsServer(host: "127.0.0.1", port: 0, loop: loop, requestTimeout: .milliseconds(300)) { _ in big }
        defer {
            loop.executeAndWait { server.close() }
            loop.shutdown()
        }
        let stuck = HTTPTestClient.connect(port: server.port)
        defer { close(stuck) }
        HTTPTestClient.send(stuck, Array("GET /metrics HTTP/1.1\r\n\r\n".utf8))
        // Never read: the answer cannot leave the server's socket buffer.
        let other = HTTPTestClient.connect(port: server.port)
        defer { close(other) }
        HTTPTestClient.send(other, Array("GET /metrics HTTP/1.1\r\n\r\n".utf8))
        let response = try #require(HTTPTestClient.readResponse(other))
        #expect(response.statusCode == 200)
        #expect(response.body.count == big.count)
        #expect(eventually { loop.executeAndWait { server.connectionCount } == 0 })
    }

    /// Idle and trickling clients fill every slot; a scrape still gets its answer, and
    /// the client that waited longest without a request is the one closed.
    @Test func idleConnectionsMakeRoomForAScrape() throws {
        defer { tearDown() }
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<4 {
            idle.append(HTTPTestClient.connect(port: server.port))
            HTTPTestClient.send(idle.last!, Array("G".utf8))
            #expect(eventually { connectionCount == idle.count })
        }
        let scrape = try #require(HTTPTestClient.exchange(port: server.port, "GET /metrics HTTP/1.1\r\n\r\n"))
        #expect(scrape.statusCode == 200)
        var byte: UInt8 = 0
        #expect(recv(idle[0], &byte, 1, 0) == 0, "the oldest idle connection was not the one closed")
        #expect(eventually { connectionCount == 0 })
    }

    /// Only when every slot holds a client being answered is a newcomer refused.
    @Test func connectionsBeyondTheLimitWhileAllAreAnsweredGet503() throws {
        let loop = try EventLoop()
        let big = [UInt8](repeating: UInt8(ascii: "#"), count: 8 << 20)
        let server = try MetricsServer(
            host: "127.0.0.1", port: 0, loop: loop, requestTimeout: .milliseconds(500), maximumConnections: 2
        ) { _ in big }
        defer {
            loop.executeAndWait { server.close() }
            loop.shutdown()
        }
        var stuck: [Int32] = []
        defer { stuck.forEach { close($0) } }
        for _ in 0..<2 {
            stuck.append(HTTPTestClient.connect(port: server.port))
            // Never read: the answers cannot leave the server's socket buffers.
            HTTPTestClient.send(stuck.last!, Array("GET /metrics HTTP/1.1\r\n\r\n".utf8))
        }
        #expect(eventually { loop.executeAndWait { server.answeringCount } == 2 })
        let refused = try #require(HTTPTestClient.exchange(port: server.port, "GET /metrics HTTP/1.1\r\n\r\n"))
        #expect(refused.statusCode == 503)
        // Once the stuck ones timed out, scrapes are answered again.
        #expect(eventually { loop.executeAndWait { server.connectionCount } == 0 })
        #expect(HTTPTestClient.exchange(port: server.port, "GET /metrics HTTP/1.1\r\n\r\n")?.statusCode == 200)
    }

    @Test func bindFailureNamesTheAddressAndErrno() throws {
        defer { tearDown() }
        let port = server.port
        do {
            _ = try MetricsServer(host: "127.0.0.1", port: port, loop: loop) { _ in [] }
            Issue.record("a second listener on port \(port) was accepted")
        } catch {
            #expect(error.errno == EADDRINUSE)
            #expect(error.description.contains("127.0.0.1:\(port)"))
        }
        #expect(throws: ProcessControlError.self) {
            try MetricsServer(host: "no-such-host.invalid", port: 9464, loop: loop) { _ in [] }
        }
    }

    @Test(arguments: [("127.0.0.1", true), ("::1", true), ("0.0.0.0", false)])
    func loopbackIsRecognised(host: String, loopback: Bool) throws {
        defer { tearDown() }
        let bound = Result { () throws(ProcessControlError) in try MetricsServer(host: host, port: 0, loop: loop) { _ in [] } }
        if case .failure(let error) = bound, error.errno == EADDRNOTAVAIL || error.errno == EAFNOSUPPORT {
            print("skipped: \(host) cannot be bound on this host (\(error))")
            return
        }
        let other = try bound.get()
        #expect(other.isLoopback == loopback)
        loop.executeAndWait { other.close() }
    }

    @Test(arguments: [
        ("GET /metrics HTTP/1.1\r\n\r\n", HTTPRequestHead.Route.scrape(headOnly: false)),
        ("HEAD /metrics HTTP/1.0\r\n\r\n", .scrape(headOnly: true)),
        ("PUT /metrics HTTP/1.1\r\n\r\n", .methodNotAllowed),
        ("GET /metrics/ HTTP/1.1\r\n\r\n", .notFound),
        ("GET /healthz HTTP/1.1\r\n\r\n", .probe(.health, headOnly: false)),
        ("HEAD /readyz?verbose HTTP/1.1\r\n\r\n", .probe(.readiness, headOnly: true)),
        ("POST /readyz HTTP/1.1\r\n\r\n", .methodNotAllowed),
        ("POST /other HTTP/1.1\r\n\r\n", .notFound),
        ("GET metrics HTTP/1.1\r\n\r\n", .malformed),
        ("GET /metrics\r\n\r\n", .malformed),
        ("", .malformed),
    ])
    func requestLines(head: String, route: HTTPRequestHead.Route) {
        defer { tearDown() }
        #expect(HTTPRequestHead.route(Array(head.utf8)) == route)
    }

    /// The probes are answered from a turn of the loop, 200 or 503 with the reason; a
    /// listener without them says 404.
    @Test func probesAnswerFromTheLoop() throws {
        defer { tearDown() }
        let loop = try EventLoop()
        let ready = Mutex(false)
        let server = try MetricsServer(
            host: "127.0.0.1", port: 0, loop: loop, requestTimeout: .milliseconds(500), handler: { _ in [] },
            probe: { which in
                precondition(loop.isOnLoopThread)
                switch which {
                case .health: return (true, "ok")
                case .readiness: return ready.withLock { $0 } ? (true, "ready") : (false, "not ready: feed.service (activating)")
                }
            })
        defer {
            loop.executeAndWait { server.close() }
            loop.shutdown()
        }
        let health = try #require(HTTPTestClient.exchange(port: server.port, "GET /healthz HTTP/1.1\r\n\r\n"))
        #expect(health.statusCode == 200 && health.body == Array("ok\n".utf8))
        let waiting = try #require(HTTPTestClient.exchange(port: server.port, "GET /readyz HTTP/1.1\r\n\r\n"))
        #expect(waiting.statusCode == 503)
        #expect(String(decoding: waiting.body, as: UTF8.self) == "not ready: feed.service (activating)\n")
        ready.withLock { $0 = true }
        #expect(HTTPTestClient.exchange(port: server.port, "GET /readyz HTTP/1.1\r\n\r\n")?.statusCode == 200)
        // The fixture's listener has no probes.
        #expect(HTTPTestClient.exchange(port: self.server.port, "GET /readyz HTTP/1.1\r\n\r\n")?.statusCode == 404)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\n\r\n", 18), ("GET / HTTP/1.1\n\n", 16), ("GET / HTTP/1.1\r\nA: b\r\n", nil),
        ("\n\n", 2), ("x\r\n\r", nil),
    ])
    func endOfHead(text: String, end: Int?) {
        defer { tearDown() }
        #expect(HTTPRequestHead.endOfHead(Array(text.utf8)) == end)
    }
}

/// Polls `condition` every 10 ms for up to 10 s.
private func eventually(_ condition: () -> Bool) -> Bool {
    for _ in 0..<1000 {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
