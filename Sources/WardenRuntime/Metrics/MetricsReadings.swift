import Glibc
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
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        // The top bit keeps cgroup sources apart from process sources.
        var reading = UsageReading(sourceID: UInt64(info.st_ino) | 1 << 63)
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

/// The fields of `/proc/PID/stat` a scrape needs, parsed from bytes.
///
/// A scrape without cgroups reads one file per component, so only `stat`: CPU time,
/// threads and resident size are all there. `/proc/PID/status` (which also has the
/// peak resident size, VmHWM) costs the kernel about three times as much to produce,
/// measured here; `warden status` shows that peak.
struct ProcessStatFields: Hashable, Sendable {
    /// utime + stime, clock ticks.
    var cpuTicks: UInt64
    var threads: UInt64
    /// Resident pages.
    var residentPages: UInt64
    var virtualBytes: UInt64
    /// Start time after boot, clock ticks.
    var startTicks: UInt64

    /// Fields are counted after the *last* `)`: the command name may contain spaces and
    /// parentheses. After it, field 3 (state) is index 0: utime 14 → 11, stime 15 → 12,
    /// num_threads 20 → 17, starttime 22 → 19, vsize 23 → 20, rss 24 → 21.
    static func parse<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> ProcessStatFields? where Bytes.Index == Int {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var values = [UInt64](repeating: 0, count: 22)
        var field = -1
        var inField = false
        var index = close + 1
        while index < bytes.endIndex && field < 22 {
            let byte = bytes[index]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                inField = false
            } else {
                if !inField {
                    inField = true
                    field += 1
                    if field >= 22 { break }
                }
                // Only unsigned decimal fields are used; the sign of a negative one
                // (priority, nice) is skipped, the state letter too.
                if field > 0 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    let (times10, o1) = values[field].multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                    values[field] = o1 || o2 ? .max : sum
                }
            }
            index += 1
        }
        guard field >= 21 else { return nil }
        return ProcessStatFields(
            cpuTicks: values[11] &+ values[12], threads: values[17], residentPages: values[21],
            virtualBytes: values[20], startTicks: values[19])
    }
}

/// Reads `/proc/PID/stat` into a reused buffer.
struct ProcessStatReader {
    static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    static let pageBytes = UInt64(max(1, sysconf(Int32(_SC_PAGESIZE))))

    private var buffer = [UInt8](repeating: 0, count: 1024)
    let procRoot: String

    init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    /// `pid` nil reads `/proc/self/stat`.
    mutating func read(pid: Int32?) -> ProcessStatFields? {
        let path = procRoot + "/" + (pid.map(String.init) ?? "self") + "/stat"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var count = 0
        while count < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            count += n
        }
        return buffer.withUnsafeBufferPointer { ProcessStatFields.parse(UnsafeBufferPointer(rebasing: $0[0..<count])) }
    }

    /// A component's usage from its main process alone (no cgroup).
    mutating func usage(pid: Int32) -> UsageReading? {
        guard let fields = read(pid: pid), Self.clockTicksPerSecond > 0 else { return nil }
        var reading = UsageReading(sourceID: UInt64(UInt32(bitPattern: pid)) << 40 ^ fields.startTicks)
        reading.cpuSeconds = Double(fields.cpuTicks) / Self.clockTicksPerSecond
        reading.memoryCurrentBytes = fields.residentPages &* Self.pageBytes
        reading.tasks = fields.threads
        return reading
    }
}
