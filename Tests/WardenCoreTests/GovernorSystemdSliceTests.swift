import Testing
@testable import WardenCore

// What the real-systemd run (Tests/kernel/systemd-suite/governor-dbus.sh) found: Warden's
// own system.slice and systemd's share a name; a batch component with no CPU setting had
// no cpu.max to throttle; a component restarted under a new Warden lost its throttle.
@Suite struct GovernorSystemdSliceTests {
    /// Warden's system.slice (a component without Slice= runs there) next to systemd's.
    static func sharedNameTargets(wardenSystemSlice: Priority, component: Priority) -> [GovernorTarget] {
        [
            GovernorTarget(name: "system.slice", path: "system.slice", priority: wardenSystemSlice, current: GovernorWorld.fresh),
            GovernorTarget(name: "batch.service", path: "system.slice/batch.service", priority: component, current: GovernorWorld.fresh),
            GovernorTarget(
                name: "system.slice", kind: .systemdSlice, path: "system.slice", priority: .normal,
                current: GovernorWorld.freshSlice),
        ]
    }

    static let sharedNameCases: [(wardenSlice: Priority, component: Priority, groupThrottled: Bool)] = [
        (.normal, .batch, true),
        (.normal, .critical, false),  // Warden's system.slice holds a critical component
        (.critical, .critical, false),
    ]

    @Test(arguments: sharedNameCases)
    func targetNamesBothSlicesOfTheSameName(wardenSlice: Priority, component: Priority, groupThrottled: Bool) throws {
        var world = GovernorWorld(targets: Self.sharedNameTargets(wardenSystemSlice: wardenSlice, component: component))
        let decision = try Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(cpuQuota: CPUQuota(perSecondUSec: 200_000), targets: ["system.slice"]),
            at: instant(1), targets: world.targets, thresholds: world.thresholds
        ).get()
        world.state = decision.state
        world.carryOut(decision.actions)
        #expect(decision.actions.contains(.throttleSystemdSlice(name: "system.slice", properties: [sliceQuota(200_000), sliceWeight(1)])))
        let groupWrite = decision.actions.contains { if case .apply("system.slice", _, _) = $0 { true } else { false } }
        #expect(groupWrite == groupThrottled)
        #expect(world.state.changes.contains { $0.kind == .systemdSlice && $0.previous == "infinity" })
        let off = try #require(Governor.manualOff(state: world.state, at: instant(2), targets: world.targets, thresholds: world.thresholds))
        world.carryOut(off.actions)
        #expect(off.state.changes.isEmpty)
        #expect(world.targets.map(\.current) == Self.sharedNameTargets(wardenSystemSlice: wardenSlice, component: component).map(\.current))
    }

    @Test func aNameWhoseEveryTargetIsCriticalIsRefused() {
        var targets = Self.sharedNameTargets(wardenSystemSlice: .critical, component: .critical)
        targets[2].priority = .critical
        let world = GovernorWorld(targets: targets)
        let result = Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(targets: ["system.slice"]), at: .zero, targets: targets,
            thresholds: world.thresholds)
        guard case .failure(let error) = result else {
            Issue.record("system.slice was accepted although both are critical")
            return
        }
        #expect(error.message.contains("never throttles"))
    }

    @Test(arguments: [GovernorTarget.Kind.group, .systemdSlice])
    func forgetDropsOnlyTheRecordsOfThatKind(kind: GovernorTarget.Kind) throws {
        var world = GovernorWorld(targets: Self.sharedNameTargets(wardenSystemSlice: .normal, component: .batch))
        world.state = try Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(targets: ["system.slice"]), at: instant(1), targets: world.targets,
            thresholds: world.thresholds
        ).get().state
        #expect(Set(world.state.changes.map(\.kind)) == [.group, .systemdSlice])
        world.state.forget(target: "system.slice", kind: kind)
        #expect(Set(world.state.changes.map(\.kind)) == Set(GovernorTarget.Kind.allCases).subtracting([kind]))
    }

    /// A new Warden resumes a manual emergency from the state file after the old one was
    /// SIGKILLed; the component's group was recreated at the start and holds its default
    /// again. The resumed decision writes the throttle again and keeps the original previous value.
    @Test func aRecreatedGroupIsThrottledAgainOnResume() throws {
        var world = GovernorWorld()
        let request = ManualEmergencyRequest(cpuQuota: CPUQuota(perSecondUSec: 300_000))
        let on = try Governor.manualOn(
            state: world.state, request: request, at: instant(1), targets: world.targets, thresholds: world.thresholds
        ).get()
        world.state = on.state
        world.carryOut(on.actions)
        let recorded = world.state.changes
        // The group as a new Warden finds it: recreated, the defaults in its files.
        let i = world.targets.firstIndex { $0.name == "batch.slice" }!
        world.targets[i].current = GovernorWorld.fresh
        let resumed = world.feed(GovernorSample(at: instant(5)))
        #expect(resumed.actions.contains(.apply(target: "batch.slice", path: "batch.slice", writes: [
            CgroupWrite("cpu.max", "30000 100000"), CgroupWrite("cpu.weight", "1"),
        ])))
        #expect(world.state.changes == recorded)
        #expect(world.target("batch.slice").current["cpu.max"] == "30000 100000\n")
        // Once in force, the next look writes nothing.
        #expect(world.feed(GovernorSample(at: instant(6))).actions.isEmpty)
    }

    /// A value someone else set is not the previous one: it is left alone and reported as
    /// a conflict once, when first seen, never overwritten by the re-write above.
    @Test func aGroupChangedBySomeoneElseIsNotWrittenAgain() throws {
        var world = GovernorWorld()
        let on = try Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(), at: instant(1), targets: world.targets, thresholds: world.thresholds
        ).get()
        world.state = on.state
        world.carryOut(on.actions)
        let i = world.targets.firstIndex { $0.name == "batch.slice" }!
        world.targets[i].current["cpu.max"] = "70000 100000\n"
        let seen = world.feed(GovernorSample(at: instant(5)))
        #expect(seen.conflicts.map(\.found) == ["70000 100000"])
        #expect(seen.actions.allSatisfy { $0.cgroupWrites.isEmpty })
        #expect(world.feed(GovernorSample(at: instant(6))).actions.isEmpty)
    }

    /// The cgroup plan enables the cpu controller for every group the governor may throttle,
    /// even one with no CPU setting, and for the critical groups whose weight it raises.
    @Test func theGovernorsGroupsHaveTheCPUController() throws {
        var tree = Tree()
        tree.unit("critical.slice", "[Slice]\n[X-Warden]\nPriority=critical\n")
        tree.unit("feed.service", service("Slice=critical.slice"))
        tree.unit("batch.service", service("") + "[X-Warden]\nPriority=batch\n")
        tree.unit("tools.service", service("MemoryMax=1G"))
        let configuration = try #require(tree.load().configuration)
        let controllers = Dictionary(uniqueKeysWithValues: CgroupPlan.plan(for: configuration, host: nil).map { ($0.unit, $0.controllers) })
        #expect(controllers["batch.service"] == ["cpu"])
        #expect(controllers["tools.service"] == ["cpu", "memory"])
        #expect(controllers["system.slice"] == ["cpu"])
        #expect(controllers["critical.slice"] == ["cpu"])
        #expect(controllers["feed.service"] == ["cpu"])
    }
}
