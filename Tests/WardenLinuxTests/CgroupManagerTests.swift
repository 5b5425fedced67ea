import Glibc
import Testing
@testable import WardenCore
@testable import WardenLinux

/// The manager and readers against a temporary directory tree seeded with real kernel
/// file contents. Never touches /sys/fs/cgroup.
@Suite struct CgroupManagerTests {
    static let plainTree = CgroupManager.Options(requireCgroup2: false)

    @Test func everyFixtureParses() throws {
        let cpu = try CPUStat.parse(CgroupFixture.text("cpu.stat-6.1"))
        #expect(cpu.throttledPeriods == 371 && cpu.usageUSec == 8_312_345)
        #expect(try CPUStat.parse(CgroupFixture.text("cpu.stat-no-cpu-controller")).periods == nil)
        #expect(try CgroupFileFormat.singleValue(CgroupFixture.text("memory.current"), file: "memory.current") == 35_336_192)
        #expect(try CgroupFileFormat.singleValue(CgroupFixture.text("memory.peak"), file: "memory.peak") == 67_108_864)
        let memory = try MemoryStat.parse(CgroupFixture.text("memory.stat"))
        #expect(memory.anonBytes == 31_457_280 && memory.fileBytes == 3_932_160 && memory.counters["thp_collapse_alloc"] == 0)
        #expect(try MemoryEvents.parse(CgroupFixture.text("memory.events-6.1")).oomKill == 1)
        #expect(try MemoryEvents.parse(CgroupFixture.text("memory.events-5.10")).oomGroupKill == nil)
        #expect(try CgroupFileFormat.singleValue(CgroupFixture.text("pids.current"), file: "pids.current") == 24)
        #expect(try Pressure.parse(CgroupFixture.text("cpu.pressure"), file: "cpu.pressure").some.avg10Percent == 12.34)
        #expect(try Pressure.parse(CgroupFixture.text("cpu.pressure-5.10"), file: "cpu.pressure").full == nil)
        #expect(try Pressure.parse(CgroupFixture.text("memory.pressure"), file: "memory.pressure").full?.totalUSec == 700_123)
        #expect(CgroupControllerList.parse(CgroupFixture.text("cgroup.controllers-qemu")).first == "cpuset")
        #expect(CgroupControllerList.parse(CgroupFixture.text("cgroup.controllers-uml")) == ["cpu", "io", "memory", "pids"])
        #expect(CgroupControllerList.parse(CgroupFixture.text("cgroup.controllers-empty")).isEmpty)
        #expect(try CgroupEvents.parse(CgroupFixture.text("cgroup.events")).populated)
        #expect(try CgroupEvents.parse(CgroupFixture.text("cgroup.events-5.1")).frozen == nil)
        #expect(ProcessCgroup.unifiedPath(CgroupFixture.text("proc-cgroup-unified")) == "/system.slice/warden.service")
        #expect(ProcessCgroup.unifiedPath(CgroupFixture.text("proc-cgroup-hybrid")) == "/user.slice/user-0.slice/session-4.scope")
        #expect(ProcessCgroup.unifiedPath(CgroupFixture.text("proc-cgroup-v1-only")) == nil)
        #expect(ProcessCgroup.unifiedPath(CgroupFixture.text("proc-cgroup-colon")) == "/warden-test/a:b.service")
        #expect(ProcessCgroup.unifiedPath(CgroupFixture.text("proc-cgroup-deleted")) == "/warden/x.service")
        #expect(try CpusetPartition.parse(CgroupFixture.text("cpuset.cpus.partition-isolated-invalid")).invalidReason == "Cpu list in cpuset.cpus not exclusive")
        #expect(try CpusetPartition.parse(CgroupFixture.text("cpuset.cpus.partition-root-invalid-5.15")) == CpusetPartition(kind: .root, isValid: false))
        #expect(try CpusetPartition.parse(CgroupFixture.text("cpuset.cpus.partition-member")).kind == .member)
        #expect(try CpusetPartition.parse(CgroupFixture.text("cpuset.cpus.partition-root")).isValid)
        #expect(try CpusetPartition.parse(CgroupFixture.text("cpuset.cpus.partition-root-invalid")).kind == .root)
    }

    /// A Warden root with the UML controllers and a pre-created slice and component.
    func umlTree() -> SeededCgroupTree {
        let tree = SeededCgroupTree()
        tree.group("", ["cgroup.controllers": CgroupFixture.text("cgroup.controllers-uml"), "cgroup.subtree_control": "\n"])
        tree.group("batch.slice", ["cgroup.subtree_control": "\n", "cpu.weight": "100\n"])
        tree.group(
            "batch.slice/backtest.service",
            ["cpu.max": CgroupFixture.text("cpu.max-default"), "memory.max": "max\n", "cpuset.cpus": "\n", "cgroup.procs": ""])
        return tree
    }

    let plan = [
        CgroupGroupPlan(path: "batch.slice", unit: "batch.slice", controllers: ["cpu"], writes: [CgroupWrite("cpu.weight", "50")]),
        CgroupGroupPlan(
            path: "batch.slice/backtest.service", unit: "backtest.service", controllers: ["cpu", "cpuset", "memory"],
            writes: [CgroupWrite("cpuset.cpus", "1"), CgroupWrite("cpu.max", "20000 100000"), CgroupWrite("memory.max", "1073741824")]),
    ]

    @Test func setUpEnablesControllersTopDownBeforeWriting() throws {
        let tree = umlTree()
        let manager = try CgroupManager(rootPath: tree.root, options: Self.plainTree)
        let report = try manager.setUp(plan)
        #expect(
            report.steps.map(\.description) == [
                "./cgroup.subtree_control += cpu", "./cgroup.subtree_control += memory", "./cgroup.subtree_control += pids",
                "adopt batch.slice", "batch.slice/cpu.weight = 50",
                "batch.slice/cgroup.subtree_control += cpu", "batch.slice/cgroup.subtree_control += memory",
                "batch.slice/cgroup.subtree_control += pids", "adopt batch.slice/backtest.service",
                "batch.slice/backtest.service/cpu.max = 20000 100000", "batch.slice/backtest.service/memory.max = 1073741824",
            ])
        #expect(CgroupEnforcement.messages(report.unenforced) == ["AllowedCPUs= on backtest.service: cpuset controller not available in \(tree.root)/cgroup.controllers"])
        #expect(tree.read("batch.slice/backtest.service/cpu.max") == "20000 100000")
        #expect(tree.read("batch.slice/cpu.weight") == "50")
        #expect(tree.read("batch.slice/backtest.service/cpuset.cpus") == "\n")  // never written
    }

    @Test func aSecondSetUpAdoptsWithoutReenabling() throws {
        let tree = umlTree()
        tree.write("cgroup.subtree_control", "cpu memory pids\n")
        let manager = try CgroupManager(rootPath: tree.root, options: Self.plainTree)
        let steps = try manager.setUp(Array(plan.prefix(1))).steps.map(\.description)
        #expect(steps == ["adopt batch.slice", "batch.slice/cpu.weight = 50"])
    }

    @Test func liveChangesReturnWhatRestoresTheFilesExactly() throws {
        let tree = umlTree()
        tree.write("batch.slice/backtest.service/io.weight", CgroupFixture.text("io.weight"))
        let manager = try CgroupManager(rootPath: tree.root, options: Self.plainTree)
        let path = "batch.slice/backtest.service"
        let change = try manager.apply(
            [CgroupWrite("cpu.max", "10000 100000"), CgroupWrite("memory.max", "536870912"), CgroupWrite("io.weight", "default 300")],
            to: path, unit: "backtest.service")
        #expect(change.previous == [CgroupWrite("io.weight", "default 100"), CgroupWrite("memory.max", "max"), CgroupWrite("cpu.max", "max 100000")])
        #expect(change.unenforced.isEmpty)
        #expect(tree.read(path + "/cpu.max") == "10000 100000")
        let undo = try manager.apply(change.previous, to: path, unit: "backtest.service")
        #expect(tree.read(path + "/cpu.max") == "max 100000")
        #expect(tree.read(path + "/memory.max") == "max")
        #expect(tree.read(path + "/io.weight") == "default 100")
        #expect(undo.previous.reversed() == [CgroupWrite("io.weight", "default 300"), CgroupWrite("memory.max", "536870912"), CgroupWrite("cpu.max", "10000 100000")].reversed().reversed())
    }

    @Test func partitionPreviousValueIsTheFirstWord() {
        #expect(CgroupFileWriter.restorableValue(file: "cpuset.cpus.partition", contents: CgroupFixture.text("cpuset.cpus.partition-isolated-invalid")) == "isolated")
        #expect(CgroupFileWriter.restorableValue(file: "cpuset.cpus", contents: "\n") == "")
    }

    @Test func aMissingFileIsUnenforcedUnderDegradeAndAnErrorUnderStrict() throws {
        let tree = umlTree()
        let write = CgroupWrite("memory.swap.max", "0")
        let degrade = try CgroupManager(rootPath: tree.root, options: Self.plainTree)
        let result = try degrade.apply([write], to: "batch.slice/backtest.service", unit: "backtest.service")
        #expect(result.previous.isEmpty)
        #expect(
            result.unenforced.map(\.description) == [
                "MemorySwapMax= on backtest.service: memory.swap.max does not exist (swap accounting is off: no swap, swapaccount=0 or no CONFIG_MEMCG_SWAP)"
            ])

        var strictOptions = Self.plainTree
        strictOptions.failurePolicy = .strict
        let strict = try CgroupManager(rootPath: tree.root, options: strictOptions)
        do {
            _ = try strict.apply([write], to: "batch.slice/backtest.service", unit: "backtest.service")
            Issue.record("a strict write to a missing file succeeded")
        } catch {
            #expect(error.errno == ENOENT)
            #expect(error.description == "write \(tree.root)/batch.slice/backtest.service/memory.swap.max = '0': No such file or directory (errno 2)")
        }
    }

    @Test func cpuIdleFallsBackToTheLowestWeightOnOldKernels() throws {
        let tree = umlTree()
        tree.write("batch.slice/backtest.service/cpu.weight", "100\n")
        let manager = try CgroupManager(rootPath: tree.root, options: Self.plainTree)
        let result = try manager.apply([CgroupWrite("cpu.idle", "1")], to: "batch.slice/backtest.service", unit: "backtest.service")
        #expect(result.unenforced.first?.reason == "cpu.idle does not exist (kernel before 5.15 has no cpu.idle); cpu.weight 1 written instead")
        #expect(tree.read("batch.slice/backtest.service/cpu.weight") == "1")
    }

    /// `IOWeight=`: the `io` controller is enabled as cpu and memory are, and a host
    /// without it, or without blk-iocost's `io.weight`, gets the same "not enforced".
    @Test func ioWeightEnablesTheIOControllerAndDegradesWithoutIt() throws {
        var resources = ResourceControl()
        resources.ioWeight = IOWeight(value: 300)
        let writes = CgroupPlan.writes(for: resources, host: nil)
        let plan = [
            CgroupGroupPlan(
                path: "batch.slice", unit: "batch.slice", controllers: CgroupPlan.plannedControllers(for: writes), writes: writes)
        ]
        #expect(plan[0].controllers == ["cpu", "io"])

        let tree = umlTree()
        tree.write("batch.slice/io.weight", CgroupFixture.text("io.weight"))
        let report = try CgroupManager(rootPath: tree.root, options: Self.plainTree).setUp(plan)
        #expect(report.steps.map(\.description).contains("./cgroup.subtree_control += io"))
        #expect(report.steps.map(\.description).contains("batch.slice/io.weight = default 300"))
        #expect(report.unenforced.isEmpty)
        #expect(tree.read("batch.slice/io.weight") == "default 300")

        let withoutIOCost = umlTree()
        let degraded = try CgroupManager(rootPath: withoutIOCost.root, options: Self.plainTree).setUp(plan)
        #expect(
            degraded.unenforced.map(\.description) == [
                "IOWeight= on batch.slice: io.weight does not exist (io.weight needs a weight-based IO controller (blk-iocost))"
            ])

        let withoutIO = umlTree()
        withoutIO.write("cgroup.controllers", "cpu memory pids\n")
        let missing = try CgroupManager(rootPath: withoutIO.root, options: Self.plainTree).setUp(plan)
        #expect(!missing.steps.map(\.description).contains("./cgroup.subtree_control += io"))
        #expect(
            CgroupEnforcement.messages(missing.unenforced)
                == ["IOWeight= on batch.slice: io controller not available in \(withoutIO.root)/cgroup.controllers"])
    }

    @Test func freshGroupsAreCreatedAndErrorsNameFileValueAndErrno() throws {
        let tree = SeededCgroupTree()
        tree.group("", ["cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "\n"])
        var options = Self.plainTree
        options.failurePolicy = .strict
        let manager = try CgroupManager(rootPath: tree.root, options: options)
        let plan = [CgroupGroupPlan(path: "exec.service", unit: "exec.service", controllers: ["pids"], writes: [CgroupWrite("pids.max", "64")])]
        do {
            _ = try manager.setUp(plan)
            Issue.record("writing into a plain new directory succeeded")
        } catch {
            #expect(error.description == "write \(tree.root)/exec.service/pids.max = '64': No such file or directory (errno 2)")
        }
        #expect(tree.exists("exec.service"))
    }

    @Test(arguments: ["../escape.service", "a.slice/../../x", ".hidden/x.service", "a.slice//b.service", "/abs.service"])
    func unsafeGroupPathsAreRefused(path: String) throws {
        let tree = umlTree()
        let manager = try CgroupManager(rootPath: tree.root, options: Self.plainTree)
        #expect(throws: CgroupError.self) {
            _ = try manager.setUp([CgroupGroupPlan(path: path, unit: "x.service", controllers: [], writes: [])])
        }
        #expect(throws: CgroupError.self) { _ = try manager.directoryFD(for: path) }
        #expect(!tree.exists("../escape.service"))
    }

    @Test func statsAreReadFromTheGroupsFiles() throws {
        let tree = SeededCgroupTree()
        tree.group("", ["cgroup.controllers": "cpu memory pids\n"])
        tree.group(
            "a.service",
            [
                "cpu.stat": CgroupFixture.text("cpu.stat-6.1"), "memory.current": CgroupFixture.text("memory.current"),
                "memory.peak": CgroupFixture.text("memory.peak"), "memory.stat": CgroupFixture.text("memory.stat"),
                "memory.events": CgroupFixture.text("memory.events-6.1"), "pids.current": CgroupFixture.text("pids.current"),
                "cpu.pressure": CgroupFixture.text("cpu.pressure"), "memory.pressure": CgroupFixture.text("memory.pressure"),
                "cgroup.events": CgroupFixture.text("cgroup.events"),
            ])
        let manager = try CgroupManager(rootPath: tree.root, options: Self.plainTree)
        let stats = try manager.stats(of: "a.service")
        #expect(stats.cpu?.throttledUSec == 29_876_543)
        #expect(stats.memoryCurrentBytes == 35_336_192 && stats.memoryPeakBytes == 67_108_864)
        #expect(stats.memory?.anonBytes == 31_457_280)
        #expect(stats.memoryEvents?.oomKill == 1)
        #expect(stats.pidsCurrent == 24)
        #expect(stats.cpuPressure?.some.avg60Percent == 5.01)
        #expect(stats.memoryPressure?.full?.avg10Percent == 2.75)
        #expect(stats.ioPressure == nil)
        #expect(try manager.events(of: "a.service") == CgroupEvents(populated: true, frozen: false))

        tree.write("a.service/memory.current", "lots\n")
        #expect(throws: CgroupError.self) { _ = try manager.stats(of: "a.service") }
    }

    @Test func killFallsBackToTheSignalLoopWithoutCgroupKill() throws {
        let tree = SeededCgroupTree()
        tree.group("", ["cgroup.controllers": "\n"])
        tree.group("empty.service", ["cgroup.events": "populated 0\nfrozen 0\n", "cgroup.procs": ""])
        // Says populated but lists no pid and never changes: the loop runs to its deadline.
        tree.group("stuck.service", ["cgroup.events": "populated 1\nfrozen 0\n", "cgroup.procs": ""])
        let manager = try CgroupManager(rootPath: tree.root, options: Self.plainTree)
        #expect(try manager.kill("empty.service") == CgroupKillReport(method: .nothingToKill, rounds: 0, emptied: true))
        let stuck = try manager.kill("stuck.service", timeoutUSec: 100_000)
        #expect(stuck.method == .signalLoop && !stuck.emptied && stuck.rounds >= 1)
    }

    @Test func removeTakesTheLeafThenEmptySlicesButNotBusyOnes() throws {
        let tree = SeededCgroupTree()
        tree.group("", ["cgroup.controllers": "\n", "cgroup.subtree_control": "\n"])
        var options = Self.plainTree
        options.accountingControllers = []
        let manager = try CgroupManager(rootPath: tree.root, options: options)
        let groups = ["a.slice", "a.slice/a-b.slice", "a.slice/a-b.slice/one.service", "a.slice/two.service"]
        _ = try manager.setUp(groups.map { CgroupGroupPlan(path: $0, unit: $0, controllers: [], writes: []) })
        #expect(groups.allSatisfy { tree.exists($0) })
        #expect(try manager.remove("a.slice/a-b.slice/one.service") == ["a.slice/a-b.slice/one.service", "a.slice/a-b.slice"])
        #expect(tree.exists("a.slice/two.service"))
        #expect(try manager.remove("a.slice/two.service") == ["a.slice/two.service", "a.slice"])
        #expect(!tree.exists("a.slice"))
    }

    @Test func removeAllKeepsTheSupervisorLeaf() throws {
        let tree = SeededCgroupTree()
        tree.group("", ["cgroup.controllers": "\n", "cgroup.subtree_control": "\n"])
        tree.group("warden.supervisor", ["cgroup.procs": ""])
        let manager = try CgroupManager(rootPath: tree.root, options: CgroupManager.Options(requireCgroup2: false, accountingControllers: []))
        #expect(try manager.moveIntoSupervisorGroup() == "warden.supervisor")
        #expect(tree.read("warden.supervisor/cgroup.procs") == String(getpid()))
        _ = try manager.setUp(["x.slice", "x.slice/y.service"].map { CgroupGroupPlan(path: $0, unit: $0, controllers: [], writes: []) })
        // A plain tree has no cgroup.events, so the kill before removal fails, and the
        // first group it fails on shows the order: the supervisor leaf (sorted first) is
        // skipped. The real-kernel suite covers the complete removal.
        do {
            _ = try manager.removeAll()
            Issue.record("removeAll succeeded on a plain tree")
        } catch {
            #expect(error.description == "read \(tree.root)/x.slice/cgroup.events: No such file or directory (errno 2)")
        }
        #expect(tree.exists("warden.supervisor") && tree.exists("x.slice/y.service"))
    }

    @Test func theCgroup2CheckRefusesAPlainDirectory() throws {
        let tree = SeededCgroupTree()
        #expect(throws: CgroupError.self) { _ = try CgroupManager(rootPath: tree.root) }
        let discovery = CgroupDiscovery.discover(mountPath: tree.root)
        #expect(discovery.availability.hierarchy == .unusable(reason: "\(tree.root) is not a cgroup2 file system (a cgroup v1 or hybrid host)"))
    }

    @Test func availabilityExplainsMissingControllers() {
        let tree = SeededCgroupTree()
        tree.group("", ["cgroup.controllers": "cpuset cpu io memory pids\n", "cgroup.procs": "", "cgroup.subtree_control": "\n"])
        tree.group("warden", ["cgroup.controllers": "cpu memory\n", "cgroup.procs": "", "cgroup.subtree_control": "\n"])
        let availability = CgroupDiscovery.availability(groupPath: tree.root + "/warden", mountPath: tree.root)
        #expect(availability.hierarchy == .usable)
        #expect(availability.availableControllers == ["cpu", "memory"])
        #expect(availability.missingControllerNotes["pids"]?.hasPrefix("not delegated to \(tree.root)/warden") == true)
        let umlLike = SeededCgroupTree()
        umlLike.group("", ["cgroup.controllers": "cpu io memory pids\n", "cgroup.procs": "", "cgroup.subtree_control": "\n"])
        #expect(
            CgroupDiscovery.availability(groupPath: umlLike.root, mountPath: umlLike.root).missingControllerNotes
                == ["cpuset": "not in this kernel's \(umlLike.root)/cgroup.controllers"])
    }
}
