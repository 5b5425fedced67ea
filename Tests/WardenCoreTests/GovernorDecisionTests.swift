import Testing
@testable import WardenCore

@Suite struct GovernorTierTests {
    typealias Step = (at: UInt64, load: Load, tier: GovernorTier)

    // Defaults: severe after 10 s of critical, cooldown 60 s.
    static let sequences: [(String, [Step])] = [
        ("critical at once", [(0, .crit, .critical)]),
        ("warning at once", [(0, .warn, .warning)]),
        ("calm stays normal", [(0, .calm, .normal), (100, .calm, .normal)]),
        ("a fired trigger escalates before avg10 catches up", [(0, .fired, .critical)]),
        ("warning then critical", [(0, .warn, .warning), (1, .crit, .critical)]),
        ("severe after 10 s of critical", [(0, .crit, .critical), (5, .crit, .critical), (10, .crit, .severe)]),
        (
            "a break in critical restarts the severe clock",
            [(0, .crit, .critical), (5, .warn, .critical), (8, .crit, .critical), (17, .crit, .critical), (18, .crit, .severe)]
        ),
        (
            "cooldown of 60 s, then one tier at a time",
            [
                (0, .crit, .critical), (1, .calm, .critical), (60, .calm, .critical), (61, .calm, .warning),
                (120, .calm, .warning), (121, .calm, .normal),
            ]
        ),
        (
            "a long calm gap still steps down one tier",
            [(0, .crit, .critical), (10, .crit, .severe), (11, .calm, .severe), (1000, .calm, .critical), (1001, .calm, .critical)]
        ),
        (
            "a warning reading restarts the cooldown",
            [(0, .crit, .critical), (1, .calm, .critical), (50, .warn, .critical), (55, .calm, .critical), (100, .calm, .critical), (115, .calm, .warning)]
        ),
        ("an empty sample holds the tier", [(0, .crit, .critical), (100, .empty, .critical), (200, .empty, .critical)]),
        (
            "re-escalation during the cooldown",
            [(0, .crit, .critical), (1, .calm, .critical), (61, .calm, .warning), (62, .crit, .critical)]
        ),
        (
            "warning never steps down while warning persists",
            [(0, .warn, .warning), (100, .warn, .warning), (1000, .warn, .warning)]
        ),
        (
            "severe needs critical signals, not the critical tier",
            [(0, .crit, .critical), (1, .warn, .critical), (30, .warn, .critical)]
        ),
    ]

    @Test(arguments: sequences)
    func tiersFollowTheHysteresis(name: String, steps: [Step]) {
        var world = GovernorWorld()
        for (index, step) in steps.enumerated() {
            world.feed(step.load.sample(at: step.at))
            #expect(world.state.tier == step.tier, "\(name): step \(index) (\(step.load) at \(step.at)s)")
        }
    }

    static let hostSignals: [(GovernorSample, GovernorTier, GovernorSignal)] = [
        (GovernorSample(at: .zero, loadPerCPUHundredths: 99), .normal, .loadPerCPU),
        (GovernorSample(at: .zero, loadPerCPUHundredths: 100), .warning, .loadPerCPU),
        (GovernorSample(at: .zero, loadPerCPUHundredths: 200), .critical, .loadPerCPU),
        (GovernorSample(at: .zero, memoryUsed: Percentage(percent: 69)), .normal, .memoryUsed),
        (GovernorSample(at: .zero, memoryUsed: Percentage(percent: 70)), .warning, .memoryUsed),
        (GovernorSample(at: .zero, memoryUsed: Percentage(hundredths: 8501)), .critical, .memoryUsed),
        (GovernorSample(at: .zero, swapUsedBytes: 499_000_000), .normal, .swapUsed),
        (GovernorSample(at: .zero, swapUsedBytes: 792 << 20), .warning, .swapUsed),
        (GovernorSample(at: .zero, cpuBusy: Percentage(percent: 80)), .warning, .cpuBusy),
        (GovernorSample(at: .zero, cpuBusy: Percentage(percent: 90)), .critical, .cpuBusy),
        (GovernorSample(at: .zero, protectedMemory: PressureReading(someAvg10: Percentage(percent: 10))), .critical, .memoryPressure),
        (GovernorSample(at: .zero, protectedMemory: PressureReading(someAvg10: Percentage(hundredths: 999))), .normal, .memoryPressure),
        (GovernorSample(at: .zero, protectedIO: PressureReading(someAvg10: Percentage(percent: 30))), .critical, .ioPressure),
        (GovernorSample(at: .zero, protectedCPU: PressureReading(someAvg10: Percentage(percent: 10))), .warning, .cpuPressure),
        (
            GovernorSample(at: .zero, firedTriggers: [FiredTrigger(resource: .io, level: .critical)]), .critical, .ioPressure
        ),
    ]

    @Test(arguments: hostSignals)
    func everySignalMeetsItsRunbookThreshold(sample: GovernorSample, tier: GovernorTier, signal: GovernorSignal) {
        let assessment = GovernorAssessment(sample, GovernorThresholds(GovernorSettings()))
        #expect(assessment.level == tier)
        #expect(assessment.readings.map(\.signal) == [signal])
    }

    @Test func configuredThresholdsReplaceTheDefaults() {
        var settings = GovernorSettings()
        settings.loadPerCPUCriticalHundredths = 300
        settings.cooldownSec = .seconds(5)
        var world = GovernorWorld(settings: settings)
        world.feed(GovernorSample(at: instant(0), loadPerCPUHundredths: 250))
        #expect(world.state.tier == .warning)
        world.feed(GovernorSample(at: instant(1), loadPerCPUHundredths: 50))
        world.feed(GovernorSample(at: instant(6), loadPerCPUHundredths: 50))
        #expect(world.state.tier == .normal)
    }

    @Test func nextDeadlineIsTheCooldownSevereOrExpiry() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        #expect(Governor.nextDeadline(world.state, thresholds: world.thresholds) == instant(10))
        world.feed(Load.calm.sample(at: 3))
        #expect(Governor.nextDeadline(world.state, thresholds: world.thresholds) == instant(63))
        world.feed(Load.calm.sample(at: 63))
        #expect(world.state.tier == .warning)
        #expect(Governor.nextDeadline(world.state, thresholds: world.thresholds) == instant(123))
        world.feed(Load.calm.sample(at: 123))
        #expect(Governor.nextDeadline(world.state, thresholds: world.thresholds) == nil)
    }

    /// Reasons to look that come due within 50 ms of the first are served by one look at
    /// the last of them; one further off keeps its own.
    @Test(arguments: [
        ([UInt64](), nil),
        ([250_000], 250_000),
        ([250_000, 260_000], 260_000),
        ([260_000, 250_000, 250_000], 260_000),
        ([250_000, 300_000], 300_000),
        ([250_000, 300_001], 250_000),
        ([250_000, 260_000, 1_000_000], 260_000),
        ([1_000_000, 1_030_000, 1_060_000], 1_030_000),
    ] as [([UInt64], UInt64?)])
    func nearLooksAreTakenTogether(_ instants: [UInt64], _ look: UInt64?) {
        #expect(Governor.nextLook(among: instants.map { MonotonicInstant(usec: $0) }) == look.map { MonotonicInstant(usec: $0) })
    }
}

@Suite struct GovernorActionTests {
    func applied(_ actions: [GovernorAction]) -> [String: [CgroupWrite]] {
        var result: [String: [CgroupWrite]] = [:]
        for case .apply(let target, _, let writes) in actions { result[target, default: []] += writes }
        return result
    }

    func restored(_ actions: [GovernorAction]) -> [String: [CgroupWrite]] {
        var result: [String: [CgroupWrite]] = [:]
        for case .restore(let target, _, let writes) in actions { result[target, default: []] += writes }
        return result
    }

    @Test func criticalThrottlesTheOutermostBatchGroupAndTheSystemdSlices() {
        var world = GovernorWorld()
        let decision = world.feed(Load.crit.sample(at: 0))
        // The critical groups and the slice holding them are raised along the whole path.
        #expect(applied(decision.actions) == [
            "batch.slice": [CgroupWrite("cpu.max", "50000 100000"), CgroupWrite("cpu.weight", "1")],
            "trading.slice": [CgroupWrite("cpu.weight", "10000")],
            "trading-critical.slice": [CgroupWrite("cpu.weight", "10000")],
            "order-executor.service": [CgroupWrite("cpu.weight", "10000")],
        ])
        #expect(decision.actions.contains(.throttleSystemdSlice(name: "system.slice", properties: [sliceQuota(500_000), sliceWeight(1)])))
        #expect(!decision.actions.contains { if case .throttleSystemdSlice("user.slice", _) = $0 { true } else { false } })
        #expect(world.state.changes(of: "batch.slice").map(\.previous) == ["max 100000", "100"])
        #expect(world.state.changes(of: "system.slice").map(\.previous) == ["infinity", "[not set]"])
        let audit = try! #require(decision.audit)
        #expect(audit.from == .normal && audit.to == .critical)
        #expect(audit.readings.first?.signal == .cpuPressure && audit.readings.first?.level == .critical)
        #expect(audit.description.contains("batch.slice cpu.max: 'max 100000' → '50000 100000'"))
    }

    @Test func anInnerBatchGroupWithItsOwnQuotaIsThrottledToo() {
        var targets = GovernorWorld.standardTargets
        targets[4].emergencyCPUQuota = CPUQuota(perSecondUSec: 200_000)
        targets[4].cpuQuotaPeriodUSec = 50_000
        var world = GovernorWorld(targets: targets)
        let decision = world.feed(Load.crit.sample(at: 0))
        #expect(applied(decision.actions)["backtest.service"] == [CgroupWrite("cpu.max", "10000 50000"), CgroupWrite("cpu.weight", "1")])
    }

    @Test func emergencyWeightIdleWritesCPUIdle() {
        var settings = GovernorSettings()
        settings.emergencyCPUWeight = .idle
        settings.emergencyCPUQuota = CPUQuota(perSecondUSec: 1_500_000)
        var world = GovernorWorld(settings: settings)
        let decision = world.feed(Load.crit.sample(at: 0))
        #expect(applied(decision.actions)["batch.slice"] == [CgroupWrite("cpu.max", "150000 100000"), CgroupWrite("cpu.idle", "1")])
    }

    @Test func holdingATierWritesNothingMore() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        let again = world.feed(Load.crit.sample(at: 1))
        #expect(again.actions.isEmpty)
        #expect(again.audit == nil)
    }

    @Test func severeFreezesBatchAndTightensMemoryOnlyUnderMemoryPressure() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        let severe = world.feed(Load.crit.sample(at: 10))
        #expect(world.state.tier == .severe)
        #expect(applied(severe.actions) == ["batch.slice": [CgroupWrite("cgroup.freeze", "1")]])
        var pressed = Load.crit.sample(at: 11)
        pressed.protectedMemory = PressureReading(someAvg10: Percentage(percent: 15))
        let memory = world.feed(pressed)
        // 90 % of memory.current, page-aligned; trading.slice holds a critical group, so not it.
        let batchHigh = (UInt64(1 << 30) / 10 * 9) / 4096 * 4096
        let toolsHigh = (UInt64(512 << 20) / 10 * 9) / 4096 * 4096
        #expect(applied(memory.actions) == [
            "batch.slice": [CgroupWrite("memory.high", String(batchHigh))],
            "tools.slice": [CgroupWrite("memory.high", String(toolsHigh))],
        ])
        #expect(memory.actions.contains(.reclaimMemory(target: "batch.slice", path: "batch.slice", bytes: (1 << 30) - batchHigh)))
        // memory.current shrinks: the limit is kept, not ratcheted down.
        world.targets[3].memoryCurrentBytes = 600 << 20
        #expect(world.feed(pressed.at(12)).actions.isEmpty)
    }

    @Test func stepDownRestoresTheExactPreviousValuesNewestFirst() {
        var world = GovernorWorld()
        world.targets[3].current["cpu.max"] = "max 250000\n"
        world.feed(Load.crit.sample(at: 0))
        world.feed(Load.crit.sample(at: 10))
        #expect(world.state.tier == .severe)
        world.feed(Load.calm.sample(at: 11))
        let toCritical = world.feed(Load.calm.sample(at: 71))
        #expect(world.state.tier == .critical)
        #expect(restored(toCritical.actions) == ["batch.slice": [CgroupWrite("cgroup.freeze", "0")]])
        let toWarning = world.feed(Load.calm.sample(at: 131))
        #expect(world.state.tier == .warning)
        #expect(restored(toWarning.actions) == [
            "batch.slice": [CgroupWrite("cpu.weight", "100"), CgroupWrite("cpu.max", "max 250000")],
            "trading.slice": [CgroupWrite("cpu.weight", "100")],
            "trading-critical.slice": [CgroupWrite("cpu.weight", "100")],
            "order-executor.service": [CgroupWrite("cpu.weight", "100")],
        ])
        #expect(toWarning.actions.contains(.restoreSystemdSlice(name: "system.slice", properties: [sliceWeight(nil), sliceQuota(nil)])))
        #expect(world.state.changes.isEmpty)
        #expect(world.target("batch.slice").current["cpu.max"] == "max 250000\n")
        let audit = try! #require(toWarning.audit)
        // Newest first: the raised weights, then the slice, then the batch group's weight and quota.
        #expect(audit.description.contains("restored: order-executor.service cpu.weight = '100', trading-critical.slice cpu.weight = '100', trading.slice cpu.weight = '100', system.slice CPUWeight = '[not set]', system.slice CPUQuotaPerSecUSec = 'infinity', batch.slice cpu.weight = '100', batch.slice cpu.max = 'max 250000'"))
    }

    @Test func aValueChangedByAnOperatorIsReportedNotOverwritten() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        world.targets[3].current["cpu.max"] = "20000 100000\n"  // systemctl set-property, by hand
        world.targets[6].current["CPUQuotaPerSecUSec"] = "300000"
        world.feed(Load.calm.sample(at: 1))
        let down = world.feed(Load.calm.sample(at: 61))
        #expect(restored(down.actions)["batch.slice"] == [CgroupWrite("cpu.weight", "100")])
        // The slice's weight, which nobody touched, is restored; its quota is the operator's.
        #expect(down.actions.contains(.restoreSystemdSlice(name: "system.slice", properties: [sliceWeight(nil)])))
        #expect(down.conflicts.map(\.change.file).sorted() == ["CPUQuotaPerSecUSec", "cpu.max"])
        #expect(down.conflicts.first { $0.change.file == "cpu.max" }?.description
            == "batch.slice cpu.max is '20000 100000', not the '50000 100000' the governor wrote: left as it is (the governor would have restored 'max 100000')")
        #expect(world.target("batch.slice").current["cpu.max"] == "20000 100000\n")
        #expect(world.state.changes.isEmpty)
        #expect(down.actions.contains { if case .alert = $0 { true } else { false } })
    }

    static let restoreCases: [(String?, GovernorRestoreOutcome)] = {
        let change = GovernorChange(target: "b", kind: .group, path: "b", file: "cpu.max", written: "50000 100000", previous: "max 100000")
        return [
            ("50000 100000\n", .restore(change)),
            ("max 100000\n", .alreadyInPlace(change)),
            ("60000 100000\n", .conflict(GovernorConflict(change: change, found: "60000 100000"))),
            (nil, .gone(change)),
        ]
    }()

    @Test(arguments: restoreCases)
    func restoreComparesFoundWithWritten(found: String?, outcome: GovernorRestoreOutcome) {
        let change = GovernorChange(target: "b", kind: .group, path: "b", file: "cpu.max", written: "50000 100000", previous: "max 100000")
        #expect(GovernorRestore.plan(change, found: found) == outcome)
    }

    @Test func aGroupThatVanishedIsDroppedWithoutAWrite() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        world.targets.removeAll { $0.path.hasPrefix("batch.slice") }
        // The whole batch subtree is gone: its records go at once, with no write.
        let down = world.feed(Load.crit.sample(at: 1))
        #expect(restored(down.actions).isEmpty)
        #expect(down.audit?.dropped == ["batch.slice cpu.weight is gone (group removed)", "batch.slice cpu.max is gone (group removed)"])
        #expect(world.state.changes.map(\.target) == ["system.slice", "system.slice", "trading.slice", "trading-critical.slice", "order-executor.service"])
    }

    @Test func aValueThatWasNotReadIsLeftAloneAndSaidSo() {
        var targets = GovernorWorld.standardTargets
        targets[3].current["cpu.weight"] = nil
        var world = GovernorWorld(targets: targets)
        let decision = world.feed(Load.crit.sample(at: 0))
        #expect(applied(decision.actions)["batch.slice"] == [CgroupWrite("cpu.max", "50000 100000")])
        #expect(decision.audit?.skipped.first?.hasPrefix("batch.slice cpu.weight") == true)
    }

    @Test func aNewBatchGroupIsThrottledWhileTheTierHolds() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        world.targets.append(
            GovernorTarget(name: "late.slice", path: "late.slice", priority: .batch, current: GovernorWorld.fresh))
        let decision = world.feed(Load.crit.sample(at: 1))
        #expect(applied(decision.actions).keys.sorted() == ["late.slice"])
        #expect(decision.audit?.tierChanged == false)
    }

    @Test func forgetLetsARecreatedGroupBeThrottledAfresh() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        world.targets[3].current = GovernorWorld.fresh  // the group was recreated
        world.state.forget(target: "batch.slice")
        let decision = world.feed(Load.crit.sample(at: 1))
        #expect(applied(decision.actions)["batch.slice"]?.count == 2)
        #expect(world.state.changes(of: "batch.slice").map(\.previous) == ["max 100000", "100"])
    }

    @Test func alertsRespectTheRuleCooldown() {
        var settings = GovernorSettings()
        settings.cooldownSec = .seconds(1)
        var world = GovernorWorld(settings: settings)
        world.feed(Load.crit.sample(at: 0))
        world.feed(Load.calm.sample(at: 1))
        world.feed(Load.calm.sample(at: 2))  // warning
        world.feed(Load.crit.sample(at: 3))  // critical again, within 300 s
        world.feed(Load.calm.sample(at: 4))
        world.feed(Load.calm.sample(at: 5))
        world.feed(Load.crit.sample(at: 400))  // past the cooldown
        #expect(world.alerts.map(\.rule) == ["tier-critical", "tier-warning", "tier-critical"])
        #expect(world.alerts.map(\.at) == [instant(0), instant(2), instant(400)])
        #expect(world.alerts[0].readings.map(\.signal) == [.cpuPressure])
        #expect(world.alerts[0].text.hasPrefix("Warden governor normal → critical (signals)"))
        #expect(world.log.filter(\.tierChanged).count == 5)
    }

    /// Random configurations and sequences: nothing critical, or holding something
    /// critical, is ever written to; everything written is restored when calm returns.
    @Test(arguments: 0..<200)
    func criticalIsNeverThrottledAndAllIsRestored(seed: Int) {
        var rng = SplitMix(seed: UInt64(seed))
        let names = ["a.slice", "a-b.slice", "a-b-c.slice", "d.slice", "d-e.slice"]
        var targets: [GovernorTarget] = []
        for name in names {
            let path = SliceConfig.parent(of: name).map { parent in
                parent == "-.slice" ? name : targets.first { $0.name == parent }!.path + "/" + name
            } ?? name
            let priority = [Priority.critical, .normal, .batch][Int(rng.next() % 3)]
            targets.append(GovernorTarget(name: name, path: path, priority: priority, current: GovernorWorld.fresh, memoryCurrentBytes: 100 << 20))
            let service = String(name.dropLast(6)) + "-x.service"
            targets.append(
                GovernorTarget(
                    name: service, path: path + "/" + service, priority: [Priority.critical, .normal, .batch][Int(rng.next() % 3)],
                    emergencyCPUQuota: rng.next() % 2 == 0 ? CPUQuota(perSecondUSec: 300_000) : nil,
                    current: GovernorWorld.fresh, memoryCurrentBytes: 50 << 20))
        }
        let original = targets
        var world = GovernorWorld(targets: targets)
        var time: UInt64 = 0
        for _ in 0..<40 {
            time += rng.next() % 20
            var sample = [Load.calm, .warn, .crit, .fired][Int(rng.next() % 4)].sample(at: time)
            if rng.next() % 3 == 0 { sample.memoryUsed = Percentage(percent: 90) }
            let decision = world.feed(sample)
            for action in decision.actions {
                guard case .apply(let name, _, let writes) = action else { continue }
                let target = world.target(name)
                let holdsCritical = target.priority == .critical
                    || world.targets.contains { $0.priority == .critical && target.contains($0) }
                // A critical group, or one holding one, only ever gets its weight raised.
                if holdsCritical {
                    #expect(writes == [CgroupWrite("cpu.weight", "10000")], "seed \(seed): throttled \(name), which is or holds a critical group")
                } else {
                    #expect(!writes.contains { $0 == CgroupWrite("cpu.weight", "10000") }, "seed \(seed): raised \(name), which holds nothing critical")
                }
            }
        }
        for step in 1...8 { world.feed(Load.calm.sample(at: time + UInt64(step) * 61)) }
        #expect(world.state.tier == .normal)
        #expect(world.state.changes.isEmpty)
        #expect(world.targets.map(\.current) == original.map(\.current), "seed \(seed)")
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension GovernorSample {
    func at(_ s: UInt64) -> GovernorSample {
        var copy = self
        copy.at = instant(s)
        return copy
    }
}


@Suite struct GovernorTightenOnlyTests {
    static let cases: [(String, String, String, Bool)] = [
        ("cpu.max", "50000 100000", "max 100000", true),
        ("cpu.max", "50000 100000", "20000 100000", false),
        ("cpu.max", "50000 100000", "10000 20000", false),  // 50 % per second both
        ("cpu.max", "50000 100000", "200000 100000", true),
        ("cpu.max", "50000 100000", "garbage", true),
        ("cpu.weight", "1", "100", true),
        ("cpu.weight", "1", "1", false),
        ("cpu.idle", "1", "0", true),
        ("cpu.idle", "1", "1", false),
        ("cgroup.freeze", "1", "0\n", true),
        ("memory.high", "966367232", "max", true),
        ("memory.high", "966367232", "536870912", false),
        ("CPUQuotaPerSecUSec", "500000", "infinity", true),
        ("CPUQuotaPerSecUSec", "500000", "300000", false),
    ]

    @Test(arguments: cases)
    func tighterMeansAllowsLess(file: String, value: String, baseline: String, tighter: Bool) {
        #expect(GovernorValues.isTighter(file: file, value, than: baseline) == tighter)
    }

    @Test func aGroupAlreadyHeldTighterKeepsItsOwnQuota() {
        var world = GovernorWorld()
        world.targets[3].current["cpu.max"] = "20000 100000\n"  // CPUQuota=20% in its unit
        world.targets[6].current["CPUQuotaPerSecUSec"] = "100000"
        let decision = world.feed(Load.crit.sample(at: 0))
        #expect(decision.actions.contains(.apply(target: "batch.slice", path: "batch.slice", writes: [CgroupWrite("cpu.weight", "1")])))
        #expect(decision.actions.contains(.throttleSystemdSlice(name: "system.slice", properties: [sliceWeight(1)])))
        #expect(world.state.changes(of: "batch.slice").map(\.file) == ["cpu.weight"])
    }

    @Test func aLooserSecondRequestRestoresInsteadOfLoosening() throws {
        var world = GovernorWorld()
        world.targets[5].current["cpu.max"] = "30000 100000\n"
        let first = try Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(cpuQuota: CPUQuota(perSecondUSec: 100_000), targets: ["tools.slice"]),
            at: .zero, targets: world.targets, thresholds: world.thresholds
        ).get()
        world.state = first.state
        world.carryOut(first.actions)
        #expect(world.target("tools.slice").current["cpu.max"] == "10000 100000\n")
        let second = try Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(cpuQuota: CPUQuota(perSecondUSec: 800_000), targets: ["tools.slice"]),
            at: instant(1), targets: world.targets, thresholds: world.thresholds
        ).get()
        world.carryOut(second.actions)
        #expect(world.target("tools.slice").current["cpu.max"] == "30000 100000\n")
        #expect(second.state.changes.map(\.file) == ["cpu.weight"])
    }

    @Test func anUnreadablePreviousSliceQuotaIsNotGuessed() {
        var world = GovernorWorld()
        world.state.tier = .critical
        world.state.changes = [
            GovernorChange(target: "system.slice", kind: .systemdSlice, path: "system.slice", file: "CPUQuotaPerSecUSec", written: "500000", previous: "lots")
        ]
        world.targets[6].current["CPUQuotaPerSecUSec"] = "500000"
        let down = Governor.standDown(state: world.state, at: instant(1), targets: world.targets, thresholds: world.thresholds, cause: "test")
        #expect(!down.actions.contains { if case .restoreSystemdSlice = $0 { true } else { false } })
        #expect(down.audit?.dropped.first?.contains("'lots' is not one systemd takes for it") == true)
        #expect(down.audit?.restored.isEmpty == true)
    }
}

/// The critical tier raises the `cpu.weight` of critical groups and of the slices holding
/// them (`CriticalCPUWeight=`), only where that gives more, and restores it exactly.
@Suite struct GovernorCriticalWeightTests {
    func raised(_ actions: [GovernorAction]) -> [String: String] {
        var result: [String: String] = [:]
        for case .apply(let target, _, let writes) in actions {
            for write in writes where write.file == "cpu.weight" && write.value != "1" { result[target] = write.value }
        }
        return result
    }

    static let baselines: [(String, [String: String], [String: String])] = [
        ("every group at the default 100", [:], ["trading.slice": "500", "trading-critical.slice": "500", "order-executor.service": "500"]),
        ("one already above the setting keeps its own", ["trading-critical.slice": "5000\n"], ["trading.slice": "500", "order-executor.service": "500"]),
        ("one at the setting is not written", ["order-executor.service": "500\n"], ["trading.slice": "500", "trading-critical.slice": "500"]),
    ]

    @Test(arguments: baselines)
    func onlyRaisedWhereItGivesMore(name: String, weights: [String: String], expected: [String: String]) {
        var settings = GovernorSettings()
        settings.criticalCPUWeight = 500
        var world = GovernorWorld(settings: settings)
        for (target, weight) in weights { world.targets[world.targets.firstIndex { $0.name == target }!].current["cpu.weight"] = weight }
        let decision = world.feed(Load.crit.sample(at: 0))
        #expect(raised(decision.actions) == expected, "\(name)")
        // Nothing normal and holding nothing critical is raised: tools.slice stays as it was.
        #expect(world.target("tools.slice").current["cpu.weight"] == "100\n")
    }

    @Test func warningRaisesNothing() {
        var world = GovernorWorld()
        let decision = world.feed(Load.warn.sample(at: 0))
        #expect(decision.actions.allSatisfy { if case .apply = $0 { false } else { true } })
    }

    @Test func restoredExactlyAndAnOperatorsChangeIsKept() {
        var world = GovernorWorld()
        world.targets[1].current["cpu.weight"] = "250\n"  // CPUWeight=250 in trading-critical.slice
        world.feed(Load.crit.sample(at: 0))
        #expect(world.target("trading-critical.slice").current["cpu.weight"] == "10000\n")
        #expect(world.state.changes(of: "trading-critical.slice").map(\.previous) == ["250"])
        world.targets[0].current["cpu.weight"] = "800\n"  // an operator's systemctl set-property, meanwhile
        world.feed(Load.calm.sample(at: 1))
        let down = world.feed(Load.calm.sample(at: 61))
        #expect(world.target("trading-critical.slice").current["cpu.weight"] == "250\n")
        #expect(world.target("order-executor.service").current["cpu.weight"] == "100\n")
        #expect(world.target("trading.slice").current["cpu.weight"] == "800\n")
        #expect(down.conflicts.map(\.change.target) == ["trading.slice"])
        #expect(world.state.changes.isEmpty)
    }

    @Test func manualWithoutTargetsRaisesWithTargetsDoesNot() throws {
        let world = GovernorWorld()
        let all = try Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(), at: .zero, targets: world.targets, thresholds: world.thresholds
        ).get()
        #expect(raised(all.actions).keys.sorted() == ["order-executor.service", "trading-critical.slice", "trading.slice"])
        let named = try Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(targets: ["batch.slice"]), at: .zero, targets: world.targets,
            thresholds: world.thresholds
        ).get()
        #expect(raised(named.actions).isEmpty)
        #expect(named.state.changes.map(\.target).allSatisfy { $0 == "batch.slice" })
    }
}
