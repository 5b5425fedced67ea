import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// Warden's HTTP client driven blocking, as the alert webhook drives it, against real
/// servers on this host: python3's http.server, plain and wrapped in python3's `ssl` with
/// a throwaway certificate made by `openssl req`. The certificate is trusted through the
/// client's CA-file option, never through the test process's environment.
@Suite(.serialized) struct HTTPClientTests {
    /// A directory of its own, a key and certificate in it when asked, and a python3 server
    /// answering every POST with `status` and keeping the last request in `request`.
    final class PythonServer {
        let directory = SeededCgroupTree()  // a temporary directory, removed afterwards
        private(set) var port: UInt16 = 0
        private var process: SpawnedProcess?

        static let script = """
            import http.server, os, ssl, sys
            mode, status, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
            def publish(name, data):
                with open(os.path.join(directory, name + ".tmp"), "wb") as f:
                    f.write(data)
                os.rename(os.path.join(directory, name + ".tmp"), os.path.join(directory, name))
            class Handler(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                    head = self.requestline + "\\r\\n" + "".join(f"{k}: {v}\\r\\n" for k, v in self.headers.items())
                    publish("request", head.encode() + b"\\r\\n" + body)
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
            if mode == "tls":
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem"))
                server.socket = context.wrap_socket(server.socket, server_side=True)
            publish("port", str(server.server_address[1]).encode())
            server.serve_forever()
            """

        /// `names`: the certificate's subjectAltName (`DNS:localhost,IP:127.0.0.1`); nil
        /// for plain http.
        init(status: Int, certificateFor names: String? = nil) throws {
            for tool in ["/usr/bin/python3", "/usr/bin/openssl"] where access(tool, X_OK) != 0 {
                throw Unavailable(tool: tool)
            }
            if let names {
                let (made, output) = try TestProcess.run(
                    SpawnRequest(
                        executablePath: "/usr/bin/openssl",
                        arguments: [
                            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-keyout", directory.root + "/key.pem", "-out", directory.root + "/cert.pem", "-days", "1",
                            "-subj", "/CN=warden-test", "-addext", "subjectAltName=\(names)",
                        ], stderr: .null))
                guard made == .exited(code: 0) else { throw TestFailure("openssl req: \(String(describing: made)) \(output)") }
            }
            directory.write("server.py", Self.script)
            let started = try spawnProcess(
                SpawnRequest(
                    executablePath: "/usr/bin/python3",
                    arguments: ["python3", directory.root + "/server.py", names == nil ? "plain" : "tls", "\(status)", directory.root],
                    stdin: .null, stdout: .null, stderr: .null))
            process = started
            for _ in 0..<400 {
                if let text = directory.read("port"), let number = UInt16(text) {
                    port = number
                    return
                }
                usleep(25_000)
            }
            stop()
            throw TestFailure("the python3 server did not start within 10 s")
        }

        var certificate: String { directory.root + "/cert.pem" }

        /// The last request as the server read it: request line, header lines, body.
        var request: String? { directory.read("request") }

        /// Kills the server by its pidfd and reaps it.
        func stop() {
            if let process { TestProcess.kill(process) }
            process = nil
        }

        deinit { stop() }
    }

    struct Unavailable: Error, CustomStringConvertible {
        var tool: String
        var description: String { "\(tool) is not installed" }
    }

    static let alert = GovernorAlert(
        rule: "tier-critical", at: .zero, from: .normal, to: .critical, readings: [],
        text: "Warden governor normal → critical")

    /// Runs `body` with a server, or prints why the test is skipped.
    func withServer(status: Int = 200, certificateFor names: String? = nil, _ body: (PythonServer) throws -> Void) throws {
        let server: PythonServer
        do {
            server = try PythonServer(status: status, certificateFor: names)
        } catch let missing as Unavailable {
            print("SKIPPED: \(missing)")
            return
        }
        defer { server.stop() }
        try body(server)
    }

    func failure(_ result: Result<Void, GovernorAlertDeliveryError>) -> String? {
        if case .failure(let error) = result { return error.reason }
        return nil
    }

    @Test func aPlainPostCarriesTheJSONBodyAndTheHeadersAServerNeeds() throws {
        try withServer { server in
            let sink = WebhookAlertSink(url: "http://127.0.0.1:\(server.port)/hooks/T0/secret?via=test", timeoutMilliseconds: 5_000)
            let result = sink.deliver(Self.alert)
            #expect(failure(result) == nil, "\(result)")
            let request = try #require(server.request)
            let body = WebhookAlerts.payload(Self.alert)
            #expect(request.hasPrefix("POST /hooks/T0/secret?via=test HTTP/1.1\r\n"))
            for header in [
                "Host: 127.0.0.1:\(server.port)", "Connection: close", "Content-Type: application/json",
                "Content-Length: \(body.utf8.count)", "User-Agent: warden",
            ] {
                #expect(request.contains("\r\n\(header)\r\n"), "\(header) missing from \(request)")
            }
            #expect(request.hasSuffix("\r\n\r\n" + body))
        }
    }

    @Test func aTLSPostToATrustedCertificateNamingTheHostIsDelivered() throws {
        try withServer(certificateFor: "DNS:localhost,IP:127.0.0.1") { server in
            for host in ["localhost", "127.0.0.1"] {
                let sink = WebhookAlertSink(
                    url: "https://\(host):\(server.port)/hooks/secret", timeoutMilliseconds: 5_000,
                    trust: .caFile(server.certificate))
                let result = sink.deliver(Self.alert)
                #expect(failure(result) == nil, "\(host): \(result)")
                let request = try #require(server.request)
                #expect(request.hasPrefix("POST /hooks/secret HTTP/1.1\r\n"))
                #expect(request.contains("\r\nHost: \(host):\(server.port)\r\n"))
                #expect(request.hasSuffix("\r\n\r\n" + WebhookAlerts.payload(Self.alert)))
            }
        }
    }

    @Test func aCertificateForAnotherHostIsRefused() throws {
        try withServer(certificateFor: "DNS:other.example,IP:192.0.2.1") { server in
            for (host, mismatch) in [("localhost", "hostname mismatch"), ("127.0.0.1", "IP address mismatch")] {
                let result = WebhookAlertSink(
                    url: "https://\(host):\(server.port)/hooks/secret", timeoutMilliseconds: 5_000,
                    trust: .caFile(server.certificate)
                ).deliver(Self.alert)
                let reason = try #require(failure(result), "delivered to a certificate for other.example")
                #expect(
                    reason == "TLS handshake with \(host):\(server.port): certificate verification failed: \(mismatch)")
            }
        }
    }

    @Test func aCertificateNoTrustedAuthoritySignedIsRefused() throws {
        try withServer(certificateFor: "DNS:localhost") { server in
            let result = WebhookAlertSink(url: "https://localhost:\(server.port)/hooks/secret", timeoutMilliseconds: 5_000)
                .deliver(Self.alert)
            let reason = try #require(failure(result), "a self-signed certificate was accepted")
            #expect(reason == "TLS handshake with localhost:\(server.port): certificate verification failed: self-signed certificate")
        }
    }

    @Test func aNon2xxAnswerFailsWithItsStatus() throws {
        try withServer(status: 503, certificateFor: "DNS:localhost") { server in
            let result = WebhookAlertSink(
                url: "https://localhost:\(server.port)/hooks/secret", timeoutMilliseconds: 5_000, trust: .caFile(server.certificate)
            ).deliver(Self.alert)
            #expect(failure(result) == "answered HTTP 503")
            #expect(server.request != nil)
        }
    }

    @Test func httpsToAPlainServerFailsInTheHandshake() throws {
        try withServer { server in
            let result = WebhookAlertSink(url: "https://127.0.0.1:\(server.port)/hooks/secret", timeoutMilliseconds: 5_000)
                .deliver(Self.alert)
            let reason = try #require(failure(result), "delivered over TLS to a plain server")
            #expect(reason.hasPrefix("TLS handshake with 127.0.0.1:\(server.port): "), "\(reason)")
            #expect(!reason.contains("timed out"), "\(reason)")
        }
    }

    @Test func anUnreadableCAFileIsNamed() throws {
        let listener = try Listener()
        let result = WebhookAlertSink(
            url: "https://127.0.0.1:\(listener.port)/x", timeoutMilliseconds: 2_000, trust: .caFile("/nonexistent/ca.pem")
        ).deliver(Self.alert)
        let reason = try #require(failure(result))
        #expect(reason.hasPrefix("TLS with 127.0.0.1:\(listener.port): cannot read the CA file /nonexistent/ca.pem: "), "\(reason)")
    }

    /// A socket that listens and never accepts: the kernel completes the connection and
    /// takes the request, and no answer ever comes.
    final class Listener {
        let port: UInt16
        private let fd: Int32

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let listening = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard listening else {
                close(fd)
                throw TestFailure("bind/listen: errno \(errno)")
            }
            self.fd = fd
            port = UInt16(bigEndian: address.sin_port)
        }

        deinit { close(fd) }
    }

    @Test(arguments: [
        ("http", "timed out after 500ms waiting for an HTTP status line from 127.0.0.1:"),
        ("https", "timed out after 500ms in the TLS handshake with 127.0.0.1:"),
    ])
    func aServerThatNeverAnswersTimesOutWithinTheDeadline(scheme: String, reason: String) throws {
        let listener = try Listener()
        let started = monotonicMicroseconds()
        let result = WebhookAlertSink(url: "\(scheme)://127.0.0.1:\(listener.port)/hooks/secret", timeoutMilliseconds: 500)
            .deliver(Self.alert)
        let elapsed = monotonicMicroseconds() - started
        #expect(failure(result) == reason + "\(listener.port)")
        #expect(elapsed >= 500_000 && elapsed < 1_500_000, "took \(elapsed) µs for a 500 ms timeout")
    }

    @Test func aRefusedConnectionNamesTheAddressAndNeverThePath() throws {
        let port = try WebhookAlertTests.freePort()
        let url = try HTTPURL.parse("http://localhost:\(port)/hooks/secret").get()
        let result = HTTPClient.exchange(HTTPRequest(method: "POST", url: url), with: url, timeout: .seconds(2))
        guard case .failure(let failure) = result else {
            Issue.record("an answer from a closed port: \(result)")
            return
        }
        // ::1 is refused too, or unreachable where IPv6 is off.
        #expect(failure.reason.hasPrefix("connect localhost:\(port) (127.0.0.1: Connection refused; ::1: "), "\(failure.reason)")
        #expect(!failure.reason.contains("secret"))
    }
}
