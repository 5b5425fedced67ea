import Testing
@testable import WardenCore

@Suite struct CgroupParserTests {
    @Test func cpuStatWithAndWithoutTheCPUController() throws {
        let full = try CPUStat.parse(
            "usage_usec 8312345\nuser_usec 6100234\nsystem_usec 2212111\nnr_periods 412\nnr_throttled 371\nthrottled_usec 29876543\nnr_bursts 0\nburst_usec 0\n")
        #expect(full == CPUStat(usageUSec: 8_312_345, userUSec: 6_100_234, systemUSec: 2_212_111, periods: 412, throttledPeriods: 371, throttledUSec: 29_876_543))
        let core = try CPUStat.parse("usage_usec 1403\nuser_usec 1023\nsystem_usec 380\n")
        #expect(core.periods == nil && core.throttledUSec == nil && core.usageUSec == 1403)
    }

    @Test(arguments: [
        ("usage_usec 1\nuser_usec 1\n", "no 'system_usec' line"),
        ("usage_usec x\n", "expected 'key value'"),
        ("usage_usec 1 2\n", "expected 'key value'"),
        ("", "no 'usage_usec' line"),
    ])
    func cpuStatRejects(text: String, reason: String) {
        #expect(throws: CgroupParseError.self) { try CPUStat.parse(text) }
        do { _ = try CPUStat.parse(text) } catch { #expect(error.reason == reason && error.file == "cpu.stat") }
    }

    @Test(arguments: [("35336192\n", UInt64(35_336_192)), ("0\n", 0), ("18446744073709551615", UInt64.max)])
    func singleValues(text: String, value: UInt64) throws {
        #expect(try CgroupFileFormat.singleValue(text, file: "memory.current") == value)
    }

    @Test(arguments: ["max\n", "-1\n", "", "12 13\n"])
    func singleValueRejects(text: String) {
        #expect(throws: CgroupParseError.self) { try CgroupFileFormat.singleValue(text, file: "pids.current") }
    }

    @Test func limitReadsMaxAsNoLimit() throws {
        #expect(try CgroupFileFormat.limit("max\n", file: "memory.max") == nil)
        #expect(try CgroupFileFormat.limit("33554432\n", file: "memory.max") == 33_554_432)
    }

    @Test func memoryStatKeepsAnonFileAndEveryCounter() throws {
        let stat = try MemoryStat.parse("anon 31457280\nfile 3932160\nkernel 1114112\npgfault 8741\n")
        #expect(stat.anonBytes == 31_457_280 && stat.fileBytes == 3_932_160)
        #expect(stat.counters["pgfault"] == 8741 && stat.counters.count == 4)
        #expect(throws: CgroupParseError.self) { try MemoryStat.parse("kernel 1\n") }
    }

    @Test(arguments: [
        ("low 0\nhigh 0\nmax 37\noom 1\noom_kill 1\noom_group_kill 0\n", MemoryEvents(max: 37, oom: 1, oomKill: 1, oomGroupKill: 0)),
        ("low 0\nhigh 12\nmax 0\noom 0\noom_kill 0\n", MemoryEvents(high: 12)),
    ])
    func memoryEvents(text: String, expected: MemoryEvents) throws {
        #expect(try MemoryEvents.parse(text) == expected)
    }

    @Test func pressureSomeAndFull() throws {
        let pressure = try Pressure.parse(
            "some avg10=12.34 avg60=5.01 avg300=1.20 total=48201933\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", file: "cpu.pressure")
        #expect(pressure.some == PressureLine(avg10Percent: 12.34, avg60Percent: 5.01, avg300Percent: 1.20, totalUSec: 48_201_933))
        #expect(pressure.full?.totalUSec == 0)
        let old = try Pressure.parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=1207\n", file: "cpu.pressure")
        #expect(old.full == nil && old.some.totalUSec == 1207)
    }

    @Test(arguments: [
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        "some avg10=0.00 avg60=0.00 total=0\n",
        "some avg60=0.00 avg10=0.00 avg300=0.00 total=0\n",
        "some avg10=x avg60=0.00 avg300=0.00 total=0\n",
        "most avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    ])
    func pressureRejects(text: String) {
        #expect(throws: CgroupParseError.self) { try Pressure.parse(text, file: "io.pressure") }
    }

    @Test(arguments: [
        ("cpuset cpu io memory hugetlb pids rdma misc\n", ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"]),
        ("cpu io memory pids\n", ["cpu", "io", "memory", "pids"]),
        ("\n", []),
    ])
    func controllerLists(text: String, expected: [String]) {
        #expect(CgroupControllerList.parse(text) == expected)
    }

    @Test func cgroupEvents() throws {
        #expect(try CgroupEvents.parse("populated 1\nfrozen 0\n") == CgroupEvents(populated: true, frozen: false))
        #expect(try CgroupEvents.parse("populated 0\n") == CgroupEvents(populated: false, frozen: nil))
        #expect(throws: CgroupParseError.self) { try CgroupEvents.parse("frozen 1\n") }
    }

    @Test(arguments: [
        ("0::/system.slice/warden.service\n", "/system.slice/warden.service"),
        ("12:cpuset:/\n11:memory:/user.slice\n1:hugetlb:/\n0::/user.slice/user-0.slice/session-4.scope\n", "/user.slice/user-0.slice/session-4.scope"),
        ("0::/warden-test/a:b.service\n", "/warden-test/a:b.service"),
        ("0::/warden/x.service (deleted)\n", "/warden/x.service"),
        ("0::/\n", "/"),
    ])
    func processCgroupFindsTheUnifiedLine(text: String, path: String) {
        #expect(ProcessCgroup.unifiedPath(text) == path)
    }

    @Test func processCgroupOnAV1OnlyHost() {
        #expect(ProcessCgroup.unifiedPath("12:cpuset:/\n9:name=systemd:/\n8:pids:/\n") == nil)
    }

    @Test(arguments: [
        ("member\n", CpusetPartition(kind: .member)),
        ("root\n", CpusetPartition(kind: .root)),
        ("isolated\n", CpusetPartition(kind: .isolated)),
        ("root invalid\n", CpusetPartition(kind: .root, isValid: false)),
        (
            "isolated invalid (Cpu list in cpuset.cpus not exclusive)\n",
            CpusetPartition(kind: .isolated, isValid: false, invalidReason: "Cpu list in cpuset.cpus not exclusive")
        ),
        ("root invalid (Parent is not a partition root)\n", CpusetPartition(kind: .root, isValid: false, invalidReason: "Parent is not a partition root")),
    ])
    func partitions(text: String, expected: CpusetPartition) throws {
        let parsed = try CpusetPartition.parse(text)
        #expect(parsed == expected)
        #expect(parsed.description + "\n" == text)
    }

    @Test(arguments: ["", "leader\n", "root valid\n", "isolated invalid reason\n"])
    func partitionRejects(text: String) {
        #expect(throws: CgroupParseError.self) { try CpusetPartition.parse(text) }
    }
}

@Suite struct CgroupEnforcementTests {
    @Test(arguments: [
        ("a.service", nil), ("trading-critical.slice", nil), ("a@1.service", nil),
        ("", "empty name"), ("a/b", "'a/b' contains '/'"), ("..", "'..' contains '..'"), ("a..b", "'a..b' contains '..'"),
        (".hidden", "'.hidden' starts with '.'"), ("cgroup.procs", "'cgroup.procs' looks like a cgroup interface file"),
        ("memory.max", "'memory.max' looks like a cgroup interface file"), ("a\nb", "'a\nb' contains a control character"),
    ] as [(String, String?)])
    func groupNames(name: String, problem: String?) {
        #expect(CgroupPathCheck.problem(withName: name) == problem)
    }

    @Test func pathsAreCheckedPerComponent() {
        #expect(CgroupPathCheck.components(of: "a.slice/b.service") == .success(["a.slice", "b.service"]))
        #expect(CgroupPathCheck.components(of: "") == .success([]))
        #expect(CgroupPathCheck.components(of: "a.slice/../etc") == .failure(CgroupPathError(path: "a.slice/../etc", reason: "'..' contains '..'")))
        #expect(CgroupPathCheck.components(of: "/abs") == .failure(CgroupPathError(path: "/abs", reason: "empty name")))
        #expect(CgroupPathCheck.components(of: "a//b").isFailure)
    }

    @Test(arguments: [
        (CgroupWrite("cpu.max", "20000 100000"), "CPUQuota="), (CgroupWrite("cpu.max", "max 10000"), "CPUQuotaPeriodSec="),
        (CgroupWrite("cpu.weight", "100"), "CPUWeight="), (CgroupWrite("cpu.idle", "1"), "CPUWeight=idle"),
        (CgroupWrite("cpuset.cpus", "1"), "AllowedCPUs="), (CgroupWrite("cpuset.mems", "0"), "AllowedMemoryNodes="),
        (CgroupWrite("memory.swap.max", "0"), "MemorySwapMax="), (CgroupWrite("pids.max", "5"), "TasksMax="),
        (CgroupWrite("io.weight", "default 5"), "IOWeight="),
    ])
    func everyFileMapsBackToItsKey(write: CgroupWrite, key: String) {
        #expect(CgroupSettingName.key(for: write) == key)
    }

    let plan = [
        CgroupGroupPlan(path: "batch.slice", unit: "batch.slice", controllers: ["cpu"], writes: [CgroupWrite("cpu.weight", "50")]),
        CgroupGroupPlan(
            path: "batch.slice/backtest.service", unit: "backtest.service", controllers: ["cpu", "cpuset", "memory"],
            writes: [CgroupWrite("cpuset.cpus", "1"), CgroupWrite("cpu.max", "20000 100000"), CgroupWrite("memory.max", "1073741824")]),
        CgroupGroupPlan(path: "batch.slice/idle.service", unit: "idle.service", controllers: ["cpuset"], writes: [CgroupWrite("cpuset.cpus", "0")]),
    ]

    @Test func missingControllersAreReportedOncePerReason() {
        let availability = CgroupAvailability(
            hierarchy: .usable, availableControllers: ["memory", "pids", "io"],
            missingControllerNotes: ["cpuset": "not in this kernel's /sys/fs/cgroup/cgroup.controllers"])
        let unenforced = CgroupEnforcement.unenforced(plan: plan, availability: availability)
        #expect(unenforced.map(\.file) == ["cpu.weight", "cpuset.cpus", "cpu.max", "cpuset.cpus"])
        #expect(
            CgroupEnforcement.messages(unenforced) == [
                "CPUWeight= on batch.slice, CPUQuota= on backtest.service: cpu controller not available",
                "AllowedCPUs= on backtest.service, AllowedCPUs= on idle.service: cpuset controller not available (not in this kernel's /sys/fs/cgroup/cgroup.controllers)",
            ])
    }

    @Test func everythingIsUnenforcedWithoutAUsableHierarchy() {
        let availability = CgroupAvailability(hierarchy: .unusable(reason: "/sys/fs/cgroup is mounted read-only"))
        let messages = CgroupEnforcement.messages(CgroupEnforcement.unenforced(plan: plan, availability: availability))
        #expect(messages.count == 1)
        #expect(messages.first?.hasSuffix(": cgroup v2 not usable: /sys/fs/cgroup is mounted read-only") == true)
        #expect(messages.first?.hasPrefix("CPUWeight= on batch.slice, AllowedCPUs= on backtest.service, CPUQuota= on backtest.service, MemoryMax= on backtest.service") == true)
    }

    @Test func nothingToReportWhenEveryControllerIsThere() {
        let availability = CgroupAvailability(hierarchy: .usable, availableControllers: ["cpu", "cpuset", "memory"])
        #expect(CgroupEnforcement.unenforced(plan: plan, availability: availability).isEmpty)
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { true } else { false } }
}
