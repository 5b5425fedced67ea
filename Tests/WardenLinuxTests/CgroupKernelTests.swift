import CWardenShims
import Glibc
import Testing
@testable import WardenCore
@testable import WardenLinux

/// Where the real-kernel tests may create groups: set only inside the test-bed guest
/// (Tests/kernel/cgroup-suite/in-guest.sh points it at the guest's
/// WARDEN_TEST_CGROUP_ROOT). Both variables are required, so a stray WARDEN_CGROUP_ROOT
/// on the host can never aim hogs and kills at the host's own cgroups.
enum CgroupKernel {
    static let root: String? = {
        guard let guest = getenv("WARDEN_TESTBED_GUEST"), String(cString: guest) == "1" else { return nil }
        return getenv("WARDEN_CGROUP_ROOT").map { String(cString: $0) }
    }()
    static let skipReason: Comment =
        "WARDEN_CGROUP_ROOT and WARDEN_TESTBED_GUEST=1 are not both set: the real-kernel cgroup tests run only inside the test-bed guest (Tests/kernel/cgroup-suite/in-guest.sh), never against the host's /sys/fs/cgroup"
}

/// Enforcement on a real kernel: quotas, OOM kills, task limits, weights, live changes
/// and cleanup, measured from the kernel's own counters. Serialized: the CPU figures
/// of one test must not be disturbed by another's hogs.
@Suite(.serialized, .enabled(if: CgroupKernel.root != nil, CgroupKernel.skipReason))
struct CgroupKernelTests {
    let manager: CgroupManager

    init() throws {
        manager = try CgroupManager(rootPath: CgroupKernel.root ?? "/nonexistent")
    }

    func resources(_ body: (inout ResourceControl) -> Void) -> [CgroupWrite] {
        var resources = ResourceControl()
        body(&resources)
        return CgroupPlan.writes(for: resources, host: HostProbe.facts())
    }

    func group(_ path: String, _ writes: [CgroupWrite]) -> CgroupGroupPlan {
        CgroupGroupPlan(path: path, unit: String(path.split(separator: "/").last!), controllers: CgroupPlan.controllers(for: writes), writes: writes)
    }

    func spawn(_ script: String, in path: String) throws -> SpawnedProcess {
        try spawnProcess(
            SpawnRequest(
                executablePath: "/bin/sh", arguments: ["sh", "-c", script], environment: ["PATH=/usr/bin:/bin"],
                stdout: .null, stderr: .null, cgroupDirectoryFD: try manager.directoryFD(for: path)))
    }

    /// Share of one CPU the group used over `seconds` of wall time (cpu.stat usage_usec).
    func cpuShare(of path: String, seconds: Double) throws -> Double {
        let before = try #require(try manager.stats(of: path).cpu).usageUSec
        let start = monotonicUSec()
        usleep(UInt32(seconds * 1_000_000))
        let after = try #require(try manager.stats(of: path).cpu).usageUSec
        return Double(after - before) / Double(monotonicUSec() - start)
    }

    func stopAndCheckGone(_ path: String, _ processes: [SpawnedProcess]) throws {
        let report = try manager.stop(path)
        print("stop \(path): \(report.kill.method.rawValue), emptied \(report.kill.emptied), peak \(report.memoryPeakBytes.map(String.init) ?? "n/a") bytes, removed \(report.removed)")
        #expect(report.kill.emptied)
        for process in processes { _ = TestProcess.wait(process) }
        #expect(throws: CgroupError.self) { _ = try CgroupDirectory(openingPath: manager.rootPath + "/" + path) }
    }

    @Test func cpuQuotaOf20PercentHolds() throws {
        let path = "kt-quota.service"
        let writes = resources { $0.cpuQuota = CPUQuota(perSecondUSec: 200_000) }
        #expect(writes == [CgroupWrite("cpu.max", "20000 100000")])
        let report = try manager.setUp([group(path, writes)])
        #expect(report.unenforced.isEmpty, "\(report.unenforced)")
        let hog = try spawn("while :; do :; done", in: path)
        usleep(300_000)
        let share = try cpuShare(of: path, seconds: 5)
        let cpu = try #require(try manager.stats(of: path).cpu)
        print("CPUQuota=20%: hog used \(share * 100)% of a CPU over 5 s; throttled in \(cpu.throttledPeriods ?? 0) of \(cpu.periods ?? 0) periods")
        #expect(share <= 0.22)
        #expect((cpu.throttledPeriods ?? 0) > 0)
        try stopAndCheckGone(path, [hog])
    }

    @Test func memoryMaxOOMKillsAHog() throws {
        let path = "kt-memory.service"
        let writes = resources {
            $0.memoryMax = .bytes(32 << 20)
            $0.memorySwapMax = .bytes(0)
        }
        let report = try manager.setUp([group(path, writes)])
        print("MemoryMax=32M: not enforced here: \(CgroupEnforcement.messages(report.unenforced))")
        #expect(!report.unenforced.contains { $0.file == "memory.max" })
        // dd allocates its 64 MiB block and fills it from /dev/zero.
        let hog = try spawn("exec dd if=/dev/zero of=/dev/null bs=64M count=4", in: path)
        let status = TestProcess.wait(hog)
        let events = try #require(try manager.stats(of: path).memoryEvents)
        print("MemoryMax=32M: dd ended \(String(describing: status)); memory.events oom \(events.oom) oom_kill \(events.oomKill) max \(events.max)")
        #expect(status == .killed(signal: SIGKILL, coreDumped: false))
        #expect(events.oomKill >= 1)
        try stopAndCheckGone(path, [])
    }

    @Test func aForkBombStopsAtTasksMax() throws {
        let path = "kt-tasks.service"
        let writes = resources { $0.tasksMax = .count(16) }
        #expect(try manager.setUp([group(path, writes)]).unenforced.isEmpty)
        // Bounded: at most 200 forks even if the limit did not hold.
        let bomb = try spawn("i=0; while [ $i -lt 200 ]; do sleep 9137 & i=$((i+1)); done; wait", in: path)
        usleep(1_500_000)
        let current = try #require(try manager.stats(of: path).pidsCurrent)
        let refused = try CgroupFileFormat.flatKeyed(manager.read("pids.events", of: path), file: "pids.events")["max"] ?? 0
        print("TasksMax=16: pids.current \(current), forks refused (pids.events max) \(refused)")
        #expect(current <= 16)
        #expect(refused >= 1)
        try stopAndCheckGone(path, [bomb])
    }

    @Test func aRuntimeQuotaChangeTakesEffectAndCanBeUndone() throws {
        let path = "kt-live.service"
        _ = try manager.setUp([group(path, resources { $0.cpuQuota = CPUQuota(perSecondUSec: 500_000) })])
        let hog = try spawn("while :; do :; done", in: path)
        usleep(300_000)
        let before = try cpuShare(of: path, seconds: 2)
        let change = try manager.apply([CgroupWrite("cpu.max", "10000 100000")], to: path, unit: path)
        #expect(change.previous == [CgroupWrite("cpu.max", "50000 100000")])
        usleep(200_000)
        let after = try cpuShare(of: path, seconds: 3)
        print("live change: CPUQuota 50% → 10%: hog used \(before * 100)% then \(after * 100)% of a CPU")
        #expect(before <= 0.55)
        #expect(after <= 0.12)
        _ = try manager.apply(change.previous, to: path, unit: path)
        #expect(try manager.read("cpu.max", of: path) == "50000 100000\n")
        try stopAndCheckGone(path, [hog])
    }

    @Test func cpuWeightSplitsTwoHogsInRatio() throws {
        let slice = "kt-weight.slice"
        var sliceWrites: [CgroupWrite] = []
        let onlineCPUs = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        if onlineCPUs > 1 {
            // Weights only matter under contention: put both hogs on one CPU.
            guard try manager.availableControllers().contains("cpuset") else {
                Issue.record("\(onlineCPUs) CPUs and no cpuset controller: the two hogs would not contend")
                return
            }
            sliceWrites = [CgroupWrite("cpuset.cpus", "0")]
        }
        let heavy = slice + "/heavy.service"
        let light = slice + "/light.service"
        let report = try manager.setUp([
            group(slice, sliceWrites),
            group(heavy, resources { $0.cpuWeight = .weight(200) }),
            group(light, resources { $0.cpuWeight = .weight(100) }),
        ])
        #expect(report.unenforced.isEmpty, "\(report.unenforced)")
        let hogs = [try spawn("while :; do :; done", in: heavy), try spawn("while :; do :; done", in: light)]
        usleep(300_000)
        let heavyBefore = try #require(try manager.stats(of: heavy).cpu).usageUSec
        let lightBefore = try #require(try manager.stats(of: light).cpu).usageUSec
        usleep(4_000_000)
        let heavyUsed = try #require(try manager.stats(of: heavy).cpu).usageUSec - heavyBefore
        let lightUsed = try #require(try manager.stats(of: light).cpu).usageUSec - lightBefore
        let ratio = Double(heavyUsed) / Double(max(lightUsed, 1))
        print("CPUWeight=200 vs 100: \(heavyUsed) µs vs \(lightUsed) µs over 4 s, ratio \(ratio) (expected 2 ± 10 %)")
        #expect(abs(ratio / 2 - 1) <= 0.10)
        try stopAndCheckGone(heavy, [hogs[0]])
        try stopAndCheckGone(light, [hogs[1]])
    }

    /// cgroup v1 refused a limit below usage with EBUSY; v2 must accept it and reclaim
    /// or OOM-kill instead (the comment in CgroupMemory relies on this).
    @Test func loweringMemoryMaxBelowUsageSucceedsAndOOMKills() throws {
        let path = "kt-lower.service"
        _ = try manager.setUp([group(path, resources { $0.memorySwapMax = .bytes(0) })])
        // The shell keeps about 24 MB of anonymous memory in a variable.
        let holder = try spawn("x=$(head -c 24000000 /dev/zero | tr '\\0' a); sleep 9139", in: path)
        var current: UInt64 = 0
        // Up to 20 s: a UML guest on a busy host fills the variable slowly. 16 MB is
        // twice the limit written below, which is all the test needs.
        for _ in 0..<400 where current < 16_000_000 {
            usleep(50_000)
            current = try manager.stats(of: path).memoryCurrentBytes ?? 0
        }
        #expect(current >= 16_000_000, "the holder never reached 16 MB (memory.current \(current))")
        let change = try manager.apply([CgroupWrite("memory.max", String(8 << 20))], to: path, unit: path)
        let status = TestProcess.wait(holder)
        let events = try #require(try manager.stats(of: path).memoryEvents)
        print("memory.max 8M below usage \(current): write accepted, previous \(change.previous), holder \(String(describing: status)), oom_kill \(events.oomKill)")
        #expect(change.previous == [CgroupWrite("memory.max", "max")])
        #expect(events.oomKill >= 1)
        try stopAndCheckGone(path, [])
    }

    @Test func enablingControllersUnderAGroupWithProcessesIsExplained() throws {
        let slice = "kt-busy.slice"
        _ = try manager.setUp([group(slice, [])])
        let sleeper = try spawn("exec sleep 9140", in: slice)
        do {
            _ = try manager.setUp([group(slice + "/x.service", [CgroupWrite("pids.max", "8")])])
            Issue.record("enabling a controller below a group with a process succeeded")
        } catch {
            print("expected refusal: \(error)")
            #expect(error.errno == EBUSY)
            #expect(error.detail?.contains("no-internal-processes") == true)
        }
        try stopAndCheckGone(slice, [sleeper])
    }

    @Test func readingStatsIsCheap() throws {
        let path = "kt-stats.service"
        _ = try manager.setUp([group(path, resources { $0.cpuQuota = CPUQuota(perSecondUSec: 100_000) })])
        let sleeper = try spawn("exec sleep 9141", in: path)
        let rounds = 2000
        let start = monotonicUSec()
        for _ in 0..<rounds { _ = try manager.stats(of: path) }
        let perRead = Double(monotonicUSec() - start) / Double(rounds)
        print("stats(of:) for one group: \(perRead) µs per call (cpu.stat, memory.current/peak/stat/events, pids.current, 3 PSI files)")
        #expect(try manager.stats(of: path).pidsCurrent == 1)
        try stopAndCheckGone(path, [sleeper])
    }

    @Test func shutdownLeavesNoGroupAndNoProcess() throws {
        #expect(try manager.moveIntoSupervisorGroup() == "warden.supervisor")
        let own = ProcessCgroup.unifiedPath(try LocalFileSystem().readFile("/proc/self/cgroup")) ?? ""
        #expect(own.hasSuffix("/warden.supervisor"))
        let paths = ["kt-end.slice", "kt-end.slice/kt-end-inner.slice", "kt-end.slice/kt-end-inner.slice/a.service", "kt-end.slice/b.service"]
        _ = try manager.setUp(paths.map { group($0, []) })
        // Each component also leaves a background child behind, reparented when sh exits.
        var processes: [SpawnedProcess] = []
        for path in [paths[2], paths[3]] {
            processes.append(try spawn("sleep 9138 & sleep 9138 & exec sleep 9138", in: path))
        }
        // Two shells, each forking two sleeps and becoming the third: six once both have
        // forked, which a guest on a loaded host may take seconds to do.
        var current: UInt64? = nil
        for _ in 0..<200 where current != 6 {
            usleep(50_000)
            current = try manager.stats(of: "kt-end.slice").pidsCurrent
        }
        #expect(current == 6)
        let removed = try manager.removeAll()
        for process in processes { _ = TestProcess.wait(process) }
        print("shutdown removed \(removed)")
        #expect(Set(paths).isSubset(of: Set(removed)))
        #expect(try CgroupDirectory(openingPath: manager.rootPath).childNames() == ["warden.supervisor"])
        usleep(100_000)
        #expect(Self.processesRunning(argument: "9138").isEmpty)
    }

    @Test func discoveryFindsTheGuestsCgroup2() throws {
        let discovery = CgroupDiscovery.discover()
        print("discovery: own group \(discovery.ownGroup ?? "none"), \(discovery.availability)")
        #expect(discovery.ownGroup != nil)
        let root = try CgroupDiscovery.availability(groupPath: #require(CgroupKernel.root), mountPath: "/sys/fs/cgroup")
        #expect(root.hierarchy == .usable)
        #expect(root.availableControllers.isSuperset(of: ["cpu", "memory", "pids"]))
    }

    /// Pids whose command line has `argument` (the marker durations above).
    static func processesRunning(argument: String) -> [Int32] {
        let fs = LocalFileSystem()
        return (fs.listDirectory("/proc") ?? []).compactMap { Int32($0) }.filter { pid in
            guard let text = try? fs.readFile("/proc/\(pid)/cmdline") else { return false }
            return text.split(separator: "\0").contains { $0 == argument }
        }
    }
}
