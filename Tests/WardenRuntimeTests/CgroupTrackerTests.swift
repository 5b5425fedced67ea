import Glibc
import Testing
@testable import WardenCore
@testable import WardenLinux
@testable import WardenRuntime

/// The placement decision and the tracker's bookkeeping against a temp-dir tree seeded
/// with kernel-format files (the real kernel is exercised in Tests/kernel/warden-suite).
@Suite("Cgroup placement and tracker on a seeded tree")
struct CgroupTrackerTests {
    static let plan = [
        CgroupGroupPlan(path: "hogs.slice", unit: "hogs.slice", controllers: [], writes: []),
        CgroupGroupPlan(
            path: "hogs.slice/hog.service", unit: "hog.service", controllers: ["cpu"],
            writes: [CgroupWrite("cpu.max", "20000 100000")]),
    ]

    struct PlacementCase: Sendable, CustomStringConvertible {
        var description: String
        var procs: String
        var children: [String]
        /// nil: managed; else a phrase the reason must contain.
        var refusal: String?
    }

    static let ownPID: Int32 = 4242

    static let placementCases: [PlacementCase] = [
        PlacementCase(description: "only Warden, empty", procs: "4242\n", children: [], refusal: nil),
        PlacementCase(description: "empty group (Warden not yet in it)", procs: "", children: [], refusal: nil),
        PlacementCase(
            description: "leftovers of an earlier run", procs: "4242\n", children: ["warden.supervisor", "hogs.slice"],
            refusal: nil),
        PlacementCase(
            description: "shared with other processes", procs: "1\n4242\n77\n", children: [],
            refusal: "also holds other processes (1 77)"),
        PlacementCase(
            description: "foreign child groups", procs: "4242\n", children: ["init.scope", "hogs.slice"],
            refusal: "child groups Warden does not create (init.scope)"),
    ]

    @Test(arguments: placementCases)
    func placement(_ test: PlacementCase) throws {
        let tree = SeededTree()
        writeText(tree.root + "/cgroup.procs", test.procs)
        for child in test.children { mkdir(tree.root + "/" + child, 0o755) }
        let discovery = CgroupDiscovery(
            mountPath: tree.root, ownGroup: "/", groupPath: tree.root,
            availability: CgroupAvailability(hierarchy: .usable, availableControllers: ["cpu", "memory", "pids"]))
        let decision = CgroupPlacement.decide(discovery: discovery, plan: Self.plan, ownPID: Self.ownPID)
        switch (decision, test.refusal) {
        case (.manage(let path), nil):
            #expect(path == tree.root)
        case (.withoutCgroups(let reason, let unenforced), let expected?):
            #expect(reason.contains(expected), "reason: \(reason)")
            #expect(unenforced.map(\.key) == ["CPUQuota="])
        default:
            Issue.record("unexpected decision \(decision)")
        }
    }

    @Test func unusableHierarchyListsEverySetting() {
        let discovery = CgroupDiscovery(
            mountPath: "/sys/fs/cgroup", ownGroup: nil, groupPath: nil,
            availability: CgroupAvailability(hierarchy: .unusable(reason: "hybrid v1/v2 host")))
        guard case .withoutCgroups(let reason, let unenforced) = CgroupPlacement.decide(discovery: discovery, plan: Self.plan)
        else {
            Issue.record("an unusable hierarchy was managed")
            return
        }
        #expect(reason == "hybrid v1/v2 host")
        #expect(CgroupEnforcement.messages(unenforced) == ["CPUQuota= on hog.service: cgroup v2 not usable: hybrid v1/v2 host"])
    }

    @Test func trackerReadsMembershipAndCountsOOMKillsOnce() throws {
        let tree = SeededTree()
        let leaf = tree.root + "/hogs.slice/hog.service"
        mkdir(tree.root + "/hogs.slice", 0o755)
        mkdir(leaf, 0o755)
        for dir in [tree.root + "/hogs.slice", leaf] { writeText(dir + "/cgroup.events", "populated 1\nfrozen 0\n") }
        writeText(leaf + "/cgroup.procs", "300\n200\n")
        func memoryEvents(oomKill: Int) {
            writeText(leaf + "/memory.events", "low 0\nhigh 0\nmax 9\noom \(oomKill)\noom_kill \(oomKill)\noom_group_kill 0\n")
        }
        memoryEvents(oomKill: 1)
        let manager = try CgroupManager(rootPath: tree.root, options: CgroupManager.Options(requireCgroup2: false))
        let tracker = CgroupProcessTracker(manager: manager, plan: Self.plan)
        #expect(tracker.path(of: "hog.service") == "hogs.slice/hog.service")
        #expect(tracker.path(of: "other.service") == nil)

        // An existing group is adopted; the OOM kills before this run are the baseline.
        let placed = try tracker.prepareGroup(for: "hog.service")
        #expect(placed.fd >= 0)
        #expect(placed.unenforced.isEmpty)
        #expect(tracker.newOOMKills(of: "hog.service") == 0)
        memoryEvents(oomKill: 3)
        #expect(tracker.newOOMKills(of: "hog.service") == 2)
        #expect(tracker.newOOMKills(of: "hog.service") == 0, "the same kills are reported once")

        let run = TrackedRun(unit: "hog.service", invocationID: "x", rootPIDs: [])
        #expect(tracker.liveProcesses(of: run) == [200, 300])
        #expect(tracker.isPopulated("hog.service") == true)
        writeText(leaf + "/cgroup.events", "populated 0\nfrozen 0\n")
        #expect(tracker.isPopulated("hog.service") == false)
    }
}

/// A temp directory standing in for a cgroup, removed at the end.
final class SeededTree {
    let root: String

    init() {
        var template = Array("/tmp/warden-cgtree-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        root = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        writeText(root + "/cgroup.controllers", "cpu memory pids\n")
        writeText(root + "/cgroup.subtree_control", "")
    }

    deinit {
        // Only the tree this object made: depth-first, files then directories.
        func remove(_ path: String) {
            if let dir = opendir(path) {
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    if name == "." || name == ".." { continue }
                    let child = path + "/" + name
                    if entry.pointee.d_type == UInt8(DT_DIR) { remove(child) } else { unlink(child) }
                }
                closedir(dir)
            }
            rmdir(path)
        }
        remove(root)
    }
}
