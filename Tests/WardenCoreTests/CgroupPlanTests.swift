import Testing
@testable import WardenCore

@Suite struct CgroupPlanTests {
    func resources(_ body: String) throws -> ResourceControl {
        var tree = Tree()
        tree.unit("a.service", service(body))
        let result = tree.load()
        return try #require(result.configuration?.services.first, "\(result.diagnostics)").resources
    }

    @Test(arguments: [
        ("CPUQuota=150%", [CgroupWrite("cpu.max", "150000 100000")]),
        ("CPUQuota=20%", [CgroupWrite("cpu.max", "20000 100000")]),
        ("CPUQuota=50%\nCPUQuotaPeriodSec=10ms", [CgroupWrite("cpu.max", "5000 10000")]),
        ("CPUQuotaPeriodSec=10ms", [CgroupWrite("cpu.max", "max 10000")]),
        ("CPUWeight=500", [CgroupWrite("cpu.weight", "500")]),
        ("AllowedCPUs=0-1\nAllowedMemoryNodes=0", [CgroupWrite("cpuset.cpus", "0-1"), CgroupWrite("cpuset.mems", "0")]),
        ("MemoryMax=4G", [CgroupWrite("memory.max", "4294967296")]),
        ("MemoryMax=infinity", [CgroupWrite("memory.max", "max")]),
        ("MemoryHigh=50%", [CgroupWrite("memory.high", "4294967296")]),
        (
            "MemoryMax=2G\nMemoryMin=64M\nMemoryLow=128M\nMemoryHigh=1G\nMemorySwapMax=0",
            [
                CgroupWrite("memory.min", "67108864"), CgroupWrite("memory.low", "134217728"),
                CgroupWrite("memory.high", "1073741824"), CgroupWrite("memory.max", "2147483648"),
                CgroupWrite("memory.swap.max", "0"),
            ]
        ),
        ("TasksMax=512", [CgroupWrite("pids.max", "512")]),
        ("TasksMax=infinity", [CgroupWrite("pids.max", "max")]),
        ("IOWeight=200", [CgroupWrite("io.weight", "default 200")]),
        ("", []),
    ])
    func writesFollowSystemdMapping(settings: String, expected: [CgroupWrite]) throws {
        let host = HostFacts(onlineCPUs: CPUSet(0...1), physicalMemoryBytes: 8 << 30, pidMax: 4_194_304)
        #expect(CgroupPlan.writes(for: try resources(settings), host: host) == expected)
    }

    @Test func slicesNestByNameParentsFirst() throws {
        var tree = Tree()
        tree.unit("trading-critical.slice", "[Slice]\nCPUWeight=1000\n[X-Warden]\nPriority=critical\n")
        tree.unit("trading.slice", "[Slice]\nMemoryMax=6G\n")
        tree.unit("exec.service", service("Slice=trading-critical.slice\nCPUQuota=200%"))
        tree.unit("other.service", service(""))
        let configuration = try #require(tree.load().configuration)
        let plan = CgroupPlan.plan(for: configuration, host: nil)
        #expect(
            plan.map(\.path) == [
                "system.slice", "trading.slice", "trading.slice/trading-critical.slice",
                "trading.slice/trading-critical.slice/exec.service", "system.slice/other.service",
            ])
        #expect(plan[2].writes == [CgroupWrite("cpu.weight", "1000")])
        #expect(plan[3].controllers == ["cpu"])
        #expect(configuration.effectivePriority(of: configuration.service(named: "exec.service")!) == .critical)
        #expect(configuration.effectivePriority(of: configuration.service(named: "other.service")!) == .normal)
    }

    @Test func planReportsStartOrderAndProcessSettings() throws {
        var tree = Tree()
        tree.unit("feed.service", service("Nice=-5"))
        tree.unit("strategy.service", service("", unit: "After=feed.service\nRequires=feed.service"))
        tree.unit("exec.service", service("LimitNOFILE=4096", unit: "After=strategy.service"))
        tree.unit("dash.service", service(""))
        let configuration = try #require(tree.load().configuration)
        let plan = ConfigurationPlan(configuration: configuration, host: nil)
        #expect(plan.startOrder == [["dash.service", "feed.service"], ["strategy.service"], ["exec.service"]])
        #expect(plan.components.first { $0.name == "feed.service" }?.processSettings == ["nice = -5"])
        #expect(plan.components.first { $0.name == "exec.service" }?.processSettings == ["RLIMIT_NOFILE = 4096"])
        let text = plan.renderText()
        #expect(text.contains("1. dash.service, feed.service"))
        #expect(text.contains("system.slice"))
    }
}

/// `CgroupBackend=` against what the host offers: a delegated subtree first, then
/// systemd's transient units, then nothing, said with both reasons; `systemd` asked for
/// explicitly refuses to start without systemd; systemd is asked only when it matters.
@Suite struct CgroupBackendChoiceTests {
    struct Case: Sendable, CustomStringConvertible {
        var configured: CgroupBackend
        var subtree: String?
        var systemd: String?
        var expected: CgroupBackendChoice
        var asksSystemd: Bool
        var description: String { "\(configured), subtree \(subtree ?? "ok"), systemd \(systemd ?? "ok")" }
    }

    static let noSubtree = "/sys/fs/cgroup/system.slice/warden.service/cgroup.procs is not writable: the group is not delegated to Warden"
    static let noSystemd = "systemd is not running here"
    static let cases: [Case] = [
        Case(configured: .auto, subtree: nil, systemd: nil, expected: .delegated, asksSystemd: false),
        Case(configured: .auto, subtree: noSubtree, systemd: nil, expected: .systemd, asksSystemd: true),
        Case(
            configured: .auto, subtree: noSubtree, systemd: noSystemd,
            expected: .withoutCgroups(reason: "\(noSubtree); systemd's D-Bus API: \(noSystemd)"), asksSystemd: true),
        Case(configured: .delegated, subtree: nil, systemd: nil, expected: .delegated, asksSystemd: false),
        Case(configured: .delegated, subtree: noSubtree, systemd: nil, expected: .withoutCgroups(reason: noSubtree), asksSystemd: false),
        Case(configured: .systemd, subtree: nil, systemd: nil, expected: .systemd, asksSystemd: true),
        Case(configured: .systemd, subtree: nil, systemd: noSystemd, expected: .refused(reason: noSystemd), asksSystemd: true),
    ]

    @Test(arguments: cases)
    func decide(_ c: Case) {
        var asked = false
        let choice = CgroupBackendChoice.decide(configured: c.configured, subtreeProblem: c.subtree) {
            asked = true
            return c.systemd
        }
        #expect(choice == c.expected)
        #expect(asked == c.asksSystemd)
    }
}
