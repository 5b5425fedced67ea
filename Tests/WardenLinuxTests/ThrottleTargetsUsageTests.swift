import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// The throttle targets' CPU use from their `cpu.stat` `usage_usec`: a difference over
/// the sample's window, as a share of one CPU.
@Suite struct ThrottleTargetsUsageTests {
    static func cpuStat(_ usage: UInt64) -> String {
        "usage_usec \(usage)\nuser_usec \(usage)\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"
    }

    /// A hierarchy with systemd's two slices and Warden's subtree holding a batch slice.
    static func tree() -> SeededCgroupTree {
        let tree = SeededCgroupTree()
        tree.group("", ["cgroup.procs": ""])
        tree.group("user.slice", ["cpu.stat": cpuStat(1_000_000)])
        tree.group("system.slice", ["cpu.stat": cpuStat(5_000_000)])
        tree.group("system.slice/warden.service/stack", ["cgroup.procs": ""])
        tree.group("system.slice/warden.service/stack/batch.slice", ["cpu.stat": cpuStat(0)])
        return tree
    }

    static func sampler(_ tree: SeededCgroupTree, targets: [GovernorTarget]) -> GovernorSampler {
        tree.write("stat", "cpu  1000 0 0 1000 0 0 0 0 0 0\n")
        var sampler = GovernorSampler(
            host: HostSignalReader(procRoot: tree.root),
            cgroups: GovernorCgroupReader(cgroupRoot: tree.root + "/system.slice/warden.service/stack"), protectedGroup: nil,
            onlineCPUs: 2, longestCPUUseSpan: .seconds(2))
        sampler.systemdCgroupRoot = tree.root
        sampler.throttleTargets = targets
        return sampler
    }

    static let batch = GovernorTarget(name: "batch.slice", path: "batch.slice", priority: .batch)
    static let user = GovernorTarget(name: "user.slice", kind: .systemdSlice, path: "user.slice", priority: .normal)

    static func at(_ ms: UInt64) -> MonotonicInstant { MonotonicInstant(usec: ms * 1_000) }

    @Test func theTargetsUseIsADifferenceOverTheWindow() {
        let tree = Self.tree()
        var sampler = Self.sampler(tree, targets: [Self.batch, Self.user])
        // The first reading is a baseline: the share is known a quarter of a second later.
        #expect(sampler.sample(at: Self.at(0)).0.targetsCPUUsage == .measuring)
        #expect(sampler.targetsUsageReadableAt == Self.at(250))
        // 0.5 s later: the batch slice used 0.6 s, user.slice 0.3 s: 180 % of a CPU.
        tree.write("system.slice/warden.service/stack/batch.slice/cpu.stat", Self.cpuStat(600_000))
        tree.write("user.slice/cpu.stat", Self.cpuStat(1_300_000))
        #expect(sampler.sample(at: Self.at(500)).0.targetsCPUUsage == .measured(Percentage(percent: 180)))
        #expect(sampler.targetsUsageReadableAt == nil)
        // A sample sooner than a quarter of a second repeats the last window's share.
        tree.write("user.slice/cpu.stat", Self.cpuStat(1_300_100))
        #expect(sampler.sample(at: Self.at(510)).0.targetsCPUUsage == .measured(Percentage(percent: 180)))
        // One second of calm: 100 µs over 1 s is 0.01 % of a CPU.
        #expect(sampler.sample(at: Self.at(1_500)).0.targetsCPUUsage == .measured(Percentage(hundredths: 1)))
        // After a calm spell longer than the span CPU use is judged over: a fresh baseline.
        let (stale, errors) = sampler.sample(at: Self.at(60_000))
        #expect(errors.filter { $0.path.hasSuffix("/cpu.stat") }.isEmpty)
        #expect(stale.targetsCPUUsage == .measuring)
        #expect(sampler.targetsUsageReadableAt == Self.at(60_250))
    }

    /// A group that is not there now (a batch component not running, a `user.slice` no one
    /// logged in to) uses nothing; a group created again counts from zero.
    @Test func missingAndRecreatedGroups() {
        let tree = Self.tree()
        let absent = GovernorTarget(name: "backfill.service", path: "backfill.service", priority: .batch)
        var sampler = Self.sampler(tree, targets: [Self.batch, absent])
        #expect(sampler.sample(at: Self.at(0)).0.targetsCPUUsage == .measuring)
        tree.group("system.slice/warden.service/stack/backfill.service", ["cpu.stat": Self.cpuStat(200_000)])
        tree.write("system.slice/warden.service/stack/batch.slice/cpu.stat", Self.cpuStat(0))
        // backfill appeared with 0.2 s over the 1 s window (its counter started over at 0).
        #expect(sampler.sample(at: Self.at(1_000)).0.targetsCPUUsage == .measured(Percentage(percent: 20)))
    }

    /// Where usage cannot be read the sample says nothing about contenders (nil), and the
    /// governor judges CPU signals as it does without the reading.
    @Test func unreadableUsageIsNil() {
        let tree = Self.tree()
        // No cgroup hierarchy where the slices should be: not "unused", unknown.
        var noHierarchy = Self.sampler(tree, targets: [Self.user])
        noHierarchy.systemdCgroupRoot = tree.root + "/nowhere"
        let (sample, errors) = noHierarchy.sample(at: Self.at(0))
        #expect(sample.targetsCPUUsage == nil)
        #expect(errors.map(\.path).filter { $0.hasSuffix("/cpu.stat") } == [tree.root + "/nowhere/user.slice/cpu.stat"])
        // A cpu.stat without usage_usec.
        tree.write("user.slice/cpu.stat", "nr_periods 0\n")
        var garbled = Self.sampler(tree, targets: [Self.user])
        let (garbledSample, garbledErrors) = garbled.sample(at: Self.at(0))
        #expect(garbledSample.targetsCPUUsage == nil)
        #expect(garbledErrors.filter { $0.path.hasSuffix("/cpu.stat") }.count == 1)
        // Nothing to measure at all: group targets without a subtree of Warden's.
        var none = Self.sampler(tree, targets: [])
        #expect(none.sample(at: Self.at(0)).0.targetsCPUUsage == nil)
        var withoutSubtree = GovernorSampler(
            host: HostSignalReader(procRoot: tree.root), cgroups: nil, protectedGroup: nil, onlineCPUs: 2)
        withoutSubtree.throttleTargets = [Self.batch]
        #expect(withoutSubtree.throttleTargetGroups.isEmpty)
    }

    /// systemd nests slices by name; a group inside another measured one is not counted twice.
    @Test func directories() {
        var sampler = GovernorSampler(
            host: HostSignalReader(), cgroups: GovernorCgroupReader(cgroupRoot: "/sys/fs/cgroup/warden"), protectedGroup: nil,
            onlineCPUs: 2)
        sampler.throttleTargets = [
            GovernorTarget(name: "batch-jobs.slice", kind: .systemdSlice, path: "batch-jobs.slice", priority: .normal),
            GovernorTarget(name: "trading-batch.slice", path: "trading.slice/trading-batch.slice", priority: .batch),
        ]
        #expect(
            sampler.throttleTargetGroups.map(\.directory) == [
                "/sys/fs/cgroup/batch.slice/batch-jobs.slice", "/sys/fs/cgroup/warden/trading.slice/trading-batch.slice",
            ])
        let outer = ThrottleTargetsUsage.Group(directory: "/sys/fs/cgroup/system.slice", hierarchyRoot: "/sys/fs/cgroup")
        let inner = ThrottleTargetsUsage.Group(directory: "/sys/fs/cgroup/system.slice/warden.service/stack/b", hierarchyRoot: "/x")
        let sibling = ThrottleTargetsUsage.Group(directory: "/sys/fs/cgroup/system.slice-other", hierarchyRoot: "/sys/fs/cgroup")
        #expect(ThrottleTargetsUsage.outermost([inner, outer, sibling, outer]) == [outer, sibling])
    }
}
