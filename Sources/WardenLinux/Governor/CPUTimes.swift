import WardenCore

/// The aggregate `cpu` line of `/proc/stat`, in clock ticks.
public struct CPUTimes: Hashable, Sendable {
    public var user, nice, system, idle, iowait, irq, softirq, steal: UInt64

    /// Ticks spent neither idle nor waiting for I/O. `guest` and `guest_nice` are already
    /// counted in `user` and `nice`, so they are left out.
    public var busyTicks: UInt64 { user + nice + system + irq + softirq + steal }
    public var totalTicks: UInt64 { busyTicks + idle + iowait }

    /// The busy share between `earlier` and this reading; nil when no tick passed (or the
    /// counters went backwards, as after a CPU went offline).
    public func busy(since earlier: CPUTimes) -> Percentage? {
        guard totalTicks > earlier.totalTicks, busyTicks >= earlier.busyTicks else { return nil }
        let total = totalTicks - earlier.totalTicks
        let busy = min(busyTicks - earlier.busyTicks, total)
        return Percentage(hundredths: Int(busy * 10_000 / total))
    }
}
