@testable import WardenCore

// A model of everything that happens around the governor, for the exact-restore property
// (GovernorRestoreInvariantTests): a simulated kernel (a dictionary of file values per
// group), the configuration's values, the operator's writes, component restarts, reloads
// and Warden's own SIGKILL with a resume from the encoded state file. The governor's
// decisions are the real core functions; the model only carries out their actions.

/// One thing that happens to the governed host.
enum GovernorStep: Hashable, Sendable, CustomStringConvertible {
    /// A sample of the protected group's CPU pressure, `after` seconds after the last step.
    case signals(GovernorModelLoad, after: UInt64)
    /// `warden emergency on`.
    case manualOn(quotaPercent: UInt64?, targets: [String], freezeBatch: Bool, forSeconds: UInt64?)
    /// `warden emergency off`.
    case manualOff
    /// A component restarts: its group is removed and created again with the configured values.
    case restart(String)
    /// A component stops (its group is removed) or starts (its group is created).
    case stop(String)
    case start(String)
    /// Warden is SIGKILLed and started again; it resumes from the state file. With
    /// `groupsRecreated` its components died with it (systemd killed the control group)
    /// and the new Warden creates every group again.
    case daemonKilled(groupsRecreated: Bool)
    /// A reload changes the unit's own `CPUQuota=` (`cpu.max`).
    case reload(String, cpuMax: String)
    /// An operator writes a value of their own.
    case operatorWrites(String, kind: GovernorTarget.Kind, file: String, value: String)

    var description: String {
        switch self {
        case .signals(let load, let after): "+\(after)s \(load) signals"
        case .manualOn(let quota, let targets, let freeze, let seconds):
            "emergency on"
                + (quota.map { " --cpu-quota \($0)%" } ?? "")
                + targets.map { " --target \($0)" }.joined()
                + (freeze ? " --freeze batch" : "")
                + (seconds.map { " --for \($0)s" } ?? "")
        case .manualOff: "emergency off"
        case .restart(let name): "\(name) restarts"
        case .stop(let name): "\(name) stops"
        case .start(let name): "\(name) starts"
        case .daemonKilled(let recreated):
            "Warden SIGKILLed and resumed from the state file" + (recreated ? " (every group created again)" : "")
        case .reload(let name, let cpuMax): "reload: \(name) cpu.max configured '\(cpuMax)'"
        case .operatorWrites(let name, let kind, let file, let value):
            "operator writes \(kind == .systemdSlice ? "systemd's " : "")\(name) \(file) = '\(value)'"
        }
    }

    // MARK: From small integers (what the generator makes and the shrinker shrinks)

    /// A step from four small numbers: `kind` picks the operation (0 is the plainest: a calm
    /// sample), the others its parameters; shrinking towards 0 makes a step plainer.
    init(kind: Int, a: Int, b: Int, c: Int) {
        let m = GovernorRestoreWorld.self
        switch kind {
        case 0..<25:
            let load: GovernorModelLoad = a < 3 ? .calm : a == 3 ? .warn : .crit
            self = .signals(load, after: [1, 5, 10, 21, 31, 61][b % 6])
        case 25..<35:
            let quota: UInt64? = [nil, 10, 30, 60, 90][a % 5]
            let names = m.manualNames.enumerated().filter { b & (1 << $0.offset) != 0 }.map(\.element)
            self = .manualOn(quotaPercent: quota, targets: names, freezeBatch: c & 1 == 1, forSeconds: [nil, 10, 60][(c / 2) % 3])
        case 35..<42: self = .manualOff
        case 42..<52: self = .restart(m.components[a % m.components.count])
        case 52..<57: self = .stop(m.components[a % m.components.count])
        case 57..<62: self = .start(m.components[a % m.components.count])
        case 62..<72: self = .daemonKilled(groupsRecreated: a & 1 == 1)
        case 72..<82:
            let groups = m.groups.filter { $0.kind == .group }
            self = .reload(groups[a % groups.count].name, cpuMax: m.reloadedCPUMax[b % m.reloadedCPUMax.count])
        default:
            let target = m.groups[a % m.groups.count]
            if target.kind == .systemdSlice, c & 1 == 0 {
                self = .operatorWrites(
                    target.name, kind: .systemdSlice, file: "CPUQuotaPerSecUSec",
                    value: m.operatorSliceQuotas[b % m.operatorSliceQuotas.count])
            } else if target.kind == .systemdSlice {
                self = .operatorWrites(
                    target.name, kind: .systemdSlice, file: "CPUWeight", value: m.operatorSliceWeights[b % m.operatorSliceWeights.count])
            } else if c & 1 == 0 {
                self = .operatorWrites(target.name, kind: .group, file: "cpu.max", value: m.operatorCPUMax[b % m.operatorCPUMax.count])
            } else {
                self = .operatorWrites(target.name, kind: .group, file: "cpu.weight", value: m.operatorWeights[b % m.operatorWeights.count])
            }
        }
    }
}

/// The protected group's CPU pressure in a sample.
enum GovernorModelLoad: Hashable, Sendable, CustomStringConvertible {
    case calm, warn, crit

    var reading: PressureReading {
        switch self {
        case .calm: PressureReading(someAvg10: Percentage(hundredths: 150))
        case .warn: PressureReading(someAvg10: Percentage(hundredths: 1200))
        case .crit: PressureReading(someAvg10: Percentage(hundredths: 3150))
        }
    }

    var description: String {
        switch self {
        case .calm: "calm"
        case .warn: "warning"
        case .crit: "critical"
        }
    }
}

/// A sequence of steps, printed one per line when the property fails.
struct GovernorScript: Sendable, CustomStringConvertible {
    var steps: [GovernorStep]
    var description: String {
        "\n" + steps.enumerated().map { "  \($0.offset + 1). \($0.element)" }.joined(separator: "\n")
    }
}

/// The host: groups with their configured values, the simulated kernel's files, the
/// operator's writes, and the governor's state and state file.
struct GovernorRestoreWorld {
    struct Group {
        var name: String
        var kind: GovernorTarget.Kind = .group
        var path: String
        var priority: Priority
        var emergencyCPUQuota: CPUQuota? = nil
        var isComponent = false
        /// The unit's own `CPUQuota=` as `cpu.max`, and its `CPUWeight=`.
        var cpuMax = "max 100000"
        var cpuWeight = "100"
    }

    /// A critical slice and component, a batch slice with a component of its own quota and
    /// one it covers, Warden's system.slice with a batch component of its own
    /// `CPUQuota=50%` (a component without `Slice=`), a normal slice with a normal
    /// component, and systemd's system.slice of `ThrottleSlices=`.
    static let groups: [Group] = [
        Group(name: "critical.slice", path: "critical.slice", priority: .critical),
        Group(name: "executor.service", path: "critical.slice/executor.service", priority: .critical, isComponent: true, cpuWeight: "500"),
        Group(name: "batch.slice", path: "batch.slice", priority: .batch),
        Group(
            name: "backtest.service", path: "batch.slice/backtest.service", priority: .batch,
            emergencyCPUQuota: CPUQuota(perSecondUSec: 100_000), isComponent: true),
        Group(name: "report.service", path: "batch.slice/report.service", priority: .batch, isComponent: true, cpuMax: "80000 100000"),
        Group(name: "system.slice", path: "system.slice", priority: .normal),
        Group(name: "batch.service", path: "system.slice/batch.service", priority: .batch, isComponent: true, cpuMax: "50000 100000"),
        Group(name: "tools.slice", path: "tools.slice", priority: .normal, cpuWeight: "200"),
        Group(name: "feed.service", path: "tools.slice/feed.service", priority: .normal, isComponent: true),
        Group(name: "system.slice", kind: .systemdSlice, path: "system.slice", priority: .normal),
    ]
    static let components = groups.filter(\.isComponent).map(\.name)
    static let manualNames = ["batch.slice", "backtest.service", "batch.service", "system.slice", "tools.slice", "feed.service"]
    static let reloadedCPUMax = ["max 100000", "50000 100000", "20000 100000", "5000 100000", "80000 100000"]
    static let operatorCPUMax = ["max 100000", "30000 100000", "70000 100000", "20000 100000"]
    static let operatorWeights = ["1", "50", "100", "500", "10000"]
    static let operatorSliceQuotas = ["infinity", "300000", "700000"]
    static let operatorSliceWeights = ["[not set]", "1", "50", "100", "0"]
    /// The files the model checks (and the governor may write).
    static let files = ["cpu.max", "cpu.weight", "cgroup.freeze"]

    static func key(_ name: String, _ kind: GovernorTarget.Kind) -> String { "\(kind.rawValue) \(name)" }

    var groups = GovernorRestoreWorld.groups
    /// The kernel's files per group; no entry: the group does not exist.
    var kernel: [String: [String: String]] = [:]
    var identity: [String: UInt64] = [:]
    var nextIdentity: UInt64 = 1
    /// What an operator wrote and nothing has overwritten since: the value that must be
    /// there at the end instead of the configured one.
    var operatorSet: [String: [String: String]] = [:]
    var state: GovernorState
    /// The state file: what the runtime persists before carrying out a decision.
    var stateFile: String { state.encoded() }
    var now = MonotonicInstant(usec: 1_000_000_000)
    let thresholds: GovernorThresholds
    /// Every write that lowered the CPU of a group holding a component that is not batch.
    var lowered: [String] = []
    /// What happened, for the failure message (only when `tracing`: words cost time).
    var trace: [String] = []
    var tracing = false

    init() {
        var settings = GovernorSettings()
        settings.cooldownSec = .seconds(30)
        settings.severeAfterSec = .seconds(20)
        thresholds = GovernorThresholds(settings)
        state = .initial(at: now, bootID: "boot")
        for group in groups { create(group) }
    }

    func group(_ name: String, _ kind: GovernorTarget.Kind = .group) -> Group {
        groups.first { $0.name == name && $0.kind == kind }!
    }

    func configured(_ group: Group) -> [String: String] {
        guard group.kind == .group else { return ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": "[not set]"] }
        return ["cpu.max": group.cpuMax, "cpu.weight": group.cpuWeight, "cgroup.freeze": "0", "cpu.idle": "0", "memory.high": "max"]
    }

    /// A group created (or created again) with its configured values.
    mutating func create(_ group: Group) {
        let key = Self.key(group.name, group.kind)
        kernel[key] = configured(group)
        operatorSet[key] = nil
        if group.kind == .group {
            identity[key] = nextIdentity
            nextIdentity += 1
        }
    }

    /// What the runtime hands the governor: every target with the values read now.
    var targets: [GovernorTarget] {
        groups.map { group in
            let key = Self.key(group.name, group.kind)
            let files = kernel[key]
            var current: [String: String] = [:]
            for (file, value) in files ?? [:] {
                // cgroupfs ends a value with a newline; D-Bus does not.
                current[file] = group.kind == .group ? value + "\n" : value
            }
            return GovernorTarget(
                name: group.name, kind: group.kind, path: group.path, priority: group.priority,
                emergencyCPUQuota: group.emergencyCPUQuota, current: current,
                configured: group.kind == .group ? configured(group) : [:],
                identity: files == nil ? nil : identity[key])
        }
    }

    /// Carries out a decision as the runtime does: the state file first, then the writes.
    mutating func commit(_ decision: GovernorDecision, _ what: @autoclosure () -> String) {
        state = decision.state
        for action in decision.actions {
            switch action {
            case .restore(let name, _, let writes):
                let key = Self.key(name, .group)
                // A write to a group that is gone fails in the kernel.
                guard kernel[key] != nil else { continue }
                for write in writes { kernel[key]![write.file] = write.value }
            case .apply(let name, _, let writes):
                let key = Self.key(name, .group)
                guard kernel[key] != nil else { continue }
                let written = group(name)
                let holdsOwn = groups.contains {
                    $0.isComponent && $0.priority != .batch && ($0.path == written.path || $0.path.hasPrefix(written.path + "/"))
                }
                for write in writes {
                    if holdsOwn, ["cpu.max", "cpu.weight"].contains(write.file), let before = kernel[key]![write.file],
                        GovernorValues.isTighter(file: write.file, write.value, than: before)
                    {
                        lowered.append("\(name) \(write.file): '\(before)' → '\(write.value)'")
                    }
                    kernel[key]![write.file] = write.value
                }
            case .throttleSystemdSlice(let name, let properties), .restoreSystemdSlice(let name, let properties):
                for property in properties { setSlice(name, property) }
            case .reclaimMemory, .alert:
                continue
            }
        }
        if tracing {
            let record = decision.audit.map { " → \($0.description)" } ?? ""
            trace.append("\(what()): tier \(state.tier.rawValue)\(record)")
        }
    }

    mutating func note(_ line: @autoclosure () -> String) {
        if tracing { trace.append(line()) }
    }

    /// As systemd stores a property and reads it back.
    mutating func setSlice(_ name: String, _ property: SystemdProperty) {
        kernel[Self.key(name, .systemdSlice)]![property.name] = GovernorSliceProperty.text(of: property)!
    }

    mutating func decide(_ load: GovernorModelLoad, _ what: @autoclosure () -> String) {
        let sample = GovernorSample(at: now, protectedCPU: load.reading)
        commit(Governor.decide(state: state, sample: sample, targets: targets, thresholds: thresholds), what())
    }

    // MARK: The steps

    mutating func perform(_ step: GovernorStep) {
        switch step {
        case .signals(let load, let after):
            now = now.advanced(by: .seconds(after))
            decide(load, step.description)
        case .manualOn(let quota, let names, let freeze, let seconds):
            let request = ManualEmergencyRequest(
                cpuQuota: quota.map { CPUQuota(perSecondUSec: $0 * 10_000) }, targets: names, freezeBatch: freeze,
                duration: seconds.map { TimeSpan.seconds($0) })
            switch Governor.manualOn(state: state, request: request, at: now, targets: targets, thresholds: thresholds) {
            case .success(let decision): commit(decision, step.description)
            case .failure(let error): note("\(step): refused: \(error)")
            }
        case .manualOff:
            if let decision = Governor.manualOff(state: state, at: now, targets: targets, thresholds: thresholds) {
                commit(decision, step.description)
            } else {
                note("\(step): not in manual mode")
            }
        case .restart(let name):
            create(group(name))
            note(step.description)
        case .stop(let name):
            kernel[Self.key(name, .group)] = nil
            note(step.description)
        case .start(let name):
            if kernel[Self.key(name, .group)] == nil { create(group(name)) }
            note(step.description)
        case .daemonKilled(let recreated):
            // Nothing of the old daemon's memory survives but the state file.
            let decoded = GovernorState.decode(stateFile)
            guard case .success(let stored) = decoded else {
                note("\(step): the state file does not decode: \(decoded)")
                state = .initial(at: now)
                return
            }
            state = GovernorState.resumed(from: stored, bootID: "boot", at: now).state
            if recreated {
                for group in groups where group.kind == .group && kernel[Self.key(group.name, .group)] != nil {
                    create(group)
                }
            }
            note(step.description)
            // The new daemon looks at once (a state with a record).
            decide(.calm, "resume")
        case .reload(let name, let cpuMax):
            let i = groups.firstIndex { $0.name == name && $0.kind == .group }!
            guard groups[i].cpuMax != cpuMax else { return }
            groups[i].cpuMax = cpuMax
            let key = Self.key(name, .group)
            note(step.description)
            guard kernel[key] != nil else { return }
            if groups[i].isComponent {
                // A changed component is restarted with its new settings.
                create(groups[i])
            } else {
                // A changed slice gets its configured values written in place.
                for file in ["cpu.max", "cpu.weight"] {
                    kernel[key]![file] = configured(groups[i])[file]
                    operatorSet[key]?[file] = nil
                }
            }
        case .operatorWrites(let name, let kind, let file, let value):
            let key = Self.key(name, kind)
            guard kernel[key] != nil, kernel[key]![file] != value else { return }
            // The one write no reader can tell from the governor's own: the value the
            // governor wrote, put there by someone else before the governor saw the file
            // change. Left out of the model; once it has seen a change, the file is theirs
            // (GovernorRestoreRegressionTests).
            let record = state.changes.first { $0.target == name && $0.kind == kind && $0.file == file }
            if let record, !record.yielded, GovernorRestore.same(record.written, value) { return }
            kernel[key]![file] = value
            operatorSet[key, default: [:]][file] = value
            note(step.description)
        }
    }

    /// `warden emergency off` if manual mode is on, then calm until the cooldowns have
    /// brought the tier down to normal.
    mutating func finish() {
        if let decision = Governor.manualOff(state: state, at: now, targets: targets, thresholds: thresholds) {
            commit(decision, "final emergency off")
        }
        // One calm look starts the calm spell, then one step down per cooldown.
        for _ in 0..<5 where state.tier != .normal || !state.changes.isEmpty {
            now = now.advanced(by: TimeSpan(usec: thresholds.cooldown.usec + 1_000_000))
            decide(.calm, "calm past the cooldown")
        }
    }

    /// Every value that is not what the configuration or the operator set, as
    /// "GROUP FILE is 'FOUND', expected 'EXPECTED'".
    var wrongValues: [String] {
        var wrong: [String] = []
        for group in groups {
            let key = Self.key(group.name, group.kind)
            guard let files = kernel[key] else { continue }
            let checked = group.kind == .group ? Self.files : GovernorTarget.systemdProperties
            for file in checked {
                let expected = operatorSet[key]?[file] ?? configured(group)[file]!
                if files[file] != expected {
                    let whose = operatorSet[key]?[file] == nil ? "configured" : "the operator's"
                    wrong.append("\(key) \(file) is '\(files[file] ?? "-")', expected \(whose) '\(expected)'")
                }
            }
        }
        return wrong
    }
}
