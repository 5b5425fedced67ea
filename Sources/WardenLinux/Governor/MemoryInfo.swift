import WardenCore

/// `/proc/meminfo`'s four lines the governor uses, in bytes.
public struct MemoryInfo: Hashable, Sendable {
    public var memTotalBytes: UInt64
    public var memAvailableBytes: UInt64
    public var swapTotalBytes: UInt64
    public var swapFreeBytes: UInt64

    /// `(MemTotal - MemAvailable) / MemTotal`: what the runbooks call memory used (page cache
    /// that can be dropped is available, not used).
    public var used: Percentage {
        guard memTotalBytes > 0 else { return .zero }
        let usedBytes = memTotalBytes - min(memAvailableBytes, memTotalBytes)
        return Percentage(hundredths: Int(usedBytes * 10_000 / memTotalBytes))
    }

    public var swapUsedBytes: UInt64 { swapTotalBytes - min(swapFreeBytes, swapTotalBytes) }
}
