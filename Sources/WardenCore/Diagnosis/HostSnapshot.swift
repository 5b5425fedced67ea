// What `warden diagnose` collects about the host. The effects layer fills it from /proc,
// /sys and systemctl; `Diagnosis.analyze` turns it into verdicts and recommendations.

/// How a signal stands against its thresholds, worst last.
public enum Verdict: String, Hashable, Sendable, Codable, Comparable, CaseIterable {
    case optimal, warning, critical

    private var rank: Int {
        switch self {
        case .optimal: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (a: Verdict, b: Verdict) -> Bool { a.rank < b.rank }

    /// The runbooks' rule: below `warning` optimal, from `warning` up to and including
    /// `critical` warning, above `critical` critical (load 1.0–2.0 per CPU is warning).
    public static func of<T: Comparable>(_ value: T, warning: T, critical: T) -> Verdict {
        if value > critical { return .critical }
        if value >= warning { return .warning }
        return .optimal
    }
}

extension MemoryInfo {
    /// `MemTotal - MemAvailable`, in bytes.
    public var usedBytes: UInt64 { memTotalBytes - min(memAvailableBytes, memTotalBytes) }
    /// Used share in hundredths of a percent (exact comparisons against whole percents).
    public var usedBasisPoints: UInt64 { memTotalBytes == 0 ? 0 : usedBytes * 10_000 / memTotalBytes }
    public var swapUsedBasisPoints: UInt64 { swapTotalBytes == 0 ? 0 : swapUsedBytes * 10_000 / swapTotalBytes }
}

/// One `/proc/pressure/RESOURCE` file: the share of time (percent) in which some (or
/// all, `full`) runnable tasks stalled on the resource.
public struct PressureFigures: Hashable, Sendable, Codable {
    public var someAvg10: Double
    public var someAvg60: Double
    public var someAvg300: Double
    /// Absent from `cpu` on kernels before 5.13.
    public var fullAvg10: Double?

    public init(someAvg10: Double, someAvg60: Double, someAvg300: Double, fullAvg10: Double?) {
        self.someAvg10 = someAvg10
        self.someAvg60 = someAvg60
        self.someAvg300 = someAvg300
        self.fullAvg10 = fullAvg10
    }

    /// Parses `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and the `full` line.
    /// A PSI file's text (`/proc/pressure/cpu`), through the one PSI parser (`Pressure`).
    public static func parse(_ text: String) -> PressureFigures? {
        guard let pressure = try? Pressure.parse(text, file: "pressure") else { return nil }
        return PressureFigures(
            someAvg10: pressure.some.avg10Percent, someAvg60: pressure.some.avg60Percent,
            someAvg300: pressure.some.avg300Percent, fullAvg10: pressure.full?.avg10Percent)
    }
}

/// PSI of the host; each member nil when its file is absent.
public struct PressureSnapshot: Hashable, Sendable, Codable {
    public var cpu: PressureFigures?
    public var memory: PressureFigures?
    public var io: PressureFigures?

    public init(cpu: PressureFigures?, memory: PressureFigures?, io: PressureFigures?) {
        self.cpu = cpu
        self.memory = memory
        self.io = io
    }
}

/// Where a process runs, as far as the trading stack is concerned.
public enum ProcessPlacement: String, Hashable, Sendable, Codable {
    /// Warden itself or a process it runs.
    case warden
    /// In one of the trading slices (the configuration's own slices).
    case tradingSlice = "trading-slice"
    /// Anywhere else: the processes that compete with the stack.
    case outside

    /// `wardenPIDs` wins; then a cgroup path with a component that is a trading slice.
    public static func classify(
        pid: Int32, cgroup: String?, wardenPIDs: Set<Int32>, tradingSlices: Set<String>
    ) -> (placement: ProcessPlacement, slice: String?) {
        if wardenPIDs.contains(pid) { return (.warden, nil) }
        if let cgroup {
            for part in cgroup.split(separator: "/").reversed() where tradingSlices.contains(String(part)) {
                return (.tradingSlice, String(part))
            }
        }
        return (.outside, nil)
    }

    /// The trading slices of a configuration: its slices except systemd's own
    /// (`-.slice`, `system.slice`, `user.slice`, `machine.slice`), where anything runs.
    public static func tradingSlices(of configuration: Configuration) -> Set<String> {
        Set(configuration.slices.map(\.name.description).filter { !WellKnownUnits.names.contains($0) })
    }
}

/// A process in a top list.
public struct ProcessUsage: Hashable, Sendable, Codable {
    public var pid: Int32
    /// User name, or the uid in decimal when it has none; `?` when unknown.
    public var user: String
    /// Share of one CPU over the sampling interval (200 = two CPUs busy).
    public var cpuPercent: Double
    public var rssBytes: UInt64
    public var commandLine: String
    public var cgroup: String?
    public var placement: ProcessPlacement
    /// The trading slice it is in, when `placement` is `trading-slice`.
    public var slice: String?

    public init(
        pid: Int32, user: String, cpuPercent: Double, rssBytes: UInt64, commandLine: String, cgroup: String?,
        placement: ProcessPlacement, slice: String?
    ) {
        self.pid = pid
        self.user = user
        self.cpuPercent = cpuPercent
        self.rssBytes = rssBytes
        self.commandLine = commandLine
        self.cgroup = cgroup
        self.placement = placement
        self.slice = slice
    }
}

/// Failed systemd units, or why they could not be listed.
public enum FailedUnits: Hashable, Sendable {
    case listed([String])
    /// No systemd as init here (a container, a build host): nothing to list.
    case systemdNotRunning
    /// `systemctl` exists but failed.
    case unavailable(String)
}

/// Everything `warden diagnose` looked at, in one value.
public struct HostSnapshot: Hashable, Sendable {
    public var uptimeSeconds: Double?
    public var cpuCount: Int
    /// 1, 5 and 15 minute load averages in hundredths (`/proc/loadavg` has two decimals).
    public var loadAverageHundredths: [Int]?
    public var memory: MemoryInfo?
    /// nil when `/proc/pressure` does not exist (kernel without PSI, or `psi=0`).
    public var pressure: PressureSnapshot?
    public var topByCPU: [ProcessUsage]
    public var topByMemory: [ProcessUsage]
    /// Per configured component; without a configuration, the groups of processes running
    /// the same program with the same arguments (`DuplicateScan.sameCommandGroups`).
    public var components: [ComponentCopies]
    /// True when `components` are such groups, not configured components.
    public var componentsAreSameCommandGroups = false
    /// `scaling_governor` of each CPU in CPU order; nil when cpufreq is absent.
    public var cpuGovernors: [String]?
    public var failedUnits: FailedUnits
    public var processCount: Int
    /// Wall time of one full /proc scan.
    public var scanMilliseconds: Double
    /// User names of the uids in `components`, for the report.
    public var userNames: [UInt32: String]

    public init(
        uptimeSeconds: Double? = nil, cpuCount: Int = 1, loadAverageHundredths: [Int]? = nil,
        memory: MemoryInfo? = nil, pressure: PressureSnapshot? = nil, topByCPU: [ProcessUsage] = [],
        topByMemory: [ProcessUsage] = [], components: [ComponentCopies] = [], cpuGovernors: [String]? = nil,
        failedUnits: FailedUnits = .systemdNotRunning, processCount: Int = 0, scanMilliseconds: Double = 0,
        userNames: [UInt32: String] = [:]
    ) {
        self.uptimeSeconds = uptimeSeconds
        self.cpuCount = cpuCount
        self.loadAverageHundredths = loadAverageHundredths
        self.memory = memory
        self.pressure = pressure
        self.topByCPU = topByCPU
        self.topByMemory = topByMemory
        self.components = components
        self.cpuGovernors = cpuGovernors
        self.failedUnits = failedUnits
        self.processCount = processCount
        self.scanMilliseconds = scanMilliseconds
        self.userNames = userNames
    }
}

/// CPU shares between two scans.
public enum CPUUsage {
    /// Percent of one CPU each process of `after` used since `before`, keyed by PID. A
    /// process is compared only with the same process (PID and start time) in `before`;
    /// one that started in between is charged all its ticks.
    public static func percentages(
        before: [ScannedProcess], after: [ScannedProcess], elapsedSeconds: Double, ticksPerSecond: UInt64
    ) -> [Int32: Double] {
        guard elapsedSeconds > 0, ticksPerSecond > 0 else { return [:] }
        var earlier: [ProcessIdentity: UInt64] = [:]
        for process in before { earlier[process.identity] = process.cpuTicks }
        var result: [Int32: Double] = [:]
        for process in after {
            let start = earlier[process.identity] ?? 0
            let ticks = process.cpuTicks >= start ? process.cpuTicks - start : 0
            result[process.pid] = Double(ticks) / Double(ticksPerSecond) / elapsedSeconds * 100
        }
        return result
    }

    /// `ps`'s %CPU: CPU time over the time since the process started.
    public static func lifetimePercent(_ process: ScannedProcess, uptimeSeconds: Double, ticksPerSecond: UInt64) -> Double {
        guard ticksPerSecond > 0 else { return 0 }
        let elapsed = uptimeSeconds - Double(process.startTimeTicks) / Double(ticksPerSecond)
        guard elapsed > 0 else { return 0 }
        return Double(process.cpuTicks) / Double(ticksPerSecond) / elapsed * 100
    }
}
