import Testing
@testable import WardenCore

@Suite struct PrivilegeCheckTests {
    func configuration() throws -> Configuration {
        var tree = Tree()
        tree.unit("a.service", service("OOMScoreAdjust=-500\nNice=-10\nCPUSchedulingPolicy=fifo\nCPUSchedulingPriority=10\nUser=nobody"))
        tree.unit("b.service", service("OOMScoreAdjust=200\nNice=5"))
        return try #require(tree.load().configuration)
    }

    @Test func everythingIsEnforceableWithAllCapabilities() throws {
        #expect(PrivilegeCheck.unenforceable(in: try configuration(), capabilities: .all).isEmpty)
    }

    @Test func missingCapabilitiesAreNamedAndTheSettingsRemoved() throws {
        let config = try configuration()
        // This build host's set: everything but CAP_SYS_RESOURCE.
        let withoutSysResource = CapabilitySet(bits: 0x0000_01ff_feff_ffff)
        let findings = PrivilegeCheck.unenforceable(in: config, capabilities: withoutSysResource)
        #expect(findings.map(\.key) == ["OOMScoreAdjust"])
        #expect(findings.first?.description == "OOMScoreAdjust=-500 on a.service not enforced: it needs CAP_SYS_RESOURCE, which Warden does not have here")
        let stripped = PrivilegeCheck.removing(findings, from: config)
        #expect(stripped.service(named: "a.service")?.oomScoreAdjust == nil)
        #expect(stripped.service(named: "a.service")?.nice == -10)
        #expect(stripped.service(named: "b.service")?.oomScoreAdjust == 200)

        let none = PrivilegeCheck.unenforceable(in: config, capabilities: CapabilitySet(bits: 0))
        #expect(Set(none.map(\.key)) == ["OOMScoreAdjust", "Nice", "CPUSchedulingPolicy", "User"])
        let bare = PrivilegeCheck.removing(none, from: config).service(named: "a.service")
        #expect(bare?.nice == nil && bare?.cpuSchedulingPolicy == nil && bare?.cpuSchedulingPriority == nil && bare?.user == nil)
    }
}
