/// A cgroup interface file whose contents did not have the kernel's format.
public struct CgroupParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Interface file, e.g. `cpu.stat`, or `/proc/PID/cgroup`.
    public var file: String
    /// The offending line, when one can be named.
    public var line: String?
    public var reason: String

    public init(file: String, line: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        if let line { return "\(file): \(reason) in line '\(line)'" }
        return "\(file): \(reason)"
    }
}

/// The parsers share one reading of the kernel's two common layouts: a single value
/// (`memory.current`) and "flat keyed" lines (`key value`, `cpu.stat`), as described in
/// the kernel's cgroup-v2 documentation ("Interface Files" → "Conventions").
public enum CgroupFileFormat {
    /// `12345\n` → 12345. `max` is not accepted here: files that may say `max` are
    /// parsed by `limit(_:file:)`.
    public static func singleValue(_ text: String, file: String) throws(CgroupParseError) -> UInt64 {
        let trimmed = text.trimmingCgroupWhitespace()
        guard let value = UInt64(trimmed) else {
            throw CgroupParseError(file: file, line: trimmed, reason: "expected one unsigned integer")
        }
        return value
    }

    /// `max\n` → nil (no limit); `1048576\n` → 1048576.
    public static func limit(_ text: String, file: String) throws(CgroupParseError) -> UInt64? {
        let trimmed = text.trimmingCgroupWhitespace()
        if trimmed == "max" { return nil }
        return try singleValue(trimmed, file: file)
    }

    /// `key value` per line → dictionary. Later duplicates win (the kernel never repeats a key).
    public static func flatKeyed(_ text: String, file: String) throws(CgroupParseError) -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 2, let value = UInt64(fields[1]) else {
                throw CgroupParseError(file: file, line: String(line), reason: "expected 'key value'")
            }
            values[String(fields[0])] = value
        }
        return values
    }

    static func required(_ key: String, in values: [String: UInt64], file: String) throws(CgroupParseError) -> UInt64 {
        guard let value = values[key] else { throw CgroupParseError(file: file, reason: "no '\(key)' line") }
        return value
    }
}

/// `cpu.stat`. The first three fields exist on every cgroup (they come from the cgroup
/// core's rstat); the throttling fields only where the `cpu` controller is enabled.
public struct CPUStat: Hashable, Sendable {
    public var usageUSec: UInt64
    public var userUSec: UInt64
    public var systemUSec: UInt64
    /// Enforcement periods that had runnable tasks (`cpu.max`); nil without the cpu controller.
    public var periods: UInt64?
    /// Periods in which the group ran out of quota.
    public var throttledPeriods: UInt64?
    public var throttledUSec: UInt64?

    public init(
        usageUSec: UInt64, userUSec: UInt64, systemUSec: UInt64, periods: UInt64? = nil,
        throttledPeriods: UInt64? = nil, throttledUSec: UInt64? = nil
    ) {
        self.usageUSec = usageUSec
        self.userUSec = userUSec
        self.systemUSec = systemUSec
        self.periods = periods
        self.throttledPeriods = throttledPeriods
        self.throttledUSec = throttledUSec
    }

    public static func parse(_ text: String) throws(CgroupParseError) -> CPUStat {
        let file = "cpu.stat"
        let values = try CgroupFileFormat.flatKeyed(text, file: file)
        return CPUStat(
            usageUSec: try CgroupFileFormat.required("usage_usec", in: values, file: file),
            userUSec: try CgroupFileFormat.required("user_usec", in: values, file: file),
            systemUSec: try CgroupFileFormat.required("system_usec", in: values, file: file),
            periods: values["nr_periods"], throttledPeriods: values["nr_throttled"],
            throttledUSec: values["throttled_usec"])
    }
}

/// `memory.stat`: the two figures a supervisor reports, plus every counter by name.
public struct MemoryStat: Hashable, Sendable {
    /// Anonymous memory (heap, stacks, tmpfs excluded).
    public var anonBytes: UInt64
    /// Page cache, including tmpfs and shared memory.
    public var fileBytes: UInt64
    /// Every `key value` line as the kernel wrote it (bytes or event counts, per key).
    public var counters: [String: UInt64]

    public init(anonBytes: UInt64, fileBytes: UInt64, counters: [String: UInt64] = [:]) {
        self.anonBytes = anonBytes
        self.fileBytes = fileBytes
        self.counters = counters
    }

    public static func parse(_ text: String) throws(CgroupParseError) -> MemoryStat {
        let file = "memory.stat"
        let values = try CgroupFileFormat.flatKeyed(text, file: file)
        return MemoryStat(
            anonBytes: try CgroupFileFormat.required("anon", in: values, file: file),
            fileBytes: try CgroupFileFormat.required("file", in: values, file: file), counters: values)
    }
}

/// `memory.events` (or `memory.events.local`): how often each memory boundary was hit.
public struct MemoryEvents: Hashable, Sendable {
    /// Reclaimed while below `memory.low` (protection was not enough).
    public var low: UInt64
    /// Throttled above `memory.high`.
    public var high: UInt64
    /// Allocation reached `memory.max`.
    public var max: UInt64
    /// The OOM killer was invoked for this group.
    public var oom: UInt64
    /// Processes the OOM killer killed in this group.
    public var oomKill: UInt64
    /// Whole-group OOM kills (`memory.oom.group`); nil before kernel 5.17.
    public var oomGroupKill: UInt64?

    public init(low: UInt64 = 0, high: UInt64 = 0, max: UInt64 = 0, oom: UInt64 = 0, oomKill: UInt64 = 0, oomGroupKill: UInt64? = nil) {
        self.low = low
        self.high = high
        self.max = max
        self.oom = oom
        self.oomKill = oomKill
        self.oomGroupKill = oomGroupKill
    }

    public static func parse(_ text: String) throws(CgroupParseError) -> MemoryEvents {
        let file = "memory.events"
        let values = try CgroupFileFormat.flatKeyed(text, file: file)
        return MemoryEvents(
            low: try CgroupFileFormat.required("low", in: values, file: file),
            high: try CgroupFileFormat.required("high", in: values, file: file),
            max: try CgroupFileFormat.required("max", in: values, file: file),
            oom: try CgroupFileFormat.required("oom", in: values, file: file),
            oomKill: try CgroupFileFormat.required("oom_kill", in: values, file: file),
            oomGroupKill: values["oom_group_kill"])
    }
}

/// One line of a PSI file: the share of wall time tasks stalled, and the total stall.
public struct PressureLine: Hashable, Sendable {
    /// Percent of the last 10 s, 60 s and 300 s (the kernel prints two decimals).
    public var avg10Percent: Double
    public var avg60Percent: Double
    public var avg300Percent: Double
    public var totalUSec: UInt64

    public init(avg10Percent: Double, avg60Percent: Double, avg300Percent: Double, totalUSec: UInt64) {
        self.avg10Percent = avg10Percent
        self.avg60Percent = avg60Percent
        self.avg300Percent = avg300Percent
        self.totalUSec = totalUSec
    }
}

/// `cpu.pressure`, `memory.pressure`, `io.pressure` (and `/proc/pressure/*`).
public struct Pressure: Hashable, Sendable {
    /// Some task stalled.
    public var some: PressureLine
    /// All non-idle tasks stalled at once; nil where the kernel omits it (`cpu` before 5.13).
    public var full: PressureLine?

    public init(some: PressureLine, full: PressureLine? = nil) {
        self.some = some
        self.full = full
    }

    /// `file` names the file in errors (`cpu.pressure`).
    public static func parse(_ text: String, file: String) throws(CgroupParseError) -> Pressure {
        var some: PressureLine?
        var full: PressureLine?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 5 else {
                throw CgroupParseError(file: file, line: String(line), reason: "expected 'some|full avg10=… avg60=… avg300=… total=…'")
            }
            var averages: [Double] = []
            var total: UInt64?
            for (index, field) in fields.dropFirst().enumerated() {
                let expectedKey = ["avg10", "avg60", "avg300", "total"][index]
                guard let equals = field.firstIndex(of: "="), field[..<equals] == expectedKey else {
                    throw CgroupParseError(file: file, line: String(line), reason: "expected '\(expectedKey)=' as field \(index + 2)")
                }
                let value = field[field.index(after: equals)...]
                if index == 3 {
                    total = UInt64(value)
                } else if let percent = Double(value), percent >= 0 {
                    averages.append(percent)
                }
            }
            guard averages.count == 3, let total else {
                throw CgroupParseError(file: file, line: String(line), reason: "a value is not a number")
            }
            let parsed = PressureLine(avg10Percent: averages[0], avg60Percent: averages[1], avg300Percent: averages[2], totalUSec: total)
            switch fields[0] {
            case "some": some = parsed
            case "full": full = parsed
            default: throw CgroupParseError(file: file, line: String(line), reason: "expected 'some' or 'full'")
            }
        }
        guard let some else { throw CgroupParseError(file: file, reason: "no 'some' line") }
        return Pressure(some: some, full: full)
    }
}

/// `cgroup.controllers` / `cgroup.subtree_control`: space-separated controller names.
public enum CgroupControllerList {
    public static func parse(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }
}

/// `cgroup.events`.
public struct CgroupEvents: Hashable, Sendable {
    /// Processes live in this group or a descendant.
    public var populated: Bool
    /// The group is frozen (`cgroup.freeze`); nil before kernel 5.2.
    public var frozen: Bool?

    public init(populated: Bool, frozen: Bool? = nil) {
        self.populated = populated
        self.frozen = frozen
    }

    public static func parse(_ text: String) throws(CgroupParseError) -> CgroupEvents {
        let file = "cgroup.events"
        let values = try CgroupFileFormat.flatKeyed(text, file: file)
        return CgroupEvents(
            populated: try CgroupFileFormat.required("populated", in: values, file: file) != 0,
            frozen: values["frozen"].map { $0 != 0 })
    }
}

/// `/proc/PID/cgroup`.
public enum ProcessCgroup {
    /// The path in the unified (v2) hierarchy: the `0::/path` line. nil when the process
    /// has none (a v1-only host). Hybrid hosts list v1 hierarchies too; they are ignored.
    public static func unifiedPath(_ text: String) -> String? {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            // hierarchy-ID:controller-list:path — the path itself may contain ':'.
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "0", parts[1].isEmpty else { continue }
            var path = String(parts[2])
            // A group removed while the process still pointed at it (a zombie's view).
            if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
            return path
        }
        return nil
    }
}

/// `cpuset.cpus.partition`: what was asked, and the kernel's verdict.
public struct CpusetPartition: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case member, root, isolated
    }

    public var kind: Kind
    /// The kernel could not make the group a partition (e.g. `root invalid`);
    /// `invalidReason` is its explanation when it gives one (kernel 6.1+).
    public var isValid: Bool
    public var invalidReason: String?

    public init(kind: Kind, isValid: Bool = true, invalidReason: String? = nil) {
        self.kind = kind
        self.isValid = isValid
        self.invalidReason = invalidReason
    }

    /// `member`, `root`, `isolated`, `root invalid`, `isolated invalid (Cpu list in cpuset.cpus not exclusive)`.
    public static func parse(_ text: String) throws(CgroupParseError) -> CpusetPartition {
        let file = "cpuset.cpus.partition"
        let trimmed = text.trimmingCgroupWhitespace()
        var rest = Substring(trimmed)
        let word = rest.prefix { $0 != " " }
        guard let kind = Kind(rawValue: String(word)) else {
            throw CgroupParseError(file: file, line: trimmed, reason: "expected member, root or isolated")
        }
        rest = rest.dropFirst(word.count).drop { $0 == " " }
        if rest.isEmpty { return CpusetPartition(kind: kind) }
        guard rest.hasPrefix("invalid") else {
            throw CgroupParseError(file: file, line: trimmed, reason: "expected 'invalid' after '\(word)'")
        }
        rest = rest.dropFirst("invalid".count).drop { $0 == " " }
        if rest.isEmpty { return CpusetPartition(kind: kind, isValid: false) }
        guard rest.first == "(", rest.last == ")" else {
            throw CgroupParseError(file: file, line: trimmed, reason: "expected '(reason)' after 'invalid'")
        }
        return CpusetPartition(kind: kind, isValid: false, invalidReason: String(rest.dropFirst().dropLast()))
    }

    public var description: String {
        var text = kind.rawValue
        if !isValid { text += " invalid" }
        if let invalidReason { text += " (\(invalidReason))" }
        return text
    }
}

extension String {
    func trimmingCgroupWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
