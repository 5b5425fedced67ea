import CWardenShims
import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// A TCP listener on 127.0.0.1 (ephemeral port) served on the test's event loop.
final class LoopbackTestServer: @unchecked Sendable {
    enum Behavior {
        /// Reads the request up to its blank line, writes these bytes, closes.
        case respond(String)
        /// Reads the request up to its blank line, closes without a word.
        case closeAfterRequest
        /// Accepts and never answers; closes when the client does.
        case silent
    }

    let port: UInt16
    private let loop: EventLoop
    private let behavior: Behavior
    private let listenFD: Int32
    // Loop thread only.
    private var listenRegistration: EventLoop.RegistrationID?
    private var clients: [Int32: (registration: EventLoop.RegistrationID, received: [UInt8])] = [:]
    private var requestLog: [String] = []

    init(on loop: EventLoop, _ behavior: Behavior) throws {
        self.loop = loop
        self.behavior = behavior
        (listenFD, port) = try Self.bindLoopback(listen: true)
        listenRegistration = try loop.register(fd: listenFD) { [self] _ in acceptAll() }
    }

    /// A socket bound to 127.0.0.1 but not listening: connecting to its port is refused,
    /// and nobody else can take the port while it is open.
    static func bindLoopback(listen shouldListen: Bool) throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProcessControlError(operation: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound, !shouldListen || listen(fd, 128) == 0 else {
            let code = errno
            close(fd)
            throw ProcessControlError(operation: "bind/listen 127.0.0.1", errno: code)
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// Every request received so far, as text.
    var requests: [String] { loop.executeAndWait { self.requestLog } }

    /// Closes the listener and every connection still open.
    func shutdown() {
        loop.executeAndWait {
            if let registration = self.listenRegistration { self.loop.unregister(registration) }
            close(self.listenFD)
            for fd in Array(self.clients.keys) { self.drop(fd) }
        }
    }

    private func acceptAll() {
        while true {
            let fd = systemAccept4(listenFD, nil, nil, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            guard fd >= 0 else { return }
            guard let registration = try? loop.register(fd: fd, handler: { [self] _ in readFrom(fd) }) else {
                close(fd)
                continue
            }
            clients[fd] = (registration, [])
        }
    }

    private func readFrom(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        guard n > 0 else { return drop(fd) }
        clients[fd]?.received += buffer[0..<n]
        guard let received = clients[fd]?.received,
            received.count >= 4, received.suffix(4).elementsEqual(Array("\r\n\r\n".utf8))
        else { return }
        requestLog.append(String(decoding: received, as: UTF8.self))
        switch behavior {
        case .respond(let text):
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            drop(fd)
        case .closeAfterRequest:
            drop(fd)
        case .silent:
            break
        }
    }

    private func drop(_ fd: Int32) {
        guard let client = clients.removeValue(forKey: fd) else { return }
        loop.unregister(client.registration)
        close(fd)
    }
}

/// `accept4(2)`: Glibc's module declares it only under `_GNU_SOURCE`. Close-on-exec at
/// accept time matters here: other suites spawn children concurrently, and a server
/// socket leaked into one would keep a connection open after the test server closes it.
@_silgen_name("accept4")
private func systemAccept4(
    _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?, _ flags: Int32
) -> Int32

/// Starts one probe on the loop and waits for its result; nil when none came in 10 s.
/// Also checks that exactly one result was delivered, on the loop thread.
private func runProbe(
    _ target: HealthCheckTarget, timeout: TimeSpan = .seconds(5), on loop: EventLoop,
    environment: [String] = [], userID: UInt32? = nil, groupID: UInt32? = nil
) -> HealthProbeResult? {
    let done = TestSignal()
    let results = LoopLog<(HealthProbeResult, Bool)>()
    loop.execute {
        HealthProbe.start(
            target, timeout: timeout, on: loop, environment: environment, userID: userID, groupID: groupID
        ) { result in
            results.items.append((result, loop.isOnLoopThread))
            done.post()
        }
    }
    guard done.wait(seconds: 10) else { return nil }
    let delivered = loop.executeAndWait { results.items.map(\.0) }
    let onLoop = loop.executeAndWait { results.items.allSatisfy(\.1) }
    #expect(delivered.count == 1)
    #expect(onLoop)
    return delivered.first
}

private func http(_ port: UInt16, _ path: String = "/health") -> HealthCheckTarget {
    .http(host: "127.0.0.1", port: port, path: path)
}

private func url(_ port: UInt16, _ path: String = "/health") -> String { "http://127.0.0.1:\(port)\(path)" }

@Suite struct HealthProbeTests {
    // MARK: tcp

    @Test func tcpPassesWhenTheListenerAccepts() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try LoopbackTestServer(on: loop, .silent)
        defer { server.shutdown() }
        #expect(runProbe(.tcp(host: "127.0.0.1", port: server.port), on: loop) == .passed)
    }

    @Test func tcpFailsWithConnectionRefusedOnAPortNobodyListensOn() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let (fd, port) = try LoopbackTestServer.bindLoopback(listen: false)
        defer { close(fd) }
        #expect(
            runProbe(.tcp(host: "127.0.0.1", port: port), on: loop)
                == .failed(reason: "connect 127.0.0.1:\(port): Connection refused"))
    }

    /// `localhost` maps to 127.0.0.1 first without a lookup; `127.1` is not an inet_pton
    /// literal, so it goes through getaddrinfo on the resolver thread (inet_aton, no DNS).
    @Test(arguments: ["localhost", "LOCALHOST.", "probe.localhost", "127.1"])
    func tcpConnectsToNamesThatMeanLoopback(host: String) throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try LoopbackTestServer(on: loop, .silent)
        defer { server.shutdown() }
        #expect(runProbe(.tcp(host: host, port: server.port), on: loop) == .passed)
    }

    @Test func aRefusedNameReportsTheNameAndTheAddress() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let (fd, port) = try LoopbackTestServer.bindLoopback(listen: false)
        defer { close(fd) }
        #expect(
            runProbe(.tcp(host: "127.1", port: port), on: loop)
                == .failed(reason: "connect 127.1:\(port) (127.0.0.1): Connection refused"))
    }

    // MARK: http

    @Test func httpSendsAMinimalGetAndPassesOn200() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try LoopbackTestServer(
            on: loop, .respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"))
        defer { server.shutdown() }
        #expect(runProbe(http(server.port, "/health?deep=1"), on: loop) == .passed)
        #expect(
            server.requests == [
                "GET /health?deep=1 HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nConnection: close\r\n"
                    + "User-Agent: warden-healthcheck\r\n\r\n"
            ])
    }

    /// Answer → expected result; `%URL` stands for the probe's URL.
    @Test(arguments: [
        ("HTTP/1.1 503 Service Unavailable\r\n\r\n", "HTTP 503 from %URL"),
        ("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "HTTP 404 from %URL"),
        ("HTTP/1.0 500\r\n\r\n", "HTTP 500 from %URL"),
        ("HTTP/1.1 204 No Content\r\n\r\n", nil),
        ("HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n", nil),
        ("HTTP/1.1 399 Odd\r\n\r\n", nil),
        ("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", nil),
        ("HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 502 Bad Gateway\r\n\r\n", "HTTP 502 from %URL"),
        ("SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP answer from %URL: 'SSH-2.0-OpenSSH_9.2\\r\\n'"),
        ("HTTP/1.1 OK 200\r\n\r\n", "not an HTTP answer from %URL: 'HTTP/1.1 OK 200'"),
        ("\u{1}\u{2}garbage", "not an HTTP answer from %URL: '\\x01\\x02garbage'"),
        ("HTTP/1.1 20", "connection closed by %URL before a complete HTTP status line"),
        ("", "connection closed by %URL without an answer"),
    ] as [(String, String?)])
    func httpJudgesTheStatusLine(answer: String, failure: String?) throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try LoopbackTestServer(on: loop, answer.isEmpty ? .closeAfterRequest : .respond(answer))
        defer { server.shutdown() }
        let expected: HealthProbeResult =
            failure.map { .failed(reason: $0.replacingOccurrences("%URL", url(server.port))) } ?? .passed
        #expect(runProbe(http(server.port), on: loop) == expected)
    }

    @Test func httpTimesOutOnAServerThatAcceptsButNeverAnswers() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try LoopbackTestServer(on: loop, .silent)
        defer { server.shutdown() }
        #expect(
            runProbe(http(server.port), timeout: .milliseconds(200), on: loop)
                == .failed(reason: "timed out after 200ms waiting for an HTTP status line from \(url(server.port))"))
    }

    @Test func httpRefusedNamesTheAddress() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let (fd, port) = try LoopbackTestServer.bindLoopback(listen: false)
        defer { close(fd) }
        #expect(runProbe(http(port), on: loop) == .failed(reason: "connect 127.0.0.1:\(port): Connection refused"))
    }

    // MARK: exec

    @Test(arguments: [
        (["/bin/true"], nil),
        (["/bin/false"], "exec /bin/false exited with status 1"),
        (["/bin/sh", "-c", "exit 2"], "exec /bin/sh exited with status 2"),
        (["/bin/sh", "-c", "kill -TERM $$"], "exec /bin/sh killed by SIGTERM"),
        (["/nonexistent/check"],
         "exec /nonexistent/check could not start: execve /nonexistent/check: No such file or directory (errno 2)"),
    ] as [([String], String?)])
    func execPassesOnExitZero(command: [String], failure: String?) throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let target = HealthCheckTarget.exec(path: command[0], arguments: Array(command.dropFirst()))
        #expect(runProbe(target, on: loop) == (failure.map { .failed(reason: $0) } ?? .passed))
    }

    @Test func execKillsACommandThatOverrunsTheTimeout() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        #expect(
            runProbe(.exec(path: "/bin/sleep", arguments: ["10"]), timeout: .milliseconds(200), on: loop)
                == .failed(reason: "exec /bin/sleep killed by SIGKILL after timeout (200ms)"))
    }

    /// `HealthCheckTimeoutSec=0` disables the timeout, as in systemd.
    @Test func aZeroTimeoutWaitsForTheAnswer() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        #expect(runProbe(.exec(path: "/bin/sleep", arguments: ["0.1"]), timeout: .zero, on: loop) == .passed)
    }

    @Test func execRunsWithTheGivenEnvironmentAndUser() throws {
        guard getuid() == 0 else {
            print("skipped execRunsWithTheGivenEnvironmentAndUser: needs root to switch to uid 65534")
            return
        }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let check = HealthCheckTarget.exec(
            path: "/bin/sh", arguments: ["-c", #"test "$PROBE" = yes && test "$(id -u):$(id -g)" = 65534:65534"#])
        let environment = ["PROBE=yes", "PATH=/usr/bin:/bin"]
        #expect(runProbe(check, on: loop, environment: environment, userID: 65534, groupID: 65534) == .passed)
        #expect(
            runProbe(check, on: loop, environment: ["PATH=/usr/bin:/bin"], userID: 65534, groupID: 65534)
                == .failed(reason: "exec /bin/sh exited with status 1"))
        #expect(runProbe(check, on: loop, environment: environment) == .failed(reason: "exec /bin/sh exited with status 1"))
    }

    // MARK: cancel and descriptors

    @Test func cancelledProbesNeverCallBackAndTheirCommandIsKilled() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try LoopbackTestServer(on: loop, .silent)
        defer { server.shutdown() }
        let calls = LoopLog<HealthProbeResult>()
        let commandPID = LoopLog<Int32>()
        loop.executeAndWait {
            let targets: [HealthCheckTarget] = [
                http(server.port), .tcp(host: "127.0.0.1", port: server.port), .tcp(host: "127.1", port: server.port),
                .exec(path: "/bin/sleep", arguments: ["10"]),
            ]
            for target in targets {
                let probe = HealthProbe.start(target, timeout: .milliseconds(100), on: loop) { calls.items.append($0) }
                if let pid = probe.commandPID { commandPID.items.append(pid) }
                probe.cancel()
                #expect(!probe.isRunning)
            }
        }
        // Past every timeout, the resolver thread's answer, and the killed command's exit.
        let settled = TestSignal()
        loop.execute { loop.addTimer(after: .milliseconds(400)) { settled.post() } }
        #expect(settled.wait())
        #expect(loop.executeAndWait { calls.items }.isEmpty)
        let pid = try #require(loop.executeAndWait { commandPID.items.first })
        // The loop reaps the killed command, so its /proc entry goes away (liveness bound only).
        var gone = false
        for _ in 0..<500 where !gone {
            gone = access("/proc/\(pid)", F_OK) != 0
            if !gone { usleep(10_000) }
        }
        #expect(gone)
    }

    @Test func twoHundredProbesLeaveNoDescriptorBehind() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let ok = try LoopbackTestServer(on: loop, .respond("HTTP/1.1 200 OK\r\n\r\n"))
        defer { ok.shutdown() }
        let garbage = try LoopbackTestServer(on: loop, .respond("nonsense\r\n"))
        defer { garbage.shutdown() }
        let silent = try LoopbackTestServer(on: loop, .silent)
        defer { silent.shutdown() }
        let (refusedFD, refusedPort) = try LoopbackTestServer.bindLoopback(listen: false)
        defer { close(refusedFD) }
        let kinds: [(HealthCheckTarget, TimeSpan)] = [
            (.tcp(host: "127.0.0.1", port: ok.port), .seconds(5)),
            (.tcp(host: "127.0.0.1", port: refusedPort), .seconds(5)),
            (http(ok.port), .seconds(5)),
            (http(garbage.port), .seconds(5)),
            (http(refusedPort), .seconds(5)),
            (http(silent.port), .milliseconds(1)),
            (.exec(path: "/bin/true", arguments: []), .seconds(5)),
            (.exec(path: "/bin/false", arguments: []), .seconds(5)),
        ]
        let targets = (0..<200).map { kinds[$0 % kinds.count] }
        // One of each first: anything allocated once (and kept) is then in the baseline.
        #expect(runAll(kinds, on: loop) == kinds.count)
        let before = openDescriptorCount()
        #expect(runAll(targets, on: loop) == targets.count)
        // Other suites open and close descriptors concurrently: wait for a quiet moment
        // rather than compare one snapshot. A leak (25+ of a kind here) never settles.
        var after = openDescriptorCount()
        for _ in 0..<200 where after > before {
            usleep(10_000)
            after = openDescriptorCount()
        }
        #expect(after <= before, "open descriptors: \(before) before 200 probes, \(after) after")
    }

    /// Runs the probes one after another on the loop; returns how many results came.
    private func runAll(_ targets: [(HealthCheckTarget, TimeSpan)], on loop: EventLoop) -> Int {
        let done = TestSignal()
        let count = LoopLog<Int>()
        loop.execute {
            var index = 0
            func next() {
                guard index < targets.count else { return done.post() }
                let (target, timeout) = targets[index]
                index += 1
                HealthProbe.start(target, timeout: timeout, on: loop) { _ in
                    count.items.append(1)
                    next()
                }
            }
            next()
        }
        guard done.wait(seconds: 20) else { return -1 }
        // The loop closes an exec probe's pidfd right after its completion returns.
        return loop.executeAndWait { count.items.count }
    }

    // MARK: literal addresses (inet_pton; the pure parts are in WardenCoreTests)

    @Test(arguments: [
        ("127.0.0.1", ProbeAddress.Family.ipv4, "127.0.0.1:80"),
        ("::1", .ipv6, "[::1]:80"),
        ("fe80::1%1", .ipv6, "[fe80::1%1]:80"),
        ("2001:db8::5", .ipv6, "[2001:db8::5]:80"),
    ])
    func literalAddresses(host: String, family: ProbeAddress.Family, display: String) throws {
        let address = try #require(ProbeAddress(numericHost: host, port: 80))
        #expect(address.family == family)
        #expect(address.display == display)
    }

    @Test(arguments: ["localhost", "db.internal", "127.1", "1.2.3.4.5", "fe80::1%no-such-interface0"])
    func namesAreNotLiterals(host: String) {
        #expect(ProbeAddress(numericHost: host, port: 80) == nil)
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
