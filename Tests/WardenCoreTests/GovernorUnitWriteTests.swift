import Testing
@testable import WardenCore

/// The governor's cgroup values as systemd properties: what systemd then writes into the
/// file must be exactly what the governor recorded, or its restore would see a conflict.
@Suite struct GovernorUnitWriteTests {
    static let table: [(file: String, value: String, expected: GovernorUnitWrite)] = [
        ("cpu.max", "max 100000", .property(SystemdProperty("CPUQuotaPerSecUSec", .uint64(.max)))),
        ("cpu.max", "50000 100000", .property(SystemdProperty("CPUQuotaPerSecUSec", .uint64(500_000)))),
        ("cpu.max", "150000 100000\n", .property(SystemdProperty("CPUQuotaPerSecUSec", .uint64(1_500_000)))),
        ("cpu.max", "1000 30000", .property(SystemdProperty("CPUQuotaPerSecUSec", .uint64(33_334)))),
        ("cpu.weight", "10000", .property(SystemdProperty("CPUWeight", .uint64(10_000)))),
        ("cpu.weight", "1", .property(SystemdProperty("CPUWeight", .uint64(1)))),
        ("memory.high", "max", .property(SystemdProperty("MemoryHigh", .uint64(.max)))),
        ("memory.high", "268435456", .property(SystemdProperty("MemoryHigh", .uint64(268_435_456)))),
        ("cgroup.freeze", "1", .freeze),
        ("cgroup.freeze", "0\n", .thaw),
    ]

    @Test(arguments: table)
    func eachGovernedFileHasItsSystemdForm(file: String, value: String, expected: GovernorUnitWrite) {
        #expect(GovernorUnitWrite.translating(CgroupWrite(file, value)) == .success(expected))
    }

    static let refused: [(file: String, value: String)] = [
        ("cpu.max", "50000"), ("cpu.max", "x 100000"), ("cpu.max", "50000 0"), ("cpu.weight", "0"), ("cpu.weight", "20000"),
        ("cpu.weight", "idle"), ("memory.high", "lots"), ("cgroup.freeze", "2"), ("cpu.idle", "1"), ("memory.max", "max"),
        ("cpu.max", "18446744073709 1000000"), ("cpu.max", "18446744073709551615 100000"),
    ]

    @Test(arguments: refused)
    func whatSystemdHasNoSettingForIsRefusedWithTheReason(file: String, value: String) throws {
        guard case .failure(let error) = GovernorUnitWrite.translating(CgroupWrite(file, value)) else {
            Issue.record("\(file) = '\(value)' was accepted")
            return
        }
        #expect(error.description.hasPrefix("\(file) = '\(value)' cannot be set through systemd: expected "))
    }

    /// systemd turns `CPUQuotaPerSecUSec` back into `cpu.max` with the unit's period
    /// (`CPUQuota.cpuMax`, systemd's own arithmetic): every quota the governor can write
    /// (at least 1 ms a period, the floor systemd keeps) comes back as written.
    @Test func everyQuotaComesBackAsWritten() throws {
        var checked = 0
        for period in stride(from: UInt64(1_000), through: 1_000_000, by: 997) {
            for quota in [1_000, 1_001, 3_333, period / 3 + 1_000, period / 2 + 7, period, period * 2 + 1, period * 64] where quota >= 1_000 {
                let written = "\(quota) \(period)"
                guard case .success(.property(let property)) = GovernorUnitWrite.translating(CgroupWrite("cpu.max", written)),
                    case .uint64(let perSecond) = property.value
                else {
                    Issue.record("\(written) not translated")
                    return
                }
                let back = CPUQuota(perSecondUSec: perSecond).cpuMaxValue(periodUSec: period)
                #expect(back == written, "CPUQuotaPerSecUSec=\(perSecond) with period \(period)")
                checked += 1
            }
        }
        #expect(checked > 7_000)
    }

    /// With scopes the components' groups are systemd's: `warden-NAME.scope` in its slice,
    /// and systemd's host slices are not Warden's groups.
    @Test func withScopesTheGroupsAreSystemdsUnits() throws {
        var tree = Tree()
        tree.unit("batch.slice", "[Slice]\n[X-Warden]\nPriority=batch\n")
        tree.unit("backtest.service", service("Slice=batch.slice"))
        tree.unit("feed.service", service(""))
        let configuration = try #require(tree.load().configuration)
        let plain = Dictionary(uniqueKeysWithValues: GovernorTarget.targets(for: configuration).map { ($0.name, $0.path) })
        #expect(plain["backtest.service"] == "batch.slice/backtest.service")
        #expect(plain["system.slice"] == "system.slice")
        let scopes = Dictionary(uniqueKeysWithValues: GovernorTarget.targets(for: configuration, componentsAsScopes: true).map { ($0.name, $0.path) })
        #expect(scopes["backtest.service"] == "batch.slice/warden-backtest.scope")
        #expect(scopes["feed.service"] == "system.slice/warden-feed.scope")
        #expect(scopes["batch.slice"] == "batch.slice")
        #expect(scopes["system.slice"] == nil)
    }
}
