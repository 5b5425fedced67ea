import Testing
@testable import WardenCore

@Suite struct GovernorManualTests {
    func on(_ world: inout GovernorWorld, _ request: ManualEmergencyRequest, at s: UInt64) throws -> GovernorDecision {
        let decision = try Governor.manualOn(
            state: world.state, request: request, at: instant(s), targets: world.targets, thresholds: world.thresholds
        ).get()
        world.state = decision.state
        world.carryOut(decision.actions)
        return decision
    }

    @Test func namedTargetsGetTheRequestedQuotaAndExpire() throws {
        var world = GovernorWorld()
        let request = ManualEmergencyRequest(
            cpuQuota: CPUQuota(perSecondUSec: 250_000), targets: ["tools.slice", "system.slice"], duration: .seconds(600))
        let decision = try on(&world, request, at: 5)
        #expect(world.state.tier == .critical)
        #expect(world.state.manualUntil == instant(605))
        #expect(decision.actions.contains(.apply(target: "tools.slice", path: "tools.slice", writes: [
            CgroupWrite("cpu.max", "25000 100000"), CgroupWrite("cpu.weight", "1"),
        ])))
        #expect(decision.actions.contains(.throttleSystemdSlice(name: "system.slice", properties: [sliceQuota(250_000), sliceWeight(1)])))
        #expect(!decision.actions.contains { if case .apply("batch.slice", _, _) = $0 { true } else { false } })
        #expect(decision.audit?.cause == "manual emergency on")
        // Calm signals do not end manual mode; critical ones do not add to it.
        #expect(world.feed(Load.calm.sample(at: 300)).actions.isEmpty)
        #expect(world.feed(Load.crit.sample(at: 400)).actions.isEmpty)
        #expect(world.state.tier == .critical)
        let expired = world.feed(GovernorSample(at: instant(605)))
        #expect(world.state.tier == .normal)
        #expect(world.state.mode == .automatic)
        #expect(expired.audit?.cause == "manual emergency expired")
        #expect(expired.actions.contains(.restore(target: "tools.slice", path: "tools.slice", writes: [
            CgroupWrite("cpu.weight", "100"), CgroupWrite("cpu.max", "max 100000"),
        ])))
        #expect(expired.actions.contains(.restoreSystemdSlice(name: "system.slice", properties: [sliceWeight(nil), sliceQuota(nil)])))
        #expect(world.state.changes.isEmpty)
    }

    @Test func expiryUnderOverloadHandsOverToTheAutomaticTier() throws {
        var world = GovernorWorld()
        try on(&world, ManualEmergencyRequest(duration: .seconds(60)), at: 0)
        #expect(world.state.changes(of: "batch.slice").count == 2)
        let expired = world.feed(Load.crit.sample(at: 60))
        #expect(world.state.tier == .critical)
        #expect(world.state.mode == .automatic)
        // The same throttle is wanted: nothing is restored and written again.
        #expect(expired.actions.allSatisfy { if case .alert = $0 { true } else { false } })
        #expect(world.state.changes(of: "batch.slice").map(\.previous) == ["max 100000", "100"])
    }

    @Test func freezeBatchIsSevereAndOffRestoresEverything() throws {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))  // automatic throttle first
        let decision = try on(&world, ManualEmergencyRequest(freezeBatch: true), at: 1)
        #expect(world.state.tier == .severe)
        #expect(decision.actions.contains(.apply(target: "batch.slice", path: "batch.slice", writes: [CgroupWrite("cgroup.freeze", "1")])))
        let off = try #require(Governor.manualOff(state: world.state, at: instant(2), targets: world.targets, thresholds: world.thresholds))
        world.state = off.state
        world.carryOut(off.actions)
        #expect(world.state.tier == .normal)
        #expect(world.state.changes.isEmpty)
        #expect(world.targets.map(\.current) == GovernorWorld.standardTargets.map(\.current))
        #expect(off.actions.contains { if case .alert(let a) = $0 { a.rule == "manual" } else { false } })
        #expect(Governor.manualOff(state: world.state, at: instant(3), targets: world.targets, thresholds: world.thresholds) == nil)
    }

    @Test func aSecondRequestKeepsTheOriginalPreviousValues() throws {
        var world = GovernorWorld()
        try on(&world, ManualEmergencyRequest(cpuQuota: CPUQuota(perSecondUSec: 500_000), targets: ["tools.slice"]), at: 0)
        let second = try on(&world, ManualEmergencyRequest(cpuQuota: CPUQuota(perSecondUSec: 100_000), targets: ["tools.slice"]), at: 1)
        #expect(second.actions.contains(.apply(target: "tools.slice", path: "tools.slice", writes: [CgroupWrite("cpu.max", "10000 100000")])))
        #expect(world.state.changes(of: "tools.slice").first { $0.file == "cpu.max" }?.previous == "max 100000")
    }

    static let refused: [(String, String)] = [
        ("order-executor.service", "never throttles"),
        ("trading.slice", "never throttles"),  // holds the critical slice
        ("user.slice", "never throttles"),
        ("nosuch.service", "no slice or component named 'nosuch.service'"),
    ]

    @Test(arguments: refused)
    func criticalAndUnknownTargetsAreRefused(name: String, message: String) {
        let world = GovernorWorld()
        let result = Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(targets: [name]), at: .zero, targets: world.targets,
            thresholds: world.thresholds)
        guard case .failure(let error) = result else {
            Issue.record("\(name) was accepted")
            return
        }
        #expect(error.message.contains(message))
    }
}

@Suite struct GovernorPersistenceTests {
    static let states: [GovernorState] = [
        .initial(at: instant(3)),
        GovernorState(
            tier: .severe, mode: .automatic, since: instant(10), calmSince: instant(11), criticalSince: instant(0),
            changes: [
                GovernorChange(target: "batch.slice", kind: .group, path: "batch.slice", file: "cpu.max", written: "50000 100000", previous: "max 100000"),
                GovernorChange(target: "system.slice", kind: .systemdSlice, path: "system.slice", file: "CPUQuotaPerSecUSec", written: "500000", previous: "infinity"),
            ],
            lastAlertAt: ["tier-critical": instant(0), "tier-severe": instant(10)], bootID: "5f0c-boot"),
        GovernorState(
            tier: .critical,
            mode: .manual(ManualEmergencyRequest(cpuQuota: CPUQuota(perSecondUSec: 250_000), targets: ["we\"ird\\name\n.slice", "b.service"], freezeBatch: true, duration: .seconds(600)), until: instant(700)),
            since: instant(100)),
        GovernorState(tier: .critical, mode: .manual(ManualEmergencyRequest(), until: nil), since: instant(1)),
        // A record's group identity, the configured value and an operator's take-over.
        GovernorState(
            tier: .critical, since: instant(2),
            changes: [
                GovernorChange(
                    target: "batch.service", kind: .group, path: "system.slice/batch.service", file: "cpu.max", written: "50000 100000",
                    previous: "max 100000", identity: 4711, configured: "max 100000"),
                GovernorChange(
                    target: "batch.service", kind: .group, path: "system.slice/batch.service", file: "cpu.weight", written: "1",
                    previous: "100", identity: 4711, configured: "100", yielded: true),
                GovernorChange(
                    target: "b.slice", kind: .group, path: "b.slice", file: "cpu.max", written: "1", previous: "2", configured: "-x"),
                GovernorChange(target: "c.slice", kind: .group, path: "c.slice", file: "cpu.max", written: "1", previous: "2", yielded: true),
            ]),
    ]

    @Test func aRecordsIdentityAndConfiguredValueAreWrittenAfterItsValues() {
        let text = Self.states[4].encoded()
        #expect(text.contains("change group \"batch.service\" \"system.slice/batch.service\" \"cpu.max\" \"50000 100000\" \"max 100000\" 4711 \"max 100000\"\n"))
        #expect(text.contains("\"cpu.weight\" \"1\" \"100\" 4711 \"100\" yielded\n"))
        #expect(text.contains("\"c.slice\" \"cpu.max\" \"1\" \"2\" - - yielded\n"))
    }

    @Test(arguments: states)
    func roundTrip(state: GovernorState) throws {
        let text = state.encoded()
        #expect(try GovernorState.decode(text).get() == state, "\(text)")
        #expect(text.hasPrefix("# Warden governor state"))
    }

    @Test func theEncodingIsStable() {
        let text = Self.states[1].encoded()
        #expect(text == """
            # Warden governor state: what the governor changed and the values to restore.
            # Written at every change; read when Warden starts. Do not edit while Warden runs.
            warden-governor-state 1
            tier severe
            mode automatic
            since 10000000
            calm-since 11000000
            critical-since 0
            boot-id "5f0c-boot"
            alert "tier-critical" 0
            alert "tier-severe" 10000000
            change group "batch.slice" "batch.slice" "cpu.max" "50000 100000" "max 100000"
            change systemd-slice "system.slice" "system.slice" "CPUQuotaPerSecUSec" "500000" "infinity"

            """)
    }

    static let header = "warden-governor-state 1\n"
    static let corrupted: [(String, Int, Int, String)] = [
        ("", 1, 1, "empty"),
        ("# only a comment\n", 2, 1, "empty"),
        ("warden-governor-state 2\ntier normal\n", 1, 23, "format version 2"),
        ("warden-governor-state x\n", 1, 23, "not a format version"),
        ("tier normal\n", 1, 1, "not a governor state file"),
        (header + "tier normal\nmode automatic\n", 4, 1, "no 'since' line"),
        (header + "mode automatic\nsince 0\n", 4, 1, "no 'tier' line"),
        (header + "tier hot\n", 2, 6, "'hot' is not a tier"),
        (header + "tier normal\ntier normal\n", 3, 1, "appears twice (first on line 2)"),
        (header + "tier normal extra\n", 2, 13, "'tier' takes 1 value, found 2"),
        (header + "since -5\n", 2, 7, "not a monotonic time"),
        (header + "tier normal\nmode automatic\nsince 0\nchange group \"a\" \"a\" \"cpu.max\" \"1 2\n", 5, 32, "not closed"),
        (header + "change group \"a\" \"a\" \"cpu.max\" \"1\"\n", 2, 36, "'change' takes 6, 8 or 9 values, found 5"),
        (header + "change pod \"a\" \"a\" \"cpu.max\" \"1\" \"2\"\n", 2, 8, "not a target kind"),
        (header + "change group \"a\" \"a\" \"cpu.max\" \"1\" \"2\" 12\n", 2, 43, "'change' takes 6, 8 or 9 values, found 7"),
        (header + "change group \"a\" \"a\" \"cpu.max\" \"1\" \"2\" x \"3\"\n", 2, 40, "not a group identity"),
        (header + "change group \"a\" \"a\" \"cpu.max\" \"1\" \"2\" 1 \"3\" theirs\n", 2, 46, "'theirs' is not 'yielded'"),
        (header + "change group \"a\" \"a\" \"cpu.max\" \"1\\q\" \"2\"\n", 2, 34, "unknown escape"),
        (header + "change group \"a\"\"b\" \"a\" \"cpu.max\" \"1\" \"2\"\n", 2, 17, "expected a space"),
        (
            header + "change group \"a\" \"a\" \"cpu.max\" \"1\" \"2\"\nchange group \"a\" \"b\" \"cpu.max\" \"1\" \"2\"\n", 3, 14,
            "a second change of a cpu.max"
        ),
        (header + "tier normal\nmode automatic\nsince 0\nmanual-until 5\n", 5, 1, "'manual-until' in automatic mode"),
        (header + "colour blue\n", 2, 1, "unknown key 'colour'"),
        (header + "manual-cpu-quota-per-sec-usec 0\n", 2, 31, "above 0"),
    ]

    @Test(arguments: corrupted)
    func corruptedInputIsRejectedWithAPosition(text: String, line: Int, column: Int, message: String) {
        guard case .failure(let error) = GovernorState.decode(text) else {
            Issue.record("accepted: \(text)")
            return
        }
        #expect(error.line == line && error.column == column, "\(error)")
        #expect(error.message.contains(message), "\(error)")
        #expect(error.located(in: "/run/warden/governor.state").hasPrefix("/run/warden/governor.state:\(line):\(column): "))
    }

    @Test func everyPrefixOfAValidFileIsRejectedOrAValidState() {
        // A torn write (the runtime renames, but be safe): no prefix may crash or decode to
        // a state that claims fewer changes without saying the file is short.
        let text = Self.states[1].encoded()
        for length in 0..<text.utf8.count {
            let prefix = String(decoding: Array(text.utf8.prefix(length)), as: UTF8.self)
            if case .success(let state) = GovernorState.decode(prefix) {
                #expect(state.tier == .severe)
            }
        }
    }

    @Test func aStateFromAnotherBootIsDiscarded() {
        let stored = Self.states[1]
        let other = GovernorState.resumed(from: stored, bootID: "new-boot", at: instant(1))
        #expect(other.discarded && other.state.changes.isEmpty && other.state.tier == .normal)
        let same = GovernorState.resumed(from: stored, bootID: "5f0c-boot", at: instant(1))
        #expect(!same.discarded && same.state == stored)
        #expect(GovernorState.resumed(from: nil, bootID: "x", at: instant(1)).state == .initial(at: instant(1), bootID: "x"))
    }

    @Test func aRestartedGovernorRestoresFromTheFile() throws {
        // Warden throttled, was SIGKILLed, the load is gone: the next Warden reads the file
        // and restores after the cooldown, exactly.
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        let file = world.state.encoded()
        var restarted = GovernorWorld(targets: world.targets)
        restarted.state = try GovernorState.decode(file).get()
        restarted.feed(Load.calm.sample(at: 30))
        restarted.feed(Load.calm.sample(at: 90))
        #expect(restarted.state.tier == .warning)
        #expect(restarted.targets.map(\.current) == GovernorWorld.standardTargets.map(\.current))
    }

    @Test func standDownRestoresWhateverTheMode() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        world.feed(Load.crit.sample(at: 10))
        let down = Governor.standDown(state: world.state, at: instant(11), targets: world.targets, thresholds: world.thresholds, cause: "governor disabled")
        world.state = down.state
        world.carryOut(down.actions)
        #expect(world.state.tier == .normal && world.state.changes.isEmpty)
        #expect(world.targets.map(\.current) == GovernorWorld.standardTargets.map(\.current))
        #expect(down.audit?.cause == "governor disabled")
    }
}

@Suite struct GovernorTargetTests {
    @Test func targetsFollowTheConfigurationsPrioritiesAndPaths() throws {
        var tree = Tree()
        tree.unit("trading.slice", "[Slice]\n")
        tree.unit("trading-critical.slice", "[Slice]\n[X-Warden]\nPriority=critical\n")
        tree.unit("trading-batch.slice", "[Slice]\n[X-Warden]\nPriority=batch\nEmergencyCPUQuota=20%\n")
        tree.unit("exec.service", service("Slice=trading-critical.slice"))
        tree.unit("backtest.service", service("Slice=trading-batch.slice\nCPUQuotaPeriodSec=50ms"))
        tree.unit("web.service", service(""))
        let configuration = try #require(tree.load().configuration)
        let targets = GovernorTarget.targets(for: configuration)
        func find(_ name: String) -> GovernorTarget? { targets.first { $0.name == name } }
        #expect(find("exec.service")?.path == "trading.slice/trading-critical.slice/exec.service")
        #expect(find("exec.service")?.priority == .critical)
        #expect(find("trading-batch.slice")?.priority == .batch)
        #expect(find("trading-batch.slice")?.emergencyCPUQuota == CPUQuota(perSecondUSec: 200_000))
        #expect(find("backtest.service")?.priority == .batch)
        #expect(find("backtest.service")?.cpuQuotaPeriodUSec == 50_000)
        #expect(find("trading.slice")?.priority == .normal)
        // web.service (normal, no Slice=) is a unit in system.slice: never throttled.
        let slices = GovernorTarget.systemdSlices(["system.slice", "user.slice"], configuration: configuration, componentsAreSystemdUnits: true)
        #expect(slices.map(\.priority) == [.critical, .normal])
        #expect(slices[0].sheltered?.contains("web.service (Priority=normal)") == true)
        #expect(find("trading.slice")?.configured["cpu.max"] == "max 100000")
        #expect(find("backtest.service")?.configured["cpu.max"] == "max 50000")
        tree.unit("exec.service", service("Slice=system.slice\n[X-Warden]\nPriority=critical"))
        let moved = try #require(tree.load().configuration)
        #expect(GovernorTarget.systemdSlices(["system.slice"], configuration: moved, componentsAreSystemdUnits: true).map(\.priority) == [.critical])
        #expect(GovernorTarget.systemdSlices(["system.slice"], configuration: moved, componentsAreSystemdUnits: false).map(\.priority) == [.normal])
        // The slice that holds the Warden daemon itself is never throttled: it holds the
        // stack (every component runs in Warden's cgroup without a subtree of its own).
        let own = GovernorTarget.systemdSlices(
            ["system.slice", "user.slice", "trading-critical.slice"], configuration: configuration, componentsAreSystemdUnits: false,
            wardenCgroup: "/system.slice/warden.service")
        #expect(own.map(\.priority) == [.critical, .normal, .normal])
        let nested = GovernorTarget.systemdSlices(
            ["trading.slice", "trading-critical.slice", "system.slice"], configuration: configuration, componentsAreSystemdUnits: false,
            wardenCgroup: "/trading.slice/trading-critical.slice/warden.service")
        #expect(nested.map(\.priority) == [.critical, .critical, .normal])
        #expect(!GovernorTarget.holds(slice: "system.slice", cgroup: "/system.slice-not/x.service"))
        // And a manual emergency naming it is refused, as for any critical group.
        switch Governor.manualOn(
            state: .initial(at: MonotonicInstant(usec: 1), bootID: nil), request: ManualEmergencyRequest(targets: ["system.slice"]),
            at: MonotonicInstant(usec: 1), targets: own, thresholds: GovernorThresholds(GovernorSettings()))
        {
        case .success: Issue.record("the slice holding Warden was throttled")
        case .failure(let error): #expect(error.message.contains("is never throttled: it holds Warden itself"))
        }
    }

    @Test(arguments: [(3879, "38.79%"), (7000, "70%"), (1250, "12.5%"), (5, "0.05%"), (0, "0%")])
    func percentagesPrintAsTheKernelDoes(hundredths: Int, text: String) {
        #expect(Percentage(hundredths: hundredths).description == text)
    }

    @Test func triggersAreTheThresholdsShareOfTheWindow() {
        let t = GovernorThresholds(GovernorSettings())
        #expect(t.trigger(for: .cpu, level: .critical)! == (250_000, 1_000_000))
        #expect(t.trigger(for: .cpu, level: .warning)! == (100_000, 1_000_000))
        #expect(t.trigger(for: .memory, level: .critical)! == (100_000, 1_000_000))
        #expect(t.trigger(for: .memory, level: .warning) == nil)
    }
}
