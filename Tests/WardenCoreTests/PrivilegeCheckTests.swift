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

@Suite struct ResourceLimitCeilingTests {
    static let own: [ResourceLimitKind: ResourceLimit] = [
        .openFiles: ResourceLimit(soft: 1024, hard: 4096), .core: ResourceLimit(soft: 0, hard: nil),
    ]
    static let withoutSysResource = CapabilitySet(bits: 0x0000_01ff_feff_ffff)

    /// Above Warden's own hard limit and without CAP_SYS_RESOURCE: said with both numbers,
    /// and the component gets Warden's hard limit (a soft limit below it is kept).
    @Test(arguments: [
        ("LimitNOFILE=65535", "65535", ResourceLimit(soft: 4096, hard: 4096)),
        ("LimitNOFILE=1024:65535", "1024:65535", ResourceLimit(soft: 1024, hard: 4096)),
        ("LimitNOFILE=infinity", "infinity", ResourceLimit(soft: 4096, hard: 4096)),
    ])
    func aboveTheOwnHardLimitIsCappedAndSaid(line: String, value: String, capped: ResourceLimit) throws {
        var tree = Tree()
        tree.unit("redis.service", service(line))
        let config = try #require(tree.load().configuration)
        let findings = PrivilegeCheck.unenforceable(in: config, capabilities: Self.withoutSysResource, ownLimits: Self.own)
        #expect(findings.map(\.key) == ["LimitNOFILE"])
        #expect(
            findings.first?.description
                == "LimitNOFILE=\(value) on redis.service is above Warden's own hard limit 4096; raising it needs CAP_SYS_RESOURCE, which Warden does not have here: the component gets 4096")
        let applied = PrivilegeCheck.removing(findings, from: config).service(named: "redis.service")
        #expect(applied?.resourceLimits[.openFiles] == capped)
    }

    @Test(arguments: ["LimitNOFILE=4096", "LimitNOFILE=512:2048", "LimitCORE=infinity"])
    func withinTheOwnLimitsOrWithTheCapabilityNothingIsSaid(line: String) throws {
        var tree = Tree()
        tree.unit("redis.service", service(line))
        let config = try #require(tree.load().configuration)
        #expect(PrivilegeCheck.unenforceable(in: config, capabilities: Self.withoutSysResource, ownLimits: Self.own).isEmpty)
        var high = Tree()
        high.unit("redis.service", service("LimitNOFILE=65535"))
        let raised = try #require(high.load().configuration)
        #expect(PrivilegeCheck.unenforceable(in: raised, capabilities: .all, ownLimits: Self.own).isEmpty)
    }
}
