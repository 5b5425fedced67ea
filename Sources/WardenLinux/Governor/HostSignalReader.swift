import WardenCore

// Readers for the governor's signals: /proc/loadavg, /proc/meminfo, /proc/stat, the PSI
// files, and the cgroup files it observes before deciding. Every root is a parameter so
// tests point them at fixtures; only the executable names /proc and /sys/fs/cgroup.

/// Reads the host's signals beneath a `/proc` root.
public struct HostSignalReader: Sendable {
    public var procRoot: String

    public init(procRoot: String = "/proc") { self.procRoot = procRoot }

    /// The 1-minute load average per online CPU, in hundredths.
    public func loadPerCPUHundredths(onlineCPUs: Int) -> Result<Int, GovernorReadError> {
        let path = procRoot + "/loadavg"
        return readSignalFile(path).flatMap { text in
            guard let first = text.split(separator: " ").first, let hundredths = LoadAverage.hundredths(first) else {
                return .failure(GovernorReadError(path: path, reason: "expected a load average such as '0.52 0.58 0.59 1/267 12345', found '\(Self.firstLine(text))'"))
            }
            return .success(hundredths / max(onlineCPUs, 1))
        }
    }

    public func memoryInfo() -> Result<MemoryInfo, GovernorReadError> {
        let path = procRoot + "/meminfo"
        return readSignalFile(path).flatMap { text in
            MemoryInfo.parse(text).mapError { GovernorReadError(path: path, reason: $0.reason) }
        }
    }

    /// The aggregate `cpu` line; `busy(since:)` of two readings is the host CPU use.
    public func cpuTimes(file: String = "stat") -> Result<CPUTimes, GovernorReadError> {
        let path = procRoot + "/" + file
        return readSignalFile(path).flatMap { text in
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else {
                return .failure(GovernorReadError(path: path, reason: "no aggregate 'cpu ' line"))
            }
            let numbers = line.split(separator: " ").dropFirst().map { UInt64($0) }
            guard numbers.count >= 8, numbers.allSatisfy({ $0 != nil }) else {
                return .failure(GovernorReadError(path: path, reason: "'\(line)' does not have 8 tick counts"))
            }
            let n = numbers.map { $0! }
            return .success(
                CPUTimes(user: n[0], nice: n[1], system: n[2], idle: n[3], iowait: n[4], irq: n[5], softirq: n[6], steal: n[7]))
        }
    }

    /// `/proc/pressure/RESOURCE`.
    public func pressure(_ resource: PressureResource) -> Result<PressureReading, GovernorReadError> {
        PressureFile.read(procRoot + "/pressure/" + resource.rawValue)
    }

    static func firstLine(_ text: String) -> Substring { text.split(separator: "\n").first ?? "" }
}
