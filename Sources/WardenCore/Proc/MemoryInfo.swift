/// `/proc/meminfo`'s four lines Warden uses, in bytes: the governor's memory and swap
/// signals, `warden diagnose`, and the host's memory for relative limits.
public struct MemoryInfo: Hashable, Sendable {
    public var memTotalBytes: UInt64
    public var memAvailableBytes: UInt64
    public var swapTotalBytes: UInt64
    public var swapFreeBytes: UInt64

    public init(memTotalBytes: UInt64, memAvailableBytes: UInt64, swapTotalBytes: UInt64, swapFreeBytes: UInt64) {
        self.memTotalBytes = memTotalBytes
        self.memAvailableBytes = memAvailableBytes
        self.swapTotalBytes = swapTotalBytes
        self.swapFreeBytes = swapFreeBytes
    }

    /// `(MemTotal - MemAvailable) / MemTotal`: what the runbooks call memory used (page cache
    /// that can be dropped is available, not used).
    public var used: Percentage {
        guard memTotalBytes > 0 else { return .zero }
        let usedBytes = memTotalBytes - min(memAvailableBytes, memTotalBytes)
        return Percentage(hundredths: Int(usedBytes * 10_000 / memTotalBytes))
    }

    public var swapUsedBytes: UInt64 { swapTotalBytes - min(swapFreeBytes, swapTotalBytes) }

    static let keys: Set<Substring> = ["MemTotal", "MemAvailable", "SwapTotal", "SwapFree"]

    /// The `KEY: N kB` lines of the four keys, in bytes, by key; a failure names a line of
    /// one of them that is not so. Other lines are not looked at.
    public static func values(_ text: String) -> Result<[Substring: UInt64], MemoryInfoError> {
        var values: [Substring: UInt64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            guard keys.contains(key) else { continue }
            let words = line[line.index(after: colon)...].split(separator: " ")
            guard let number = words.first.flatMap({ UInt64($0) }), words.count == 1 || words.last == "kB" else {
                return .failure(MemoryInfoError(reason: "'\(line)' is not 'KEY: N kB'"))
            }
            values[key] = number * 1024
        }
        return .success(values)
    }

    /// The figures of `/proc/meminfo`. MemTotal and MemAvailable must be there
    /// (MemAvailable exists since Linux 3.14; nothing older runs cgroup v2 anyway); no swap
    /// lines means no swap.
    public static func parse(_ text: String) -> Result<MemoryInfo, MemoryInfoError> {
        values(text).flatMap { values in
            guard let total = values["MemTotal"], let available = values["MemAvailable"] else {
                return .failure(MemoryInfoError(reason: "no MemTotal or MemAvailable line"))
            }
            return .success(
                MemoryInfo(
                    memTotalBytes: total, memAvailableBytes: available, swapTotalBytes: values["SwapTotal"] ?? 0,
                    swapFreeBytes: values["SwapFree"] ?? 0))
        }
    }
}

/// What is wrong with a `/proc/meminfo` text.
public struct MemoryInfoError: Error, Hashable, Sendable {
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }
}
