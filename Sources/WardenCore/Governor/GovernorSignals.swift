// What the governor judges: one sample of the protected group's pressure and the host's
// secondary signals, the thresholds they are compared with, and the verdict.

/// A share in hundredths of a percent, exact to the two decimals the kernel prints
/// (`avg10=38.79` is 3879). Used for PSI averages, memory use and CPU use.
public struct Percentage: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var hundredths: Int

    public init(hundredths: Int) { self.hundredths = hundredths }
    public init(percent: Int) { self.hundredths = percent * 100 }

    public static let zero = Percentage(hundredths: 0)

    /// `38.79%`, `70%`.
    public var description: String {
        let whole = hundredths / 100
        let fraction = abs(hundredths % 100)
        if fraction == 0 { return "\(whole)%" }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)%" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
    }

    public static func < (a: Percentage, b: Percentage) -> Bool { a.hundredths < b.hundredths }
}

/// One line pair of a PSI file (`cpu.pressure`, `/proc/pressure/memory`, …): the 10-second
/// averages the governor judges.
public struct PressureReading: Hashable, Sendable {
    /// Share of time at least one task stalled on the resource.
    public var someAvg10: Percentage
    /// Share of time every non-idle task stalled; nil when the file has no `full` line
    /// (the host-wide `cpu` file before Linux 5.13).
    public var fullAvg10: Percentage?
    /// The cumulative `some total=` stall, in microseconds: what a trigger event is checked
    /// against (`PressureEvidence`). Nil where it was not read.
    public var someTotalUSec: UInt64?

    public init(someAvg10: Percentage, fullAvg10: Percentage? = nil, someTotalUSec: UInt64? = nil) {
        self.someAvg10 = someAvg10
        self.fullAvg10 = fullAvg10
        self.someTotalUSec = someTotalUSec
    }
}

/// The resource a PSI trigger or reading is about.
public enum PressureResource: String, CaseIterable, Hashable, Sendable {
    case cpu, memory, io
}

/// A PSI trigger that fired: over its window the protected group stalled on `resource` for
/// at least the share of `level`. Triggers are how the governor reacts within one window:
/// `avg10` needs several seconds to catch up with a sudden overload, a trigger does not.
public struct FiredTrigger: Hashable, Sendable, CustomStringConvertible {
    public var resource: PressureResource
    /// `.warning` or `.critical`: which threshold the trigger was registered with.
    public var level: GovernorTier

    public init(resource: PressureResource, level: GovernorTier) {
        self.resource = resource
        self.level = level
    }

    public var description: String { "\(resource.rawValue) pressure trigger (\(level.rawValue))" }
}

/// One observation, taken when a trigger fired or a sampling tick came.
///
/// Pressure is the **protected** group's (the `Priority=critical` components' slice, or the
/// host's when nothing is critical): throttling a batch group raises that group's own
/// stall, and feeding that back would hold the governor in its tier for ever. Every field
/// is optional: nil means "not read" (no PSI on this kernel, file unreadable), and a
/// signal that was not read neither escalates nor counts against calm.
public struct GovernorSample: Hashable, Sendable {
    public var at: MonotonicInstant
    /// The triggers that fired since the previous sample (empty on a sampling tick).
    public var firedTriggers: [FiredTrigger]
    public var protectedCPU: PressureReading?
    public var protectedMemory: PressureReading?
    public var protectedIO: PressureReading?
    /// 1-minute load average divided by the online CPUs, in hundredths (`/proc/loadavg`).
    public var loadPerCPUHundredths: Int?
    /// `(MemTotal - MemAvailable) / MemTotal` (`/proc/meminfo`).
    public var memoryUsed: Percentage?
    /// `SwapTotal - SwapFree`, in bytes.
    public var swapUsedBytes: UInt64?
    /// Busy share of all CPUs between the previous `/proc/stat` reading and this one.
    public var cpuBusy: Percentage?
    /// The CPU the throttle targets (`Governor.throttleTargets`) used together over the
    /// sample's window, from their `cpu.stat` `usage_usec`: whether there is a contender the
    /// critical tier could hold back. Nil when it could not be read, and CPU signals then
    /// escalate on their own.
    public var targetsCPUUsage: TargetsCPUUsage?

    public init(
        at: MonotonicInstant, firedTriggers: [FiredTrigger] = [], protectedCPU: PressureReading? = nil,
        protectedMemory: PressureReading? = nil, protectedIO: PressureReading? = nil,
        loadPerCPUHundredths: Int? = nil, memoryUsed: Percentage? = nil, swapUsedBytes: UInt64? = nil,
        cpuBusy: Percentage? = nil, targetsCPUUsage: TargetsCPUUsage? = nil
    ) {
        self.at = at
        self.firedTriggers = firedTriggers
        self.protectedCPU = protectedCPU
        self.protectedMemory = protectedMemory
        self.protectedIO = protectedIO
        self.loadPerCPUHundredths = loadPerCPUHundredths
        self.memoryUsed = memoryUsed
        self.swapUsedBytes = swapUsedBytes
        self.cpuBusy = cpuBusy
        self.targetsCPUUsage = targetsCPUUsage
    }
}

/// A signal the governor compares with a threshold.
public enum GovernorSignal: String, CaseIterable, Hashable, Sendable {
    case cpuPressure = "cpu-pressure"
    case memoryPressure = "memory-pressure"
    case ioPressure = "io-pressure"
    case loadPerCPU = "load-per-cpu"
    case memoryUsed = "memory-used"
    case swapUsed = "swap-used"
    case cpuBusy = "cpu-busy"
}

/// One signal's value against the threshold it crossed (or the warning threshold when it
/// crossed none): what an audit record and an alert show.
public struct GovernorReading: Hashable, Sendable, CustomStringConvertible {
    public var signal: GovernorSignal
    /// The value as an operator reads it: `31.5%`, `2.40`, `612MiB`, `fired`.
    public var value: String
    /// The threshold it is compared with, same notation.
    public var threshold: String
    /// `.normal`, `.warning` or `.critical`.
    public var level: GovernorTier

    public init(signal: GovernorSignal, value: String, threshold: String, level: GovernorTier) {
        self.signal = signal
        self.value = value
        self.threshold = threshold
        self.level = level
    }

    public var description: String {
        switch level {
        case .normal: "\(signal.rawValue) \(value) (below \(threshold))"
        default: "\(signal.rawValue) \(value) (\(level.rawValue) at \(threshold))"
        }
    }
}

/// `[Governor]` with its defaults filled in: the operators' runbook values.
public struct GovernorThresholds: Hashable, Sendable {
    public var loadPerCPUWarningHundredths: Int
    public var loadPerCPUCriticalHundredths: Int
    public var memoryWarning: Percentage
    public var memoryCritical: Percentage
    public var cpuWarning: Percentage
    public var cpuCritical: Percentage
    public var cpuPressureWarning: Percentage
    public var cpuPressureCritical: Percentage
    /// Memory and I/O pressure have only a critical threshold in `[Governor]`; for the
    /// cooldown they count as calm once below it.
    public var memoryPressureCritical: Percentage
    public var ioPressureCritical: Percentage
    /// Swap in use that means warning: the runbooks' 500 MB. Not a `[Governor]` key yet.
    public var swapWarningBytes: UInt64
    /// The CPU the throttle targets must use together, as a share of one CPU, for CPU
    /// pressure, load or CPU use to raise the tier (`defaultContenderCPUShare`).
    public var contenderCPUShare: Percentage
    public var pressureWindow: TimeSpan
    public var severeAfter: TimeSpan
    public var cooldown: TimeSpan
    public var sampleInterval: TimeSpan
    public var alertCooldown: TimeSpan
    public var emergencyCPUQuota: CPUQuota
    public var emergencyCPUWeight: CPUWeight
    /// What the critical tier raises critical groups (and the slices holding them) to.
    public var criticalCPUWeight: UInt64
    public var throttleSliceCPUQuota: CPUQuota

    /// The runbooks' swap warning level (500 MB).
    public static let defaultSwapWarningBytes: UInt64 = 500 * 1_000_000
    /// A tenth of one CPU. A hog that starves the critical stack uses a whole CPU; what a
    /// quiet host runs in `system.slice` and `user.slice` (journald, cron, an SSH session)
    /// uses a few per cent; and a group using a tenth of a CPU is far below the emergency
    /// quota (half a CPU by default), so throttling it would change next to nothing. Not a
    /// `[Governor]` key: the line between "something runs" and "nothing runs" does not
    /// depend on the workload.
    public static let defaultContenderCPUShare = Percentage(percent: 10)
    /// The share of a CPU the throttle targets must still use for CPU signals to hold a
    /// tier: half the smallest emergency quota (a throttled hog uses up to its quota), at
    /// most `contenderCPUShare`.
    public var holdingCPUShare: Percentage {
        let quota = min(emergencyCPUQuota.perSecondUSec, throttleSliceCPUQuota.perSecondUSec)
        return min(contenderCPUShare, Percentage(hundredths: Int(clamping: quota / 200)))
    }
    /// `EmergencyCPUQuota=` default: half of one CPU.
    public static let defaultEmergencyCPUQuota = CPUQuota(perSecondUSec: 500_000)
    /// `EmergencyCPUWeight=` default: the least weight.
    public static let defaultEmergencyCPUWeight = CPUWeight.weight(1)
    /// `CriticalCPUWeight=` default: the most weight. CFS lets a waking task preempt the
    /// running one only when their virtual runtimes differ by more than a granularity
    /// scaled by the waking group's weight: at the default 100 a critical task that wakes
    /// next to a hog waits for the next tick; at 10000 it runs at once (the static
    /// `CPUWeight=10000` phase of `make bench-governor`).
    public static let defaultCriticalCPUWeight: UInt64 = 10_000

    public init(_ settings: GovernorSettings) {
        let d = GovernorSettings.defaults
        loadPerCPUWarningHundredths = settings.loadPerCPUWarningHundredths ?? d.loadPerCPUWarningHundredths
        loadPerCPUCriticalHundredths = settings.loadPerCPUCriticalHundredths ?? d.loadPerCPUCriticalHundredths
        memoryWarning = Percentage(percent: settings.memoryWarningPercent ?? d.memoryWarningPercent)
        memoryCritical = Percentage(percent: settings.memoryCriticalPercent ?? d.memoryCriticalPercent)
        cpuWarning = Percentage(percent: settings.cpuWarningPercent ?? d.cpuWarningPercent)
        cpuCritical = Percentage(percent: settings.cpuCriticalPercent ?? d.cpuCriticalPercent)
        cpuPressureWarning = Percentage(percent: settings.cpuPressureWarningPercent ?? d.cpuPressureWarningPercent)
        cpuPressureCritical = Percentage(percent: settings.cpuPressureCriticalPercent ?? d.cpuPressureCriticalPercent)
        memoryPressureCritical = Percentage(
            percent: settings.memoryPressureCriticalPercent ?? d.memoryPressureCriticalPercent)
        ioPressureCritical = Percentage(percent: settings.ioPressureCriticalPercent ?? d.ioPressureCriticalPercent)
        swapWarningBytes = Self.defaultSwapWarningBytes
        contenderCPUShare = Self.defaultContenderCPUShare
        pressureWindow = settings.pressureWindowSec ?? d.pressureWindow
        severeAfter = settings.severeAfterSec ?? d.severeAfter
        cooldown = settings.cooldownSec ?? d.cooldown
        sampleInterval = settings.sampleIntervalSec ?? d.sampleInterval
        alertCooldown = settings.alertCooldownSec ?? d.alertCooldown
        emergencyCPUQuota = settings.emergencyCPUQuota ?? Self.defaultEmergencyCPUQuota
        emergencyCPUWeight = settings.emergencyCPUWeight ?? Self.defaultEmergencyCPUWeight
        criticalCPUWeight = settings.criticalCPUWeight ?? Self.defaultCriticalCPUWeight
        throttleSliceCPUQuota = settings.throttleSliceCPUQuota ?? Self.defaultEmergencyCPUQuota
    }

    /// The longest span CPU use (`/proc/stat`) is judged over: two trigger windows or two
    /// sample intervals, whichever is longer, so the regular samples of an active tier
    /// always read it and a trigger after a calm spell is judged on the last moments only.
    public var longestCPUUseSpan: TimeSpan {
        let base = max(pressureWindow.usec, sampleInterval.usec)
        let (doubled, overflow) = base.multipliedReportingOverflow(by: 2)
        return TimeSpan(usec: overflow ? .max : doubled)
    }

    /// The PSI trigger a runtime registers for `resource` at `level`: `some <stall> <window>`
    /// with the stall being the threshold's share of the window. Nil for a level that has
    /// no threshold for that resource.
    public func trigger(for resource: PressureResource, level: GovernorTier) -> (stallUSec: UInt64, windowUSec: UInt64)? {
        guard let share = triggerShare(for: resource, level: level) else { return nil }
        let window = pressureWindow.usec
        let stall = window / 10_000 * UInt64(max(share.hundredths, 1))
        return (max(stall, 1), window)
    }
}

extension GovernorThresholds {
    /// The stall share a trigger of `resource` at `level` is registered with; nil for a
    /// level that has no trigger.
    public func triggerShare(for resource: PressureResource, level: GovernorTier) -> Percentage? {
        switch (resource, level) {
        case (.cpu, .warning): cpuPressureWarning
        case (.cpu, .critical): cpuPressureCritical
        case (.memory, .critical): memoryPressureCritical
        case (.io, .critical): ioPressureCritical
        default: nil
        }
    }
}

extension GovernorSample {
    /// The `some total=` stall of each protected pressure file that was read.
    public var pressureTotals: [PressureResource: UInt64] {
        var totals: [PressureResource: UInt64] = [:]
        totals[.cpu] = protectedCPU?.someTotalUSec
        totals[.memory] = protectedMemory?.someTotalUSec
        totals[.io] = protectedIO?.someTotalUSec
        return totals
    }
}

extension GovernorSettings {
    /// `ThrottleSlices=`, or systemd's two big slices when the key is not set.
    public var effectiveThrottleSlices: [String] {
        throttleSlices.isEmpty ? ["system.slice", "user.slice"] : throttleSlices
    }
}

/// How loaded the host is by one sample: the highest level any signal reached, the level
/// the tier may rise to, and every signal's reading for the record.
///
/// An overload needs a contender: CPU pressure, load and CPU use raise the tier only when
/// the throttle targets used at least `contenderCPUShare` of a CPU over the sample's
/// window (`GovernorSample.targetsCPUUsage`; when it was not read, they raise it on their
/// own). Without one the stall is the critical tasks waiting for each other, or for a
/// host that deschedules the machine: throttling groups that use no CPU gives the critical
/// stack nothing and costs the batch work later. Memory and I/O signals are judged on their
/// own: what the severe tier does about memory (`memory.high`) does not depend on CPU use.
public struct GovernorAssessment: Hashable, Sendable {
    /// The highest level any signal reached, contender or not.
    public var level: GovernorTier
    /// The highest level of the signals that hold a tier (the cooldown counts calm only
    /// below it, and severe needs it critical): `level` without the CPU signals when the
    /// throttle targets used less than `GovernorThresholds.holdingCPUShare`. A throttle
    /// holds a hog at its quota, so a target using far less is not held back by it: it
    /// went idle, and the critical group's own stall is no reason to keep throttling.
    public var holding: GovernorTier
    /// The highest level of the signals that may raise the tier: `level` without the CPU
    /// signals when there is no contender.
    public var escalation: GovernorTier
    public var readings: [GovernorReading]
    /// The CPU readings above `escalation` that no contender bears out; empty when there is
    /// a contender or it was not read.
    public var uncontended: [GovernorReading]
    /// False when the throttle targets used less than `contenderCPUShare` of a CPU (or their
    /// use is still being measured): CPU readings then do not count for `escalation`.
    public var contended: Bool
    /// True when protected memory pressure or memory use is critical: what makes the severe
    /// tier tighten `memory.high`.
    public var memoryPressed: Bool

    /// The signals that say what the CPU is doing, which a contender must bear out.
    public static let cpuSignals: Set<GovernorSignal> = [.cpuPressure, .loadPerCPU, .cpuBusy]

    /// The readings that reached `escalation` and count for it (all of them when it is normal).
    public var causes: [GovernorReading] {
        escalation == .normal
            ? readings : readings.filter { $0.level == escalation && (contended || !Self.cpuSignals.contains($0.signal)) }
    }

    public init(_ sample: GovernorSample, _ t: GovernorThresholds) {
        var readings: [GovernorReading] = []
        func grade<V: Comparable>(_ value: V, warning: V?, critical: V) -> GovernorTier {
            if value >= critical { return .critical }
            if let warning, value >= warning { return .warning }
            return .normal
        }
        func add(_ signal: GovernorSignal, _ level: GovernorTier, _ value: String, _ warning: String?, _ critical: String) {
            let threshold = level == .critical ? critical : warning ?? critical
            readings.append(GovernorReading(signal: signal, value: value, threshold: threshold, level: level))
        }
        func pressure(_ resource: PressureResource) -> (reading: PressureReading?, signal: GovernorSignal, warning: Percentage?, critical: Percentage) {
            switch resource {
            case .cpu: (sample.protectedCPU, .cpuPressure, t.cpuPressureWarning, t.cpuPressureCritical)
            case .memory: (sample.protectedMemory, .memoryPressure, nil, t.memoryPressureCritical)
            case .io: (sample.protectedIO, .ioPressure, nil, t.ioPressureCritical)
            }
        }
        var memoryPressed = false
        for resource in PressureResource.allCases {
            let p = pressure(resource)
            let fired = sample.firedTriggers.filter { $0.resource == resource }.map(\.level).max()
            let averaged = p.reading.map { grade($0.someAvg10, warning: p.warning, critical: p.critical) }
            guard fired != nil || averaged != nil else { continue }
            let level = max(fired ?? .normal, averaged ?? .normal)
            var value = p.reading.map { "\($0.someAvg10) avg10" } ?? ""
            if let fired { value += (value.isEmpty ? "" : ", ") + "\(fired.rawValue) trigger fired" }
            add(p.signal, level, value, p.warning?.description, p.critical.description)
            if resource == .memory && level == .critical { memoryPressed = true }
        }
        if let load = sample.loadPerCPUHundredths {
            let level = grade(load, warning: t.loadPerCPUWarningHundredths, critical: t.loadPerCPUCriticalHundredths)
            add(.loadPerCPU, level, Self.hundredths(load), Self.hundredths(t.loadPerCPUWarningHundredths),
                Self.hundredths(t.loadPerCPUCriticalHundredths))
        }
        if let used = sample.memoryUsed {
            let level = grade(used, warning: t.memoryWarning, critical: t.memoryCritical)
            add(.memoryUsed, level, used.description, t.memoryWarning.description, t.memoryCritical.description)
            if level == .critical { memoryPressed = true }
        }
        if let swap = sample.swapUsedBytes {
            // Swap in use is a warning sign only: the runbooks give it no critical level.
            let level: GovernorTier = swap >= t.swapWarningBytes ? .warning : .normal
            add(.swapUsed, level, Self.megabytes(swap), Self.megabytes(t.swapWarningBytes), Self.megabytes(t.swapWarningBytes))
        }
        if let busy = sample.cpuBusy {
            let level = grade(busy, warning: t.cpuWarning, critical: t.cpuCritical)
            add(.cpuBusy, level, busy.description, t.cpuWarning.description, t.cpuCritical.description)
        }
        self.readings = readings
        self.level = readings.map(\.level).max() ?? .normal
        self.memoryPressed = memoryPressed
        let contended = sample.targetsCPUUsage.map { $0.contends(atLeast: t.contenderCPUShare) } ?? true
        self.contended = contended
        let held: Bool
        switch sample.targetsCPUUsage {
        case nil, .measuring?: held = true
        case .measured(let share)?: held = share >= t.holdingCPUShare
        }
        self.holding = readings.filter { held || !Self.cpuSignals.contains($0.signal) }.map(\.level).max() ?? .normal
        let counted = readings.filter { contended || !Self.cpuSignals.contains($0.signal) }
        self.escalation = counted.map(\.level).max() ?? .normal
        let escalation = self.escalation
        self.uncontended = readings.filter { !counted.contains($0) && $0.level > escalation }
    }

    /// What the governor says when CPU signals would raise the tier but no throttle target
    /// uses the CPU: "cpu-pressure 31% avg10 (critical at 25%), but the throttle targets used
    /// 0.2% of a CPU (a contender uses 10%): nothing to throttle". Nil when there is nothing
    /// to say, or while the targets' use is still being measured (the next sample tells).
    public func uncontendedLine(_ sample: GovernorSample, _ t: GovernorThresholds) -> String? {
        guard case .measured(let share) = sample.targetsCPUUsage, !uncontended.isEmpty else { return nil }
        let what = uncontended.map(\.description).joined(separator: ", ")
        return "\(what), but the throttle targets used \(share) of a CPU (a contender uses \(t.contenderCPUShare)): nothing to throttle"
    }

    static func hundredths(_ value: Int) -> String {
        let fraction = abs(value % 100)
        return "\(value / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    static func megabytes(_ bytes: UInt64) -> String { "\(bytes / 1_000_000)MB" }
}
