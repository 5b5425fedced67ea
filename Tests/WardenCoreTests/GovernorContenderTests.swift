import Testing
@testable import WardenCore

/// An overload needs a contender: CPU signals raise the tier only when the throttle
/// targets used at least a tenth of a CPU over the sample's window.
@Suite struct GovernorContenderTests {
    /// What the throttle targets used, as the sampler reports it.
    enum Usage: CustomStringConvertible {
        case unread, measuring, idle, held, busy

        var value: TargetsCPUUsage? {
            switch self {
            case .unread: nil
            case .measuring: .measuring
            case .idle: .measured(Percentage(hundredths: 20))  // 0.2 % of a CPU
            case .held: .measured(Percentage(percent: 50))  // a hog at the emergency quota
            case .busy: .measured(Percentage(percent: 180))
            }
        }

        var description: String { "\(self.value.map(\.description) ?? "unread")" }
    }

    static func sample(_ load: Load, at s: UInt64, _ usage: Usage) -> GovernorSample {
        var sample = load.sample(at: s)
        sample.targetsCPUUsage = usage.value
        return sample
    }

    typealias Step = (at: UInt64, load: Load, usage: Usage, tier: GovernorTier)

    static let sequences: [(String, [Step])] = [
        ("critical pressure with a contender", [(0, .crit, .busy, .critical)]),
        ("critical pressure with nothing to throttle", [(0, .crit, .idle, .normal), (1, .crit, .idle, .normal)]),
        ("warning pressure with nothing to throttle", [(0, .warn, .idle, .normal)]),
        ("usage not read escalates as it always did", [(0, .crit, .unread, .critical)]),
        ("a fired trigger with nothing to throttle", [(0, .fired, .idle, .normal)]),
        ("a fired trigger with a contender", [(0, .fired, .busy, .critical)]),
        ("usage being measured holds until it is known", [(0, .crit, .measuring, .normal), (1, .crit, .busy, .critical)]),
        ("a contender arriving later", [(0, .crit, .idle, .normal), (30, .crit, .idle, .normal), (31, .crit, .busy, .critical)]),
        (
            "no early stand-down while throttled: the throttle holds the hog at its quota",
            [(0, .crit, .busy, .critical), (1, .crit, .held, .critical), (30, .warn, .held, .critical), (61, .warn, .held, .critical)]
        ),
        (
            "stand-down when the throttled targets went idle, under the group's own stall",
            [(0, .crit, .busy, .critical), (1, .crit, .idle, .critical), (61, .crit, .idle, .warning), (121, .crit, .idle, .normal)]
        ),
        (
            "severe on critical signals while a hog is held at its quota",
            [(0, .crit, .busy, .critical), (5, .crit, .held, .critical), (10, .crit, .held, .severe)]
        ),
        (
            "no severe when the throttled targets went idle",
            [(0, .crit, .busy, .critical), (5, .crit, .idle, .critical), (10, .crit, .idle, .critical)]
        ),
        (
            "stand-down keeps the cooldown of calm",
            [(0, .crit, .busy, .critical), (1, .calm, .idle, .critical), (61, .calm, .idle, .warning)]
        ),
        (
            "warning held without a contender, critical needs one",
            [(0, .warn, .busy, .warning), (1, .crit, .idle, .warning), (2, .crit, .busy, .critical)]
        ),
        (
            "uncontended critical time does not count towards severe",
            [(0, .crit, .idle, .normal), (20, .crit, .busy, .critical), (21, .crit, .busy, .critical), (30, .crit, .busy, .severe)]
        ),
    ]

    @Test(arguments: sequences)
    func tiersRiseOnlyWithAContender(name: String, steps: [Step]) {
        var world = GovernorWorld()
        for (index, step) in steps.enumerated() {
            world.feed(Self.sample(step.load, at: step.at, step.usage))
            #expect(world.state.tier == step.tier, "\(name): step \(index) (\(step.load), targets \(step.usage) at \(step.at)s)")
        }
    }

    static let signals: [(String, GovernorSample, GovernorTier)] = [
        ("load per CPU", GovernorSample(at: .zero, loadPerCPUHundredths: 250), .normal),
        ("CPU use", GovernorSample(at: .zero, cpuBusy: Percentage(hundredths: 9066)), .normal),
        ("memory use is judged on its own", GovernorSample(at: .zero, memoryUsed: Percentage(percent: 90)), .critical),
        (
            "memory pressure is judged on its own",
            GovernorSample(at: .zero, protectedMemory: PressureReading(someAvg10: Percentage(percent: 20))), .critical
        ),
        ("swap is judged on its own", GovernorSample(at: .zero, swapUsedBytes: 600_000_000), .warning),
    ]

    @Test(arguments: signals)
    func cpuSignalsNeedAContenderOthersDoNot(name: String, sample: GovernorSample, tier: GovernorTier) {
        var idle = sample
        idle.targetsCPUUsage = Usage.idle.value
        var world = GovernorWorld()
        world.feed(idle)
        #expect(world.state.tier == tier, "\(name)")
        var unread = GovernorWorld()
        unread.feed(sample)
        #expect(unread.state.tier > .normal, "\(name): without the usage it escalates as before")
    }

    @Test func theThresholdIsATenthOfACPU() {
        let t = GovernorThresholds(GovernorSettings())
        #expect(t.contenderCPUShare == Percentage(percent: 10))
        for (used, tier) in [(999, GovernorTier.normal), (1000, .critical)] {
            var world = GovernorWorld()
            world.feed(GovernorSample(at: .zero, cpuBusy: Percentage(percent: 95), targetsCPUUsage: .measured(Percentage(hundredths: used))))
            #expect(world.state.tier == tier, "\(used) hundredths of a percent")
        }
    }

    /// A tier is held while the targets use half the smallest emergency quota, at most the
    /// contender share: a tenth of a CPU with the default quotas (50 %), less with a quota
    /// under 20 %, so a hog held at a low quota still holds the tier.
    @Test(arguments: [(UInt64(500_000), 1000), (200_000, 1000), (60_000, 300), (1_000_000, 1000), (10_000, 50)])
    func theHoldingShareIsHalfTheSmallestQuota(quota: UInt64, hundredths: Int) {
        var settings = GovernorSettings()
        settings.emergencyCPUQuota = CPUQuota(perSecondUSec: quota)
        #expect(GovernorThresholds(settings).holdingCPUShare == Percentage(hundredths: hundredths))
    }

    /// Nothing is written, and the decision says why, in words an operator reads.
    @Test func holdingTheTierSaysWhy() {
        var world = GovernorWorld()
        let decision = world.feed(Self.sample(.crit, at: 0, .idle))
        #expect(decision.actions.isEmpty)
        #expect(decision.audit == nil)
        #expect(
            decision.uncontended
                == "cpu-pressure 31.5% avg10 (critical at 25%), but the throttle targets used 0.2% of a CPU (a contender uses 10%): nothing to throttle; tier normal kept")
        // With a contender, or with usage unknown, nothing is held back and nothing said.
        var busy = GovernorWorld()
        #expect(busy.feed(Self.sample(.crit, at: 0, .busy)).uncontended == nil)
        var measuring = GovernorWorld()
        #expect(measuring.feed(Self.sample(.crit, at: 0, .measuring)).uncontended == nil)
        // Held at warning: the critical reading is the one held back.
        var warning = GovernorWorld()
        warning.feed(Self.sample(.warn, at: 0, .busy))
        #expect(warning.feed(Self.sample(.crit, at: 1, .idle)).uncontended?.hasSuffix("; tier warning kept") == true)
        #expect(warning.feed(Self.sample(.warn, at: 2, .idle)).uncontended == nil)
    }

    /// The record of an escalation names the signals that counted for it first.
    @Test func theCausesAreTheContendedSignals() {
        var world = GovernorWorld()
        var sample = GovernorSample(
            at: .zero, protectedCPU: PressureReading(someAvg10: Percentage(percent: 40)), memoryUsed: Percentage(percent: 90),
            targetsCPUUsage: Usage.idle.value)
        let decision = world.feed(sample)
        #expect(world.state.tier == .critical)
        #expect(decision.audit?.readings.first?.signal == .memoryUsed)
        sample.targetsCPUUsage = nil
        #expect(GovernorAssessment(sample, world.thresholds).causes.map(\.signal) == [.cpuPressure, .memoryUsed])
    }

    /// The groups measured are those the critical tier throttles, each once: the batch slice
    /// (its backtest inside it is covered) and the systemd slices that are not critical.
    @Test func theThrottleTargetsAreWhatTheCriticalTierThrottles() {
        let names = Governor.throttleTargets(GovernorWorld.standardTargets).map(\.name)
        #expect(names == ["batch.slice", "system.slice"])
    }
}
