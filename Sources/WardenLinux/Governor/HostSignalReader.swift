import Glibc
import WardenCore

// Readers for the governor's signals: /proc/loadavg, /proc/meminfo, /proc/stat, the PSI
// files, and the cgroup files it observes before deciding. Every root is a parameter so
// tests point them at fixtures; only the executable names /proc and /sys/fs/cgroup.

/// A signal file that could not be read or understood: the file, what was wrong, the errno.
public struct GovernorReadError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    /// The errno when the read itself failed; nil for a file in an unexpected format.
    public var errno: Int32?

    public init(path: String, reason: String, errno: Int32? = nil) {
        self.path = path
        self.reason = reason
        self.errno = errno
    }

    public var description: String { "reading \(path): \(reason)" }
}

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

/// Reads the host's signals beneath a `/proc` root.
public struct HostSignalReader: Sendable {
    public var procRoot: String

    public init(procRoot: String = "/proc") { self.procRoot = procRoot }

    /// The 1-minute load average per online CPU, in hundredths.
    public func loadPerCPUHundredths(onlineCPUs: Int) -> Result<Int, GovernorReadError> {
        let path = procRoot + "/loadavg"
        return readSignalFile(path).flatMap { text in
            guard let first = text.split(separator: " ").first, let hundredths = Self.hundredths(first) else {
                return .failure(GovernorReadError(path: path, reason: "expected a load average such as '0.52 0.58 0.59 1/267 12345', found '\(Self.firstLine(text))'"))
            }
            return .success(hundredths / max(onlineCPUs, 1))
        }
    }

    public func memoryInfo() -> Result<MemoryInfo, GovernorReadError> {
        let path = procRoot + "/meminfo"
        return readSignalFile(path).flatMap { text in
            var values: [Substring: UInt64] = [:]
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = line[..<colon]
                guard ["MemTotal", "MemAvailable", "SwapTotal", "SwapFree"].contains(key) else { continue }
                let words = line[line.index(after: colon)...].split(separator: " ")
                guard let number = words.first.flatMap({ UInt64($0) }), words.count == 1 || words.last == "kB" else {
                    return .failure(GovernorReadError(path: path, reason: "'\(line)' is not 'KEY: N kB'"))
                }
                values[key] = number * 1024
            }
            // MemAvailable exists since Linux 3.14; nothing older runs cgroup v2 anyway.
            guard let total = values["MemTotal"], let available = values["MemAvailable"] else {
                return .failure(GovernorReadError(path: path, reason: "no MemTotal or MemAvailable line"))
            }
            return .success(
                MemoryInfo(
                    memTotalBytes: total, memAvailableBytes: available, swapTotalBytes: values["SwapTotal"] ?? 0,
                    swapFreeBytes: values["SwapFree"] ?? 0))
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

    static func hundredths(_ text: Substring) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int(parts[0]), whole >= 0 else { return nil }
        guard parts.count == 2 else { return whole * 100 }
        let digits = parts[1]
        guard (1...2).contains(digits.count), digits.allSatisfy(\.isNumber), let fraction = Int(digits) else { return nil }
        return whole * 100 + (digits.count == 1 ? fraction * 10 : fraction)
    }

    static func firstLine(_ text: String) -> Substring { text.split(separator: "\n").first ?? "" }
}

/// The PSI file format: `some avg10=1.23 avg60=… avg300=… total=…` and, except for the
/// host-wide `cpu` file before Linux 5.13, a `full` line.
public enum PressureFile {
    public static func read(_ path: String) -> Result<PressureReading, GovernorReadError> {
        readSignalFile(path).flatMap { parse($0, path: path) }
    }

    /// The kernel's PSI text, through the one PSI parser (`Pressure`); the averages
    /// are kept in hundredths of a percent, the kernel's own precision.
    public static func parse(_ text: String, path: String) -> Result<PressureReading, GovernorReadError> {
        let pressure: Pressure
        do {
            pressure = try Pressure.parse(text, file: path)
        } catch {
            let line = error.line.map { "'\($0)': " } ?? ""
            return .failure(GovernorReadError(path: path, reason: line + error.reason))
        }
        func percentage(_ value: Double) -> Percentage { Percentage(hundredths: Int((value * 100).rounded())) }
        return .success(
            PressureReading(
                someAvg10: percentage(pressure.some.avg10Percent), fullAvg10: pressure.full.map { percentage($0.avg10Percent) },
                someTotalUSec: pressure.some.totalUSec))
    }
}

/// Reads what the governor needs from Warden's cgroups: the protected group's pressure,
/// and the current values of the files it may write (read-only; writing is the cgroup
/// manager's).
public struct GovernorCgroupReader: Sendable {
    /// Warden's cgroup root (its delegated subtree).
    public var cgroupRoot: String

    public init(cgroupRoot: String) { self.cgroupRoot = cgroupRoot }

    /// `PATH/RESOURCE.pressure` of a group below the root.
    public func pressure(_ resource: PressureResource, ofGroup path: String) -> Result<PressureReading, GovernorReadError> {
        PressureFile.read(groupDirectory(path) + "/" + resource.rawValue + ".pressure")
    }

    /// Fills `current` (every `GovernorTarget.observedFiles` that can be read) and
    /// `memoryCurrentBytes` of the group targets; systemd slices are left to the D-Bus client.
    /// A file that cannot be read stays out of `current`, which makes the governor leave it
    /// alone (it could not restore it exactly) or, at restore, treat it as gone.
    public func observe(_ targets: [GovernorTarget]) -> [GovernorTarget] {
        targets.map { target in
            guard target.kind == .group else { return target }
            var observed = target
            observed.current = [:]
            let directory = groupDirectory(target.path)
            for file in GovernorTarget.observedFiles {
                if case .success(let text) = readSignalFile(directory + "/" + file) { observed.current[file] = text }
            }
            if case .success(let text) = readSignalFile(directory + "/memory.current"),
                let bytes = UInt64(text.filter { $0 != "\n" })
            {
                observed.memoryCurrentBytes = bytes
            } else {
                observed.memoryCurrentBytes = nil
            }
            return observed
        }
    }

    func groupDirectory(_ path: String) -> String { path.isEmpty ? cgroupRoot : cgroupRoot + "/" + path }
}

/// A whole small file (kernel interface files are below a page, /proc/meminfo a few KiB).
func readSignalFile(_ path: String) -> Result<String, GovernorReadError> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        let code = errno
        return .failure(GovernorReadError(path: path, reason: errnoDescription(code), errno: code))
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 8192)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            let code = errno
            if code == EINTR { continue }
            return .failure(GovernorReadError(path: path, reason: errnoDescription(code), errno: code))
        }
        if n == 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
    }
    return .success(String(decoding: bytes, as: UTF8.self))
}
