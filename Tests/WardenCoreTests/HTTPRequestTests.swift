import Testing
import WardenCore

@Suite struct HTTPRequestTests {
    static let json = [HTTPRequest.Field("Content-Type", "application/json")]

    @Test(arguments: [
        // A POST to a name on the scheme's own port: Host without the port.
        (
            "https://hooks.example.com/services/T0/B0/x", "POST", "{}",
            "POST /services/T0/B0/x HTTP/1.1\r\nHost: hooks.example.com\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        ),
        // Another port is in Host; the query rides with the path; the fragment never goes.
        (
            "https://hooks.example.com:8443/hook?token=a%20b#part", "POST", "{\"text\":\"é\"}",
            "POST /hook?token=a%20b HTTP/1.1\r\nHost: hooks.example.com:8443\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"text\":\"é\"}"
        ),
        // An IPv6 literal in brackets, with its port.
        (
            "http://[::1]:8080/relay", "POST", "",
            "POST /relay HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n"
        ),
        // http on 80 and no path: `/`, and Host without the port.
        (
            "http://127.0.0.1", "POST", "x",
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: 1\r\n\r\nx"
        ),
        // https on 80 is not its own port.
        (
            "https://example.com:80/?q", "POST", "",
            "POST /?q HTTP/1.1\r\nHost: example.com:80\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n"
        ),
        // A GET without a body has no Content-Length.
        (
            "http://localhost:9000/health", "GET", "",
            "GET /health HTTP/1.1\r\nHost: localhost:9000\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n"
        ),
    ])
    func requestBytes(url: String, method: String, body: String, wire: String) throws {
        let parsed = try HTTPURL.parse(url).get()
        let request = HTTPRequest(method: method, url: parsed, fields: Self.json, body: Array(body.utf8))
        #expect(String(decoding: request.bytes, as: UTF8.self) == wire)
    }

    @Test(arguments: [
        ("example.com", UInt16(443), UInt16(443), "example.com"),
        ("example.com", 8443, 443, "example.com:8443"),
        ("::1", 80, 80, "[::1]"),
        ("fe80::1", 8080, 80, "[fe80::1]:8080"),
        ("10.0.0.1", 8080, 80, "10.0.0.1:8080"),
    ])
    func authority(host: String, port: UInt16, defaultPort: UInt16, shown: String) {
        #expect(HTTPRequest.authority(host: host, port: port, defaultPort: defaultPort) == shown)
    }
}

@Suite struct HTTPURLTests {
    @Test(arguments: [
        ("https://hooks.slack.com/services/T0/B0/x", HTTPURL(scheme: .https, host: "hooks.slack.com", port: 443, target: "/services/T0/B0/x")),
        ("http://127.0.0.1:9000/relay", HTTPURL(scheme: .http, host: "127.0.0.1", port: 9000, target: "/relay")),
        ("http://localhost", HTTPURL(scheme: .http, host: "localhost", port: 80, target: "/")),
        ("https://example.com?x=1", HTTPURL(scheme: .https, host: "example.com", port: 443, target: "/?x=1")),
        ("https://example.com#top", HTTPURL(scheme: .https, host: "example.com", port: 443, target: "/")),
        ("HTTPS://Example.com/A", HTTPURL(scheme: .https, host: "Example.com", port: 443, target: "/A")),
        ("https://[2001:db8::1]:8443/h", HTTPURL(scheme: .https, host: "2001:db8::1", port: 8443, target: "/h")),
        ("http://[::1]/", HTTPURL(scheme: .http, host: "::1", port: 80, target: "/")),
    ])
    func parsed(text: String, url: HTTPURL) {
        #expect(HTTPURL.parse(text) == .success(url))
    }

    @Test(arguments: [
        ("hooks.slack.com/x", "the scheme is not http:// or https://"),
        ("ftp://example.com/x", "the scheme is not http:// or https://"),
        ("https:/example.com/x", "the scheme is not http:// or https://"),
        ("", "the scheme is not http:// or https://"),
        ("https://", "it names no host"),
        ("https:///path", "it names no host"),
        ("https://:8443/path", "the host is empty"),
        ("https://user:secret@example.com/x", "a user name or password (user@host) in the URL is not supported"),
        ("https://@example.com/x", "a user name or password (user@host) in the URL is not supported"),
        ("https://example.com:0/x", "'0' is not a port from 1 to 65535"),
        ("https://example.com:65536/x", "'65536' is not a port from 1 to 65535"),
        ("https://example.com:/x", "'' is not a port from 1 to 65535"),
        ("https://example.com:https/x", "'https' is not a port from 1 to 65535"),
        ("https://[::1/x", "the '[' of an IPv6 address is not closed"),
        ("https://::1/x", "an IPv6 address must be written in brackets, such as [::1]:8080"),
        ("https://exa mple.com/x", "the host holds a space, a control character or a non-ASCII letter (write a name in its xn-- form)"),
        ("https://bücher.example/x", "the host holds a space, a control character or a non-ASCII letter (write a name in its xn-- form)"),
        ("https://example.com/a b", "the path contains a space or a control character"),
        ("https://example.com/a\nb", "the path contains a space or a control character"),
    ])
    func refused(text: String, reason: String) {
        #expect(HTTPURL.parse(text) == .failure(ValueError(reason)))
    }

    /// A refusal never quotes the URL: its path may carry the webhook's secret.
    @Test func aRefusalNeverShowsThePath() {
        guard case .failure(let why) = HTTPURL.parse("https://example.com:99999/services/SECRET") else {
            Issue.record("accepted")
            return
        }
        #expect(!why.message.contains("SECRET"))
    }

    @Test(arguments: [
        ("https://example.com/x", "example.com"),
        ("https://example.com:443/x", "example.com"),
        ("http://example.com:443/x", "example.com:443"),
        ("https://[::1]:8443/x", "[::1]:8443"),
    ])
    func authority(text: String, shown: String) throws {
        #expect(try HTTPURL.parse(text).get().authority == shown)
    }
}

@Suite struct HTTPStatusReaderTests {
    @Test func theStatusIsFoundAcrossChunks() {
        var reader = HTTPStatusReader()
        #expect(reader.isEmpty)
        #expect(reader.receive(Array("HTTP/1.1 2".utf8)) == .needMore)
        #expect(reader.room == HTTPStatusReader.maximumBytes - 10)
        #expect(reader.receive(Array("04 No Content\r\n".utf8)) == .status(204))
    }

    @Test func anAnswerWithoutAStatusLineInTheBoundIsTooLong() {
        var reader = HTTPStatusReader()
        // A status line that never ends: the bound stops the reading.
        #expect(reader.receive(Array("HTTP/1.1 200 ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 8000)) == .needMore)
        #expect(reader.receive([UInt8](repeating: UInt8(ascii: "x"), count: 500)) == .tooLong)
        #expect(reader.room == 0)
    }

    @Test func notHTTPIsMalformed() {
        var reader = HTTPStatusReader()
        #expect(reader.receive(Array("SSH-2.0-OpenSSH\r\n".utf8)) == .malformed("'SSH-2.0-OpenSSH\\r\\n'"))
    }
}

@Suite struct ConnectAttemptsTests {
    @Test func aLiteralIsTriedAloneWithoutALookup() {
        let literal = ProbeAddress(family: .ipv4, host: "10.0.0.7", port: 443)
        var attempts = ConnectAttempts(host: "10.0.0.7", port: 443, literal: literal)
        #expect(!attempts.needsLookup)
        #expect(attempts.next() == literal)
        attempts.failed(literal, reason: "Connection refused")
        #expect(attempts.next() == nil)
        #expect(attempts.failureReason == "connect 10.0.0.7:443: Connection refused")
    }

    @Test func aNameIsLookedUpThenEachAddressTriedAndNamedInTheFailure() {
        var attempts = ConnectAttempts(host: "hooks.example.com", port: 443, literal: nil)
        #expect(attempts.needsLookup)
        #expect(attempts.resolved([]) == "resolve hooks.example.com: no IPv4 or IPv6 address")
        let v4 = ProbeAddress(family: .ipv4, host: "192.0.2.1", port: 443)
        let v6 = ProbeAddress(family: .ipv6, host: "2001:db8::1", port: 443)
        #expect(attempts.resolved([v4, v6]) == nil)
        #expect(!attempts.needsLookup)
        #expect(attempts.describe(v4) == "hooks.example.com:443 (192.0.2.1)")
        for address in [v4, v6] {
            #expect(attempts.next() == address)
            attempts.failed(address, reason: "Network is unreachable")
        }
        #expect(attempts.next() == nil)
        #expect(
            attempts.failureReason
                == "connect hooks.example.com:443 (192.0.2.1: Network is unreachable; 2001:db8::1: Network is unreachable)")
        #expect(attempts.lookupFailed("Name or service not known") == "resolve hooks.example.com: Name or service not known")
    }

    @Test func aLoopbackNameNeedsNoLookup() {
        var attempts = ConnectAttempts(host: "localhost", port: 9000, literal: nil)
        #expect(!attempts.needsLookup)
        #expect(attempts.next()?.host == "127.0.0.1")
        #expect(attempts.next()?.host == "::1")
    }
}
