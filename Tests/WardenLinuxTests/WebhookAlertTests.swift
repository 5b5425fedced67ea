import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// Webhook delivery through Warden's HTTP client against servers on 127.0.0.1: what a Slack/Discord
/// endpoint receives, failures reported (never thrown or hung), and TLS verification on.
@Suite(.serialized) struct WebhookAlertTests {
    /// A one-shot HTTP server: accepts one connection, reads the request (headers and a
    /// Content-Length body), answers `status`, and hands the request text back.
    final class OneShotServer: @unchecked Sendable {
        let port: UInt16
        private let listener: Int32
        private var thread: pthread_t?
        private let lock = PthreadLock()
        private var received: String?
        private let status: Int

        init(status: Int) throws {
            self.status = status
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard bound else {
                close(fd)
                throw TestFailure("bind/listen: errno \(errno)")
            }
            listener = fd
            port = UInt16(bigEndian: address.sin_port)
            let box = Unmanaged.passRetained(self)
            var handle = pthread_t()
            pthread_create(&handle, nil, { raw in
                let server = Unmanaged<OneShotServer>.fromOpaque(raw!).takeRetainedValue()
                server.serveOne()
                return nil
            }, box.toOpaque())
            thread = handle
        }

        private func serveOne() {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(connection, &chunk, chunk.count)
                if count <= 0 { break }
                bytes += chunk[..<count]
                let separator: [UInt8] = Array("\r\n\r\n".utf8)
                guard let end = (0...(max(0, bytes.count - 4))).first(where: { bytes[$0..<min(bytes.count, $0 + 4)].elementsEqual(separator) })
                else { continue }
                let headers = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
                let length = headers.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: " ")) } ?? 0
                if bytes.count - (end + 4) >= length { break }
            }
            lock.withLock { received = String(decoding: bytes, as: UTF8.self) }
            let answer = "HTTP/1.1 \(status) X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            _ = answer.utf8CString.withUnsafeBufferPointer { write(connection, $0.baseAddress, $0.count - 1) }
        }

        func request() -> String? {
            if let thread { pthread_join(thread, nil) }
            thread = nil
            return lock.withLock { received }
        }

        deinit { close(listener) }
    }

    static let alert = GovernorAlert(
        rule: "tier-critical", at: .zero, from: .normal, to: .critical, readings: [],
        text: "Warden governor normal → critical")

    @Test func postsTheSlackAndDiscordBodyToALoopbackRelay() throws {
        let server = try OneShotServer(status: 200)
        let sink = WebhookAlertSink(url: "http://127.0.0.1:\(server.port)/hooks/T0/secret", timeoutMilliseconds: 5_000)
        let result = sink.deliver(Self.alert)
        #expect((try? result.get()) != nil, "\(result)")
        let request = try #require(server.request())
        #expect(request.hasPrefix("POST /hooks/T0/secret HTTP/1.1\r\n"))
        #expect(request.lowercased().contains("content-type: application/json\r\n"))
        #expect(request.hasSuffix("\r\n\r\n" + WebhookAlerts.payload(Self.alert)))
        #expect(sink.name == "webhook http://127.0.0.1:\(server.port)/…")
    }

    @Test func aNon2xxAnswerIsAFailure() throws {
        let server = try OneShotServer(status: 404)
        let result = WebhookAlertSink(url: "http://127.0.0.1:\(server.port)/x", timeoutMilliseconds: 5_000).deliver(Self.alert)
        _ = server.request()
        guard case .failure(let error) = result else {
            Issue.record("a 404 counted as delivered")
            return
        }
        #expect(error.reason == "answered HTTP 404")
    }

    @Test func nothingListeningIsReportedNotThrown() throws {
        let port = try Self.freePort()
        let result = WebhookAlertSink(url: "http://127.0.0.1:\(port)/x", timeoutMilliseconds: 2_000).deliver(Self.alert)
        guard case .failure(let error) = result else {
            Issue.record("delivered to a closed port")
            return
        }
        #expect(!error.reason.isEmpty)
    }

    /// An HTTPS endpoint with a self-signed certificate must be refused: proof that the
    /// certificate is verified, not merely that TLS is spoken.
    @Test func anUntrustedCertificateIsRefused() throws {
        guard access("/usr/bin/openssl", X_OK) == 0 else {
            print("SKIPPED untrusted-certificate test: /usr/bin/openssl is not installed")
            return
        }
        let directory = SeededCgroupTree()  // a temporary directory, removed afterwards
        let key = directory.root + "/key.pem", certificate = directory.root + "/cert.pem"
        #expect(
            runQuietly([
                "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                "-days", "1", "-subj", "/CN=127.0.0.1",
            ]) == 0)
        let port = try Self.freePort()
        let server = try spawnQuietly([
            "/usr/bin/openssl", "s_server", "-quiet", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key", key, "-www",
        ])
        defer {
            kill(server, SIGKILL)
            var status: Int32 = 0
            waitpid(server, &status, 0)
        }
        var listening = false
        for _ in 0..<100 where !listening {
            listening = canConnect(port: port)
            if !listening { usleep(50_000) }
        }
        #expect(listening, "openssl s_server did not start")
        let result = WebhookAlertSink(url: "https://127.0.0.1:\(port)/x", timeoutMilliseconds: 5_000).deliver(Self.alert)
        guard case .failure(let error) = result else {
            Issue.record("a self-signed certificate was accepted")
            return
        }
        #expect(error.reason.lowercased().contains("certificate"), "\(error.reason)")
    }

    /// A port nothing listens on: bound to port 0, read back, closed.
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("bind: errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }

    func canConnect(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    func spawnQuietly(_ argv: [String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
        var pid: pid_t = 0
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        guard posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ) == 0 else {
            throw TestFailure("cannot run \(argv[0])")
        }
        return pid
    }

    func runQuietly(_ argv: [String]) -> Int32 {
        guard let pid = try? spawnQuietly(argv) else { return -1 }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return status
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
