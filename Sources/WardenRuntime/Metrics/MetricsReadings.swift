import WardenCore
import WardenLinux

/// The governor's figures for `/metrics`: what the governor's owner hands the supervisor
/// through `Supervisor.governorMetricsSource`. A value type so the governor can build it
/// on the loop thread from its own state without sharing anything.
public struct GovernorMetricsSnapshot: Hashable, Sendable {
    /// The tier in force now (`warden_governor_tier`: 0 normal … 3 severe).
    public var tier: GovernorTier
    /// An operator's `warden emergency on` holds the tier (manual mode).
    public var manualEmergency: Bool
    /// Actions carried out since Warden started, by kind (`GovernorAction.metricsKind`):
    /// cumulative counts, exported as `warden_governor_actions_total{action=…}`.
    public var actionCounts: [String: UInt64]

    public init(tier: GovernorTier, manualEmergency: Bool = false, actionCounts: [String: UInt64] = [:]) {
        self.tier = tier
        self.manualEmergency = manualEmergency
        self.actionCounts = actionCounts
    }
}

extension GovernorAction {
    /// The `action` label of `warden_governor_actions_total`: one word per case.
    public var metricsKind: String {
        switch self {
        case .apply: "apply"
        case .restore: "restore"
        case .reclaimMemory: "reclaim_memory"
        case .throttleSystemdSlice: "throttle_systemd_slice"
        case .restoreSystemdSlice: "restore_systemd_slice"
        case .alert: "alert"
        }
    }
}

/// Resource usage of a component or slice at one scrape, from its cgroup or, without
/// one, from its main process. Fields the source does not have are nil.
struct UsageReading {
    /// Identifies the source of the cumulative figures (a cgroup directory's inode, a
    /// process's pid and start time): when it changes, the counters fed from it count
    /// the new source from zero (`MonotonicCounterSource`).
    var sourceID: UInt64
    var cpuSeconds: Double?
    var throttledSeconds: Double?
    var memoryCurrentBytes: UInt64?
    var memoryPeakBytes: UInt64?
    var memoryEvents: MemoryEvents?
    var tasks: UInt64?
    var pressure: [(resource: String, pressure: Pressure)] = []

    init(sourceID: UInt64) {
        self.sourceID = sourceID
    }
}

/// The few files of a group `/metrics` reports, read beneath the manager's open
/// descriptor. Not `CgroupManager.stats(of:)`: that also parses `memory.stat`, the largest
/// file of a group, which a scrape of many components does not need.
enum CgroupUsageReader {
    /// nil when the group does not exist (the component is stopped: its group is
    /// removed at each stop) or cannot be opened.
    static func read(_ manager: CgroupManager, path: String) -> UsageReading? {
        guard let fd = try? manager.directoryFD(for: path) else { return nil }
        guard let inode = Descriptors.inode(of: fd) else { return nil }
        // The top bit keeps cgroup sources apart from process sources.
        var reading = UsageReading(sourceID: inode | 1 << 63)
        func text(_ file: String) -> String? { try? manager.read(file, of: path) }
        if let cpu = text("cpu.stat").flatMap({ try? CPUStat.parse($0) }) {
            reading.cpuSeconds = Double(cpu.usageUSec) / 1e6
            reading.throttledSeconds = cpu.throttledUSec.map { Double($0) / 1e6 }
        }
        reading.memoryCurrentBytes = text("memory.current").flatMap { try? CgroupFileFormat.singleValue($0, file: "memory.current") }
        reading.memoryPeakBytes = text("memory.peak").flatMap { try? CgroupFileFormat.singleValue($0, file: "memory.peak") }
        reading.memoryEvents = text("memory.events").flatMap { try? MemoryEvents.parse($0) }
        reading.tasks = text("pids.current").flatMap { try? CgroupFileFormat.singleValue($0, file: "pids.current") }
        // Absent without CONFIG_PSI; EOPNOTSUPP with psi=0: both leave PSI out.
        for resource in ["cpu", "memory", "io"] {
            let file = resource + ".pressure"
            if let pressure = text(file).flatMap({ try? Pressure.parse($0, file: file) }) {
                reading.pressure.append((resource, pressure))
            }
        }
        return reading
    }
}

extension ProcessStatReader {
    /// A component's usage from its main process alone (no cgroup).
    mutating func usage(pid: Int32) -> UsageReading? {
        guard let fields = read(pid: pid), Self.clockTicksPerSecond > 0 else { return nil }
        var reading = UsageReading(sourceID: UInt64(UInt32(bitPattern: pid)) << 40 ^ fields.startTicks)
        reading.cpuSeconds = Double(fields.cpuTicks) / Self.clockTicksPerSecond
        reading.memoryCurrentBytes = fields.residentPages.map { $0 &* Self.pageBytes }
        reading.tasks = fields.threads
        return reading
    }
}
