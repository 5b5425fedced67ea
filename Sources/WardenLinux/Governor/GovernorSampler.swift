import Glibc
import WardenCore

/// Takes one `GovernorSample`: the protected group's pressure (or the host's when nothing is
/// critical) and the host's load, memory, swap and CPU use. Keeps the previous `/proc/stat`
/// reading, since CPU use is a difference. A signal that cannot be read is left nil in the
/// sample and its error returned, so one broken file never blinds the governor to the rest.
public struct GovernorSampler: Sendable {
    public var host: HostSignalReader
    public var cgroups: GovernorCgroupReader?
    /// The protected group's path below the cgroup root; nil to judge the host's pressure.
    public var protectedGroup: String?
    public var onlineCPUs: Int
    private var previousCPUTimes: CPUTimes?
    /// 25 ticks (250 ms at USER_HZ 100) per CPU: the shortest window CPU use is judged on.
    public static let minimumTicksPerCPU: UInt64 = 25

    public init(host: HostSignalReader, cgroups: GovernorCgroupReader?, protectedGroup: String?, onlineCPUs: Int) {
        self.host = host
        self.cgroups = cgroups
        self.protectedGroup = protectedGroup
        self.onlineCPUs = onlineCPUs
    }

    /// The file to register a PSI trigger on for `resource`: the protected group's, else the host's.
    public func pressurePath(_ resource: PressureResource) -> String {
        if let cgroups, let protectedGroup {
            return cgroups.groupDirectory(protectedGroup) + "/" + resource.rawValue + ".pressure"
        }
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
            // /proc/stat counts in ticks (10 ms): over a window of a few ticks, one busy
            // tick reads as 100 % (a trigger firing just after a sample, Warden's own
            // start-up). A window shorter than `minimumTicksPerCPU` on every CPU gives no
            // reading and keeps the older baseline, so the next sample spans more.
            if let previous = previousCPUTimes {
                if times.totalTicks >= previous.totalTicks + Self.minimumTicksPerCPU * UInt64(max(1, onlineCPUs)) {
                    sample.cpuBusy = times.busy(since: previous)
                    previousCPUTimes = times
                }
            } else {
                previousCPUTimes = times
            }
        }
        return (sample, errors)
    }
}
