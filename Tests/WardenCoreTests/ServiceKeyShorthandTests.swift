import Testing
@testable import WardenCore

@Suite struct TimeoutShorthandTests {
    /// systemd: `TimeoutSec=` sets both halves; whichever comes later wins for its half.
    @Test(arguments: [
        ("TimeoutSec=30s", TimeSpan.seconds(30), TimeSpan.seconds(30)),
        ("TimeoutSec=30s\nTimeoutStopSec=5s", .seconds(30), .seconds(5)),
        ("TimeoutStartSec=5s\nTimeoutSec=30s", .seconds(30), .seconds(30)),
        ("TimeoutSec=30s\nTimeoutSec=", nil, nil),
    ] as [(String, TimeSpan?, TimeSpan?)])
    func setsBothHalves(body: String, start: TimeSpan?, stop: TimeSpan?) throws {
        var tree = Tree()
        tree.unit("a.service", service(body))
        let result = tree.load()
        let service = try #require(result.configuration?.services.first, "\(result.diagnostics)")
        #expect(service.timeoutStartSec == start)
        #expect(service.timeoutStopSec == stop)
    }
}

@Suite struct SyslogIdentifierTests {
    @Test(arguments: [
        ("", "redis-server"),
        ("SyslogIdentifier=redis", "redis"),
        ("SyslogIdentifier=%N-x", "redis-server-x"),
        ("SyslogIdentifier=redis\nSyslogIdentifier=", "redis-server"),
    ])
    func namesTheLogTag(body: String, tag: String) throws {
        var tree = Tree()
        tree.unit("redis-server.service", service(body))
        let result = tree.load()
        let service = try #require(result.configuration?.services.first, "\(result.diagnostics)")
        #expect(service.logTag == tag)
    }
}
