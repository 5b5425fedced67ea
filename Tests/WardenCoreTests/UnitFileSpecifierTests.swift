import Testing
@testable import WardenCore

@Suite struct UnitFileSpecifierTests {
    static let context = SpecifierContext(
        hostname: "node1.example.com", machineID: "0123456789abcdef0123456789abcdef",
        bootID: "fedcba9876543210fedcba9876543210", kernelRelease: "6.1.0-18-amd64",
        architecture: "x86-64", userName: "root", userID: 0, groupName: "root", groupID: 0,
        homeDirectory: "/root", shell: "/bin/bash")

    static let instance = UnitName(prefix: "feed-us-east", instance: "var-lib-x\\x2dy", kind: .service)
    static let plain = UnitName(prefix: "order-executor", kind: .service)

    @Test(arguments: [
        ("%n", "feed-us-east@var-lib-x\\x2dy.service"),
        ("%N", "feed-us-east@var-lib-x\\x2dy"),
        ("%p", "feed-us-east"),
        ("%P", "feed/us/east"),
        ("%i", "var-lib-x\\x2dy"),
        ("%I", "var/lib/x-y"),
        ("%j", "east"),
        ("%J", "east"),
        ("%f", "/var/lib/x-y"),
        ("%H", "node1.example.com"),
        ("%l", "node1"),
        ("%m", "0123456789abcdef0123456789abcdef"),
        ("%b", "fedcba9876543210fedcba9876543210"),
        ("%v", "6.1.0-18-amd64"),
        ("%a", "x86-64"),
        ("%u:%U:%g:%G", "root:0:root:0"),
        ("%h %s", "/root /bin/bash"),
        ("%t/%S/%C/%L/%E/%T/%V", "/run//var/lib//var/cache//var/log//etc//tmp//var/tmp"),
        ("%y", "/etc/warden/feed-us-east@.service"),
        ("%Y", "/etc/warden"),
        ("100%%", "100%"),
        ("%%n", "%n"),
        ("trailing %", "trailing %"),
        ("no specifiers", "no specifiers"),
        ("ünï %i cödé", "ünï var-lib-x\\x2dy cödé"),
    ])
    func expandsForInstance(text: String, expected: String) {
        let result = Self.context.expand(text, for: Self.instance, fragmentPath: "/etc/warden/feed-us-east@.service")
        #expect(result == .success(expected))
    }

    @Test(arguments: [
        ("%n", "order-executor.service"),
        ("%N", "order-executor"),
        ("%i", ""),
        ("%I", ""),
        ("%j", "executor"),
        ("%f", "/order/executor"),
        ("%p-%i", "order-executor-"),
    ])
    func expandsForPlainUnit(text: String, expected: String) {
        #expect(Self.context.expand(text, for: Self.plain) == .success(expected))
    }

    @Test func prefixWithoutDashGivesWholePrefixForJ() {
        #expect(Self.context.expand("%j", for: UnitName(prefix: "feed", instance: "1", kind: .service)) == .success("feed"))
    }

    @Test(arguments: ["%z", "a %k b", "%X"])
    func unknownSpecifierIsError(text: String) {
        guard case .failure(let error) = Self.context.expand(text, for: Self.plain) else {
            Issue.record("expanded \(text)")
            return
        }
        #expect(error.message.contains("unknown specifier"))
        #expect(error.message.contains("%%"))
    }

    @Test(arguments: ["%m", "%b", "%u", "%U", "%h", "%y"])
    func missingHostFactIsError(text: String) {
        let bare = SpecifierContext(hostname: "h")
        guard case .failure(let error) = bare.expand(text, for: Self.plain) else {
            Issue.record("expanded \(text) without the fact")
            return
        }
        #expect(error.message.contains("not known"))
    }

    @Test func badEscapeInInstanceIsError() {
        let name = UnitName(prefix: "x", instance: "a\\q", kind: .service)
        #expect(Self.context.expand("%i", for: name) == .success("a\\q"))
        guard case .failure(let error) = Self.context.expand("%I", for: name) else {
            Issue.record("unescaped a bad escape")
            return
        }
        #expect(error.specifier == "I")
    }
}
