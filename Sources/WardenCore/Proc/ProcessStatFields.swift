/// The fields of `/proc/PID/stat` a scrape needs, parsed from bytes.
///
/// A scrape without cgroups reads one file per component, so only `stat`: CPU time,
/// threads and resident size are all there. `/proc/PID/status` (which also has the
/// peak resident size, VmHWM) costs the kernel about three times as much to produce,
/// measured here; `warden status` shows that peak.
public struct ProcessStatFields: Hashable, Sendable {
    /// utime + stime, clock ticks.
    public var cpuTicks: UInt64
    public var threads: UInt64
    /// Resident pages.
    public var residentPages: UInt64
    public var virtualBytes: UInt64
    /// Start time after boot, clock ticks.
    public var startTicks: UInt64

    public init(cpuTicks: UInt64, threads: UInt64, residentPages: UInt64, virtualBytes: UInt64, startTicks: UInt64) {
        self.cpuTicks = cpuTicks
        self.threads = threads
        self.residentPages = residentPages
        self.virtualBytes = virtualBytes
        self.startTicks = startTicks
    }

    /// Fields are counted after the *last* `)`: the command name may contain spaces and
    /// parentheses. After it, field 3 (state) is index 0: utime 14 → 11, stime 15 → 12,
    /// num_threads 20 → 17, starttime 22 → 19, vsize 23 → 20, rss 24 → 21.
    public static func parse<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> ProcessStatFields? where Bytes.Index == Int {
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
