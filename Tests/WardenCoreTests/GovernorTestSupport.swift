@testable import WardenCore

/// A fake host for the governor: targets whose `current` values change as the runtime
/// would change them by carrying out the actions.
struct GovernorWorld {
    var targets: [GovernorTarget]
    var state: GovernorState
    var thresholds: GovernorThresholds
    var log: [GovernorAuditRecord] = []
    var alerts: [GovernorAlert] = []

    init(targets: [GovernorTarget] = GovernorWorld.standardTargets, settings: GovernorSettings = GovernorSettings()) {
        self.targets = targets
        self.state = .initial(at: .zero)
        self.thresholds = GovernorThresholds(settings)
    }

    /// Critical executor in trading-critical.slice, a batch slice with a backtest inside, a
    /// normal tools slice, and systemd's two slices (user.slice holding a critical unit).
    static let standardTargets: [GovernorTarget] = [
        GovernorTarget(name: "trading.slice", path: "trading.slice", priority: .normal, current: fresh, memoryCurrentBytes: 900 << 20),
        GovernorTarget(
            name: "trading-critical.slice", path: "trading.slice/trading-critical.slice", priority: .critical, current: fresh),
        GovernorTarget(
            name: "order-executor.service", path: "trading.slice/trading-critical.slice/order-executor.service",
            priority: .critical, current: fresh, memoryCurrentBytes: 800 << 20),
        GovernorTarget(name: "batch.slice", path: "batch.slice", priority: .batch, current: fresh, memoryCurrentBytes: 1 << 30),
        GovernorTarget(
            name: "backtest.service", path: "batch.slice/backtest.service", priority: .batch, current: fresh,
            memoryCurrentBytes: 1 << 30),
        GovernorTarget(name: "tools.slice", path: "tools.slice", priority: .normal, current: fresh, memoryCurrentBytes: 512 << 20),
        GovernorTarget(name: "system.slice", kind: .systemdSlice, path: "system.slice", priority: .normal, current: freshSlice),
        GovernorTarget(name: "user.slice", kind: .systemdSlice, path: "user.slice", priority: .critical, current: freshSlice),
    ]

    /// A systemd slice as systemd has it with neither `CPUQuota=` nor `CPUWeight=` set.
    static let freshSlice = ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": "[not set]"]

    static let fresh = ["cpu.max": "max 100000\n", "cpu.weight": "100\n", "cpu.idle": "0\n", "cgroup.freeze": "0\n", "memory.high": "max\n"]

    func target(_ name: String) -> GovernorTarget { targets.first { $0.name == name }! }

    /// Carries out the actions as the cgroupfs manager and the D-Bus client would.
    mutating func carryOut(_ actions: [GovernorAction]) {
        for action in actions {
            switch action {
            case .apply(let name, _, let writes), .restore(let name, _, let writes):
                let i = targets.firstIndex { $0.name == name && $0.kind == .group }!
                for write in writes { targets[i].current[write.file] = write.value + "\n" }
            case .reclaimMemory: break
            case .throttleSystemdSlice(let name, let properties), .restoreSystemdSlice(let name, let properties):
                // As systemd reads the properties back (`systemctl show` spelling the unset).
                let i = targets.firstIndex { $0.name == name && $0.kind == .systemdSlice }!
                for property in properties { targets[i].current[property.name] = GovernorSliceProperty.text(of: property)! }
            case .alert(let alert): alerts.append(alert)
            }
        }
    }

    @discardableResult
    mutating func feed(_ sample: GovernorSample) -> GovernorDecision {
        let decision = Governor.decide(state: state, sample: sample, targets: targets, thresholds: thresholds)
        state = decision.state
        if let audit = decision.audit { log.append(audit) }
        carryOut(decision.actions)
        return decision
    }
}

func instant(_ s: UInt64) -> MonotonicInstant { MonotonicInstant(usec: s * 1_000_000) }

/// A slice's `CPUQuotaPerSecUSec` and `CPUWeight` as the governor's slice actions carry
/// them; nil is systemd's unset (`UINT64_MAX`).
func sliceQuota(_ perSecondUSec: UInt64?) -> SystemdProperty { SystemdProperty("CPUQuotaPerSecUSec", .uint64(perSecondUSec ?? .max)) }
func sliceWeight(_ weight: UInt64?) -> SystemdProperty { SystemdProperty("CPUWeight", .uint64(weight ?? .max)) }

/// Protected CPU pressure at one level (avg10), with the defaults 10 % / 25 %.
enum Load: CustomStringConvertible {
    case calm, warn, crit, empty, fired

    func sample(at s: UInt64) -> GovernorSample {
        switch self {
        case .calm: GovernorSample(at: instant(s), protectedCPU: PressureReading(someAvg10: Percentage(hundredths: 150)))
        case .warn: GovernorSample(at: instant(s), protectedCPU: PressureReading(someAvg10: Percentage(hundredths: 1200)))
        case .crit: GovernorSample(at: instant(s), protectedCPU: PressureReading(someAvg10: Percentage(hundredths: 3150)))
        case .empty: GovernorSample(at: instant(s))
        case .fired:
            GovernorSample(
                at: instant(s), firedTriggers: [FiredTrigger(resource: .cpu, level: .critical)],
                protectedCPU: PressureReading(someAvg10: Percentage(hundredths: 200)))
        }
    }

    var description: String {
        switch self {
        case .calm: "calm"
        case .warn: "warn"
        case .crit: "crit"
        case .empty: "empty"
        case .fired: "fired"
        }
    }
}
