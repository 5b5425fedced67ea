import Glibc
import WardenCore

/// `/proc/PID/stat` and `/proc/PID/status` of one process, with the host's clock-tick
/// rate and uptime to turn ticks into seconds.
public enum ProcessUsageReader {
    public static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    public static func read(pid: Int32, procRoot: String = "/proc") -> MainProcessUsage? {
        guard let stat = try? FileIO.readText("\(procRoot)/\(pid)/stat").get(),
            let status = try? FileIO.readText("\(procRoot)/\(pid)/status").get()
        else { return nil }
        return MainProcessUsage.parse(stat: stat, status: status)
    }

    /// Seconds since boot (`/proc/uptime`'s first field).
    public static func systemUptimeSeconds(procRoot: String = "/proc") -> Double? {
        guard let text = try? FileIO.readText("\(procRoot)/uptime").get(), let first = text.split(separator: " ").first else { return nil }
        return Double(first)
    }
}
