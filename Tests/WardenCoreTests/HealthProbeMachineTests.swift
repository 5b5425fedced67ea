import Testing
import WardenCore

private typealias Event = HealthProbeMachine.Event
private typealias Action = HealthProbeMachine.Action

private func v4(_ port: UInt16, _ host: String = "127.0.0.1") -> ProbeAddress { ProbeAddress(family: .ipv4, host: host, port: port) }
private func v6(_ port: UInt16, _ host: String = "::1") -> ProbeAddress { ProbeAddress(family: .ipv6, host: host, port: port) }

private let tcp = HealthCheckTarget.tcp(host: "127.0.0.1", port: 9000)
private let tcpLocalhost = HealthCheckTarget.tcp(host: "localhost", port: 9000)
private let tcpName = HealthCheckTarget.tcp(host: "db.internal", port: 5432)
private let http = HealthCheckTarget.http(host: "127.0.0.1", port: 8080, path: "/health")
private let url = "http://127.0.0.1:8080/health"
private let exec = HealthCheckTarget.exec(path: "/bin/check", arguments: ["--deep"])

/// Every action the machine returns for `events`, in order.
private func run(_ target: HealthCheckTarget, timeout: TimeSpan = .milliseconds(200), _ events: [Event]) -> [Action] {
    var machine = HealthProbeMachine(target: target, timeout: timeout)
    return events.flatMap { machine.handle($0) }
}

/// One probe's run: the events fed in, and the result the machine reports.
struct ProbeRun: Sendable, CustomTestStringConvertible {
    var name: String
    var target: HealthCheckTarget
    var events: [HealthProbeMachine.Event]
    /// nil: passed.
    var failure: String?

    var testDescription: String { name }
}

private let answered: [Event] = [.start(literal: v4(8080)), .connected, .requestSent]

@Suite struct HealthProbeMachineTests {
    @Test(arguments: [
        // tcp
        ProbeRun(name: "tcp accepted", target: tcp, events: [.start(literal: v4(9000)), .connected], failure: nil),
        ProbeRun(
            name: "tcp refused", target: tcp, events: [.start(literal: v4(9000)), .connectFailed(reason: "Connection refused")],
            failure: "connect 127.0.0.1:9000: Connection refused"),
        ProbeRun(
            name: "localhost: both loopback addresses refused", target: tcpLocalhost,
            events: [.start(literal: nil), .connectFailed(reason: "Connection refused"), .connectFailed(reason: "Connection refused")],
            failure: "connect localhost:9000 (127.0.0.1: Connection refused; ::1: Connection refused)"),
        ProbeRun(
            name: "localhost: IPv4 refused, IPv6 accepted", target: tcpLocalhost,
            events: [.start(literal: nil), .connectFailed(reason: "Connection refused"), .connected], failure: nil),
        ProbeRun(
            name: "a resolved name that does not connect", target: tcpName,
            events: [.start(literal: nil), .resolved([v4(5432, "10.0.0.5")]), .connectFailed(reason: "No route to host")],
            failure: "connect db.internal:5432 (10.0.0.5): No route to host"),
        ProbeRun(
            name: "a name without addresses", target: tcpName, events: [.start(literal: nil), .resolved([])],
            failure: "resolve db.internal: no IPv4 or IPv6 address"),
        ProbeRun(
            name: "a name the resolver does not know", target: tcpName,
            events: [.start(literal: nil), .resolutionFailed("Name or service not known")],
            failure: "resolve db.internal: Name or service not known"),
        // http
        ProbeRun(name: "http 200", target: http, events: answered + [.received(Array("HTTP/1.1 200 OK\r\n".utf8))], failure: nil),
        ProbeRun(
            name: "http status line in two reads", target: http,
            events: answered + [.received(Array("HTTP/1.1 2".utf8)), .received(Array("04 No Content\r\n".utf8))], failure: nil),
        ProbeRun(
            name: "http 503", target: http, events: answered + [.received(Array("HTTP/1.1 503 Busy\r\n".utf8))],
            failure: "HTTP 503 from \(url)"),
        ProbeRun(
            name: "not http", target: http, events: answered + [.received(Array("SSH-2.0-OpenSSH_9.2\r\n".utf8))],
            failure: "not an HTTP answer from \(url): 'SSH-2.0-OpenSSH_9.2\\r\\n'"),
        ProbeRun(
            name: "closed without an answer", target: http, events: answered + [.closedByPeer],
            failure: "connection closed by \(url) without an answer"),
        ProbeRun(
            name: "closed within the status line", target: http, events: answered + [.received(Array("HTTP/1.1 20".utf8)), .closedByPeer],
            failure: "connection closed by \(url) before a complete HTTP status line"),
        ProbeRun(
            name: "no status line in 8 KiB", target: http,
            events: answered + [.received(Array("HTTP/1.1 200 ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 8192))],
            failure: "no HTTP status line in the first 8192 bytes from \(url)"),
        ProbeRun(
            name: "send failed", target: http, events: [.start(literal: v4(8080)), .connected, .sendFailed(reason: "Broken pipe")],
            failure: "send the request to \(url): Broken pipe"),
        ProbeRun(
            name: "read failed", target: http, events: answered + [.receiveFailed(reason: "Connection reset by peer")],
            failure: "read the answer from \(url): Connection reset by peer"),
        ProbeRun(
            name: "a path that would break the request line", target: .http(host: "127.0.0.1", port: 8080, path: "/a b"),
            events: [.start(literal: v4(8080))],
            failure: "http://127.0.0.1:8080/a b: the path contains a space or a control character"),
        // timeouts, by stage
        ProbeRun(
            name: "timeout resolving", target: tcpName, events: [.start(literal: nil), .timedOut],
            failure: "timed out after 200ms resolving db.internal"),
        ProbeRun(
            name: "timeout connecting to a literal", target: tcp, events: [.start(literal: v4(9000)), .timedOut],
            failure: "timed out after 200ms connecting to 127.0.0.1:9000"),
        ProbeRun(
            name: "timeout connecting to a name", target: tcpLocalhost, events: [.start(literal: nil), .timedOut],
            failure: "timed out after 200ms connecting to localhost:9000 (127.0.0.1)"),
        ProbeRun(
            name: "timeout sending", target: http, events: [.start(literal: v4(8080)), .connected, .timedOut],
            failure: "timed out after 200ms sending the request to \(url)"),
        ProbeRun(
            name: "timeout waiting for the status line", target: http, events: answered + [.timedOut],
            failure: "timed out after 200ms waiting for an HTTP status line from \(url)"),
        // exec
        ProbeRun(
            name: "exec exit 0", target: exec, events: [.start(literal: nil), .commandStarted, .commandExited(.exited(code: 0))],
            failure: nil),
        ProbeRun(
            name: "exec exit 2", target: exec, events: [.start(literal: nil), .commandStarted, .commandExited(.exited(code: 2))],
            failure: "exec /bin/check exited with status 2"),
        ProbeRun(
            name: "exec killed", target: exec,
            events: [.start(literal: nil), .commandStarted, .commandExited(.killed(signal: 15, coreDumped: false))],
            failure: "exec /bin/check killed by SIGTERM"),
        ProbeRun(
            name: "exec dumped core", target: exec,
            events: [.start(literal: nil), .commandStarted, .commandExited(.killed(signal: 6, coreDumped: true))],
            failure: "exec /bin/check killed by SIGABRT (core dumped)"),
        ProbeRun(
            name: "exec status taken", target: exec, events: [.start(literal: nil), .commandStarted, .commandExited(nil)],
            failure: "exec /bin/check: its exit status was taken by another waiter"),
        ProbeRun(
            name: "exec not started", target: exec,
            events: [.start(literal: nil), .commandNotStarted(reason: "execve /bin/check: No such file or directory (errno 2)")],
            failure: "exec /bin/check could not start: execve /bin/check: No such file or directory (errno 2)"),
        ProbeRun(
            name: "exec killed after the timeout", target: exec,
            events: [.start(literal: nil), .commandStarted, .timedOut, .commandExited(.killed(signal: 9, coreDumped: false))],
            failure: "exec /bin/check killed by SIGKILL after timeout (200ms)"),
        ProbeRun(
            name: "exec ended on its own after the timeout", target: exec,
            events: [.start(literal: nil), .commandStarted, .timedOut, .commandExited(.exited(code: 0))],
            failure: "exec /bin/check timed out after 200ms"),
        ProbeRun(
            name: "exec outlived SIGKILL", target: exec,
            events: [.start(literal: nil), .commandStarted, .timedOut, .killGraceExpired],
            failure: "exec /bin/check timed out after 200ms and was still running 5s after SIGKILL"),
    ])
    func result(of probe: ProbeRun) {
        let actions = run(probe.target, probe.events)
        let results = actions.compactMap { action -> HealthProbeResult? in
            if case .finish(let result) = action { return result }
            return nil
        }
        #expect(results == [probe.failure.map { .failed(reason: $0) } ?? .passed])
        #expect(actions.last == results.last.map { .finish($0) }, "the result is the last action")
    }

    @Test func aLiteralIsConnectedToWithoutALookup() {
        #expect(run(tcp, [.start(literal: v4(9000))]) == [.connect(v4(9000))])
    }

    @Test func aNameOutsideTheLoopbackTableIsResolved() {
        #expect(run(tcpName, [.start(literal: nil)]) == [.resolve(host: "db.internal", port: 5432)])
        #expect(
            run(tcpName, [.start(literal: nil), .resolved([v6(5432, "fd00::5"), v4(5432, "10.0.0.5")])])
                == [.resolve(host: "db.internal", port: 5432), .connect(v6(5432, "fd00::5"))])
    }

    @Test func aRefusedAddressIsClosedBeforeTheNextIsTried() {
        #expect(
            run(tcpLocalhost, [.start(literal: nil), .connectFailed(reason: "Connection refused")])
                == [.connect(v4(9000)), .closeSocket, .connect(v6(9000))])
    }

    @Test func httpSendsOneMinimalGetThenAwaitsTheAnswer() {
        let request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\nUser-Agent: warden-healthcheck\r\n\r\n"
        #expect(
            run(http, [.start(literal: v4(8080)), .connected, .requestSent])
                == [.connect(v4(8080)), .send(Array(request.utf8)), .awaitAnswer])
        let port80 = HealthCheckTarget.http(host: "::1", port: 80, path: "/")
        #expect(
            run(port80, [.start(literal: v6(80)), .connected]).last
                == .send(Array("GET / HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\nUser-Agent: warden-healthcheck\r\n\r\n".utf8)))
    }

    @Test func anOverrunningCommandIsKilledAndGivenAGrace() {
        #expect(
            run(exec, [.start(literal: nil), .commandStarted, .timedOut])
                == [.runCommand(path: "/bin/check", arguments: ["--deep"]), .killCommand, .armKillGrace(.seconds(5))])
    }

    @Test func theResponseRoomShrinksAsTheAnswerArrives() {
        var machine = HealthProbeMachine(target: http, timeout: .seconds(1))
        for event in answered { _ = machine.handle(event) }
        #expect(machine.responseRoom == 8192)
        _ = machine.handle(.received(Array("HTTP/1.1 2".utf8)))
        #expect(machine.responseRoom == 8182)
    }

    @Test(arguments: [
        HealthProbeMachine.Event.timedOut, .connected, .closedByPeer, .commandExited(.exited(code: 1)), .killGraceExpired,
    ])
    func nothingHappensAfterTheResult(late: HealthProbeMachine.Event) {
        var machine = HealthProbeMachine(target: tcp, timeout: .seconds(1))
        _ = machine.handle(.start(literal: v4(9000)))
        #expect(machine.handle(.connected) == [.finish(.passed)])
        #expect(machine.stage == .finished)
        #expect(machine.handle(late).isEmpty)
    }

    @Test(arguments: [
        HealthProbeMachine.Event.connected, .requestSent, .received([1]), .commandStarted, .killGraceExpired,
        .start(literal: nil),
    ])
    func eventsOfAnotherStageAreIgnored(stray: HealthProbeMachine.Event) {
        var machine = HealthProbeMachine(target: tcpName, timeout: .seconds(1))
        #expect(machine.handle(.start(literal: nil)) == [.resolve(host: "db.internal", port: 5432)])
        #expect(machine.handle(stray).isEmpty)
        #expect(machine.stage == .resolving(host: "db.internal"))
    }

    // MARK: Tables

    /// The loopback table: names every resolver answers locally, and their addresses in
    /// the order they are tried.
    @Test(arguments: [
        ("localhost", ["127.0.0.1", "::1"]),
        ("LOCALHOST.", ["127.0.0.1", "::1"]),
        ("api.localhost", ["127.0.0.1", "::1"]),
        ("api.localhost.", ["127.0.0.1", "::1"]),
        ("localhost.localdomain", ["127.0.0.1", "::1"]),
        ("ip6-localhost", ["::1"]),
        ("ip6-loopback", ["::1"]),
        ("localhostess", nil),
        ("mylocalhost", nil),
        ("localhost.example", nil),
        ("db.internal", nil),
        ("127.0.0.1", nil),
    ] as [(String, [String]?)])
    func loopbackNames(name: String, hosts: [String]?) {
        let found = ProbeAddress.loopback(forName: name, port: 9)
        #expect(found?.map(\.host) == hosts)
        #expect(found?.allSatisfy { $0.port == 9 && ($0.family == .ipv6) == $0.host.contains(":") } ?? true)
    }

    @Test(arguments: [
        ("/health", nil),
        ("/a?b=c&d", nil),
        ("/", nil),
        ("/a b", "the path contains a space or a control character"),
        ("/a\r\nX-Evil: 1", "the path contains a space or a control character"),
        ("/a\u{7f}", "the path contains a space or a control character"),
        ("health", "the path 'health' does not start with '/'"),
        ("", "the path '' does not start with '/'"),
    ] as [(String, String?)])
    func requestPathsThatWouldBreakTheRequestLineAreRefused(path: String, why: String?) {
        #expect(HTTPRequest.invalidTargetReason(path) == why)
    }

    @Test(arguments: [
        (ProbeAddress(family: .ipv4, host: "127.0.0.1", port: 80), "127.0.0.1:80"),
        (ProbeAddress(family: .ipv6, host: "::1", port: 9000), "[::1]:9000"),
        (ProbeAddress(family: .ipv6, host: "fe80::1%2", port: 80, scopeID: 2), "[fe80::1%2]:80"),
    ])
    func addressesAreShownAsInAURL(address: ProbeAddress, shown: String) {
        #expect(address.display == shown)
    }
}
