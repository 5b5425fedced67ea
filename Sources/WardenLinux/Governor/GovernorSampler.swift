import Glibc
import WardenCore

/// Takes one `GovernorSample`: the protected group's pressure (or the host's when nothing is
/// critical), the host's load, memory, swap and CPU use, and the CPU the throttle targets
/// used (`ThrottleTargetsUsage`). Keeps the previous `/proc/stat` and `cpu.stat` readings,
/// since CPU use is a difference. A signal that cannot be read is left nil in the
/// sample and its error returned, so one broken file never blinds the governor to the rest.
public struct GovernorSampler: Sendable {
    public var host: HostSignalReader
    public var cgroups: GovernorCgroupReader?
    /// The protected group's path below the cgroup root; nil to judge the host's pressure.
    public var protectedGroup: String?
    /// Without a subtree of its own: the directory of the cgroup Warden and its components
    /// run in, when its PSI files can be read (a container's root group under a private
    /// cgroup namespace, a systemd service without `Delegate=`). Its pressure is the
    /// stack's; `/proc/pressure` in a container is the host's, every other container's
    /// stalls included.
    public var ownGroupDirectory: String?
    public var onlineCPUs: Int
    /// CPU use is judged over at most this long. An older baseline would spread the last
    /// window's overload over the quiet time before it: a trigger after minutes of calm
    /// would read a few per cent busy and the critical tier would wait for the next
    /// sample. `GovernorThresholds.longestCPUUseSpan`; the driver sets it before each
    /// sample, so a reload's new window applies.
    public var longestCPUUseSpan: TimeSpan
    private var previousCPUTimes: CPUTimes?
    private var previousCPUTimesAt: MonotonicInstant?
    /// When the sample after a fresh baseline can judge CPU use; nil when no baseline is
    /// waiting for its first reading. The runtime samples then, so an overload that a
    /// trigger reports after a calm spell is judged on CPU use a moment later instead of a
    /// whole `SampleIntervalSec=` later.
    public private(set) var cpuUseReadableAt: MonotonicInstant?
    /// When a fresh reading of the throttle targets' CPU use can first be judged.
    public var targetsUsageReadableAt: MonotonicInstant? { targetsUsage.readableAt }
    /// Set when a host PSI file woke the governor: the next sample treats CPU use as a
    /// triggered one does (fresh window, follow-up), without counting as a fired trigger.
    public var freshCPUWindowRequested = false
    /// What the critical tier would throttle (`Governor.throttleTargets`), whose CPU use
    /// says whether an overload has a contender; the driver sets it before each sample.
    /// Group targets are read below `cgroups`' root (skipped without one: they cannot be
    /// throttled either), systemd slices below `systemdCgroupRoot`.
    public var throttleTargets: [GovernorTarget] = []
    /// Where the hierarchy holding the systemd slices of `ThrottleSlices=` is mounted.
    public var systemdCgroupRoot = "/sys/fs/cgroup"
    private var targetsUsage = ThrottleTargetsUsage()
    /// 25 ticks (250 ms at USER_HZ 100) per CPU: the shortest window CPU use is judged on.
    public static let minimumTicksPerCPU: UInt64 = 25
    /// The wall time `minimumTicksPerCPU` ticks take, plus one tick for the one a
    /// reading may be short: when a fresh baseline can first give a reading.
    public static let shortestCPUUseSpan = TimeSpan(usec: (minimumTicksPerCPU + 1) * 1_000_000 / clockTicksPerSecond)
    /// USER_HZ, the unit of /proc/stat.
    static let clockTicksPerSecond = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))

    public init(
        host: HostSignalReader, cgroups: GovernorCgroupReader?, protectedGroup: String?, onlineCPUs: Int,
        longestCPUUseSpan: TimeSpan = GovernorThresholds(GovernorSettings()).longestCPUUseSpan
    ) {
        self.host = host
        self.cgroups = cgroups
        self.protectedGroup = protectedGroup
        self.onlineCPUs = onlineCPUs
        self.longestCPUUseSpan = longestCPUUseSpan
    }

    /// The file to register a PSI trigger on for `resource`: the protected group's, else the host's.
    public func pressurePath(_ resource: PressureResource) -> String {
        if let cgroups, let protectedGroup {
            return cgroups.groupDirectory(protectedGroup) + "/" + resource.rawValue + ".pressure"
        }
        if cgroups == nil, let ownGroupDirectory { return ownGroupDirectory + "/" + resource.rawValue + ".pressure" }
        return host.procRoot + "/pressure/" + resource.rawValue
    }

    public mutating func sample(at now: MonotonicInstant, firedTriggers: [FiredTrigger] = []) -> (GovernorSample, [GovernorReadError]) {
        var errors: [GovernorReadError] = []
        func take<T>(_ result: Result<T, GovernorReadError>) -> T? {
            switch result {
            case .success(let value): return value
            case .failure(let error):
                errors.append(error)
                return nil
            }
        }
        func pressure(_ resource: PressureResource) -> PressureReading? {
            take(PressureFile.read(pressurePath(resource)))
        }
        var sample = GovernorSample(at: now, firedTriggers: firedTriggers)
        sample.protectedCPU = pressure(.cpu)
        sample.protectedMemory = pressure(.memory)
        sample.protectedIO = pressure(.io)
        sample.loadPerCPUHundredths = take(host.loadPerCPUHundredths(onlineCPUs: onlineCPUs))
        if let memory = take(host.memoryInfo()) {
            sample.memoryUsed = memory.used
            sample.swapUsedBytes = memory.swapUsedBytes
        }
        if let times = take(host.cpuTimes()) {
            sample.cpuBusy = judgeCPUUse(times, at: now, triggered: !firedTriggers.isEmpty || freshCPUWindowRequested)
            freshCPUWindowRequested = false
        }
        if let usage = judgeTargetsUsage(at: now) { sample.targetsCPUUsage = take(usage) }
        return (sample, errors)
    }

    /// The cgroup directories of `throttleTargets`.
    public var throttleTargetGroups: [ThrottleTargetsUsage.Group] {
        throttleTargets.compactMap { target in
            switch target.kind {
            case .group:
                guard let cgroups else { return nil }
                return ThrottleTargetsUsage.Group(directory: cgroups.groupDirectory(target.path), hierarchyRoot: cgroups.cgroupRoot)
            case .systemdSlice:
                // systemd nests a slice in its parents by name: `a-b.slice` is `a.slice/a-b.slice`.
                var chain: [String] = []
                var current: String? = target.name
                while let slice = current, slice != "-.slice" {
                    chain.insert(slice, at: 0)
                    current = SliceConfig.parent(of: slice)
                }
                return ThrottleTargetsUsage.Group(
                    directory: ([systemdCgroupRoot] + chain).joined(separator: "/"), hierarchyRoot: systemdCgroupRoot)
            }
        }
    }

    private mutating func judgeTargetsUsage(at now: MonotonicInstant) -> Result<TargetsCPUUsage, GovernorReadError>? {
        let (usage, errors) = targetsUsage.judge(throttleTargetGroups, at: now, longestSpan: longestCPUUseSpan)
        if let error = errors.first { return .failure(error) }
        return usage.map { .success($0) }
    }

    /// CPU use since the baseline, which moves to `times` when it gives a reading. /proc/stat
    /// counts in ticks (10 ms): over a window of a few, one busy tick reads as 100 % (a
    /// trigger firing just after a sample, Warden's own start-up), so a window shorter than
    /// `minimumTicksPerCPU` on every CPU gives no reading and keeps the baseline. A baseline
    /// older than `longestCPUUseSpan` gives none either and is replaced.
    ///
    /// A sample a trigger caused also starts a fresh baseline and asks for a follow-up
    /// (`cpuUseReadableAt`): its own reading spans time before the pressure began, which
    /// dilutes an overload that has just started; the follow-up judges the moments since the
    /// trigger alone. The kernel fires a trigger at most once per window, so this is at most
    /// one more sample per window while pressure lasts.
    private mutating func judgeCPUUse(_ times: CPUTimes, at now: MonotonicInstant, triggered: Bool) -> Percentage? {
        func rebaseline() {
            previousCPUTimes = times
            previousCPUTimesAt = now
            cpuUseReadableAt = now.advanced(by: Self.shortestCPUUseSpan)
        }
        guard let previous = previousCPUTimes, let previousAt = previousCPUTimesAt, now.since(previousAt) <= longestCPUUseSpan
        else {
            // A follow-up that found no reading within the whole span stops here (ticks that
            // do not advance); anything else may look again.
            let gaveUp = !triggered && cpuUseReadableAt != nil
            rebaseline()
            if gaveUp { cpuUseReadableAt = nil }
            return nil
        }
        let cpus = UInt64(max(1, onlineCPUs))
        let needed = Self.minimumTicksPerCPU * cpus
        let elapsed = times.totalTicks >= previous.totalTicks ? times.totalTicks - previous.totalTicks : 0
        let reading = elapsed >= needed ? times.busy(since: previous) : nil
        if triggered {
            rebaseline()
        } else if elapsed >= needed {
            cpuUseReadableAt = nil
            previousCPUTimes = times
            previousCPUTimesAt = now
        } else if cpuUseReadableAt != nil {
            // The follow-up came a few ticks short (an idle CPU's ticks are accounted late,
            // an emulated guest's clock jitters): look again once the missing ticks are due.
            let missingPerCPU = (needed - elapsed + cpus - 1) / cpus + 1
            cpuUseReadableAt = now.advanced(by: TimeSpan(usec: missingPerCPU * 1_000_000 / Self.clockTicksPerSecond))
        }
        return reading
    }
}
