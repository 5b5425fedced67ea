// CPUQuota=, CPUQuotaPeriodSec=, CPUWeight=, IOWeight= and CPU/NUMA-node sets
// (systemd.resource-control(5), systemd.exec(5)).

/// `CPUQuota=` (and Warden's `[X-Warden] EmergencyCPUQuota=`): CPU time allowed per
/// second of wall-clock time, as systemd's `cpu_quota_per_sec_usec`.
public struct CPUQuota: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// CPU time per second of wall-clock time; 1_000_000 is one whole CPU.
    public var perSecondUSec: UInt64

    public init(perSecondUSec: UInt64) { self.perSecondUSec = perSecondUSec }

    /// The kernel's `cpu.max` period when `CPUQuotaPeriodSec=` is not set (100ms).
    public static let defaultPeriodUSec: UInt64 = 100_000
    /// What systemd writes to `cpu.max` when there is no quota.
    public static let unlimitedCPUMaxValue = "max 100000"

    static let expectation = "a percentage such as 150% (100% = one CPU)"

    /// Parses as systemd's `config_parse_cpu_quota()`: a percentage above 0 with up
    /// to two decimals (`150%`, `12.5%`, `0.01%`; `‰`/`‱` also work), may exceed
    /// 100% for several CPUs. The value must end in `%`: a bare `150` is an error.
    /// Empty resets to "no quota" and gives nil.
    public static func parse(_ text: String) -> Result<CPUQuota?, ValueError> {
        if text.isEmpty { return .success(nil) }
        switch Permyriad.parseUnbounded(text) {
        case .value(let v) where v > 0:
            return .success(CPUQuota(perSecondUSec: v * 1_000_000 / 10_000))
        case .value:
            return .failure(ValueError("'\(text)' is not a CPU quota: it must be above 0%; expected \(expectation), or an empty value for no quota"))
        case .invalid, .notAPercentage:
            return .failure(.notA(text, "a CPU quota", expected: expectation))
        }
    }

    /// The `cpu.max` period systemd uses for this quota: the requested period (nil =
    /// the 100ms default) clamped to [1ms, 1s] and raised so that the quota per
    /// period is at least 1ms (`cgroup_cpu_adjust_period()`).
    public func adjustedPeriodUSec(requested: UInt64?) -> UInt64 {
        let period = requested ?? Self.defaultPeriodUSec
        let resolution: UInt64 = 1_000
        let minimumForQuota = perSecondUSec > 0 ? resolution * 1_000_000 / perSecondUSec : 1_000_000
        return min(max(period, resolution, minimumForQuota), 1_000_000)
    }

    /// The two numbers of `cpu.max` exactly as systemd computes them
    /// (`cgroup_apply_unified_cpu_quota()`): period adjusted as
    /// `adjustedPeriodUSec`, quota = per-second quota × period / 1s, at least 1ms.
    public func cpuMax(periodUSec: UInt64? = nil) -> (quotaUSec: UInt64, periodUSec: UInt64) {
        let period = adjustedPeriodUSec(requested: periodUSec)
        let (product, overflow) = perSecondUSec.multipliedReportingOverflow(by: period)
        let quota = overflow ? UInt64.max / 1_000_000 : product / 1_000_000
        return (max(quota, 1_000), period)
    }

    /// The text for the `cpu.max` file: `"150000 100000"`.
    public func cpuMaxValue(periodUSec: UInt64? = nil) -> String {
        let v = cpuMax(periodUSec: periodUSec)
        return "\(v.quotaUSec) \(v.periodUSec)"
    }

    /// `150%`, `12.5%`.
    public var description: String { Permyriad.format(perSecondUSec / 100) }

    public static func < (a: CPUQuota, b: CPUQuota) -> Bool { a.perSecondUSec < b.perSecondUSec }
}

/// `CPUQuotaPeriodSec=`.
public enum CPUQuotaPeriod {
    /// Parses as systemd's `config_parse_sec_def_infinity()`: a time span; empty or
    /// `infinity` mean "the default (100ms)" and give nil. Out-of-range values are
    /// not errors: like systemd, `CPUQuota.cpuMax(periodUSec:)` clamps them to
    /// [1ms, 1s]; `clampingNote` words the warning systemd logs.
    public static func parse(_ text: String) -> Result<TimeSpan?, ValueError> {
        if ValueSyntax.trimmed(text).isEmpty { return .success(nil) }
        switch TimeSpan.parse(text) {
        case .success(let t): return .success(t.isInfinite ? nil : t)
        case .failure:
            return .failure(.notA(text, "a CPU quota period", expected: "a time span such as 100ms or 1s (the kernel allows 1ms to 1s)"))
        }
    }

    /// A warning when `period` will be clamped for `quota`, nil when used as is.
    public static func clampingNote(period: TimeSpan, quota: CPUQuota) -> String? {
        let adjusted = quota.adjustedPeriodUSec(requested: period.usec)
        guard adjusted != period.usec else { return nil }
        return "CPUQuotaPeriodSec=\(period.systemdString()) is clamped to \(TimeSpan(usec: adjusted).systemdString()) "
            + "(the kernel needs a period of 1ms to 1s and a quota of at least 1ms per period)"
    }
}

/// `CPUWeight=`: a weight for `cpu.weight`, or `idle` (`cpu.idle = 1`, systemd 252+).
public enum CPUWeight: Hashable, Sendable, CustomStringConvertible {
    case weight(UInt64)
    case idle

    public static let defaultWeight: UInt64 = 100

    /// Parses as systemd's `cg_cpu_weight_parse()`: `idle` or 1…10000. Empty resets
    /// (the default, 100) and gives nil.
    public static func parse(_ text: String) -> Result<CPUWeight?, ValueError> {
        if text.isEmpty { return .success(nil) }
        if text == "idle" { return .success(.idle) }
        guard let v = ValueSyntax.unsigned(text), (1...10_000).contains(v) else {
            return .failure(.notA(text, "a CPU weight", expected: "a number from 1 to 10000 (default 100) or idle"))
        }
        return .success(.weight(v))
    }

    public var description: String {
        switch self {
        case .weight(let w): String(w)
        case .idle: "idle"
        }
    }
}

/// `IOWeight=`: a weight for `io.weight`.
public struct IOWeight: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64

    public init(value: UInt64) { self.value = value }

    public static let defaultWeight: UInt64 = 100

    /// Parses as systemd's `cg_weight_parse()`: 1…10000. Empty resets (the default,
    /// 100) and gives nil.
    public static func parse(_ text: String) -> Result<IOWeight?, ValueError> {
        if text.isEmpty { return .success(nil) }
        guard let v = ValueSyntax.unsigned(text), (1...10_000).contains(v) else {
            return .failure(.notA(text, "an IO weight", expected: "a number from 1 to 10000 (default 100)"))
        }
        return .success(IOWeight(value: v))
    }

    public var description: String { String(value) }
}

/// A set of CPU (or NUMA node) indices: `AllowedCPUs=`, `AllowedMemoryNodes=`,
/// `CPUAffinity=`, and the kernel's `cpuset.cpus.effective`.
public struct CPUSet: Hashable, Sendable, CustomStringConvertible {
    /// The indices, ascending, without duplicates.
    public private(set) var indices: [Int]

    /// systemd's `CPU_SET_MAX_NCPU`: the largest `CONFIG_NR_CPUS` the kernel allows.
    public static let maximumCount = 8192

    public init<S: Sequence>(_ indices: S) where S.Element == Int {
        self.indices = Array(Set(indices)).sorted()
    }

    public static let empty = CPUSet([Int]())

    static let expectation =
        "CPU indices and ranges separated by commas or spaces, such as 0-3,6 (indices below 8192)"

    /// Parses as systemd's `parse_cpu_set()`: words separated by commas and/or
    /// whitespace, each an index `N` or a range `N-M`. Empty gives the empty set
    /// (for a unit key: reset). Unlike systemd, which ignores a reversed range
    /// (`3-0`) with a warning, this reports it as an error. Also reads the
    /// kernel's list format (`0-1,4`).
    public static func parse(_ text: String) -> Result<CPUSet, ValueError> {
        var result = Set<Int>()
        let words = ValueSyntax.words(text) { ValueSyntax.isWhitespace($0) || $0 == UInt8(ascii: ",") }
        for word in words {
            let parts = word.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let lower = ValueSyntax.unsigned(parts[0]),
                let upper = parts.count == 2 ? ValueSyntax.unsigned(parts[1]) : lower
            else {
                return .failure(ValueError("'\(text)' is not a CPU set: '\(word)' is not an index or a range; expected \(expectation)"))
            }
            if lower > upper {
                return .failure(ValueError("'\(text)' is not a CPU set: the range '\(word)' is reversed; expected \(expectation)"))
            }
            if upper >= UInt64(maximumCount) {
                return .failure(ValueError("'\(text)' is not a CPU set: '\(word)' is beyond the 8192 CPUs Linux supports; expected \(expectation)"))
            }
            for i in Int(lower)...Int(upper) { result.insert(i) }
        }
        return .success(CPUSet(result))
    }

    public var isEmpty: Bool { indices.isEmpty }
    public var count: Int { indices.count }
    public func contains(_ index: Int) -> Bool { indices.contains(index) }
    public func isSubset(of other: CPUSet) -> Bool { Set(indices).isSubset(of: Set(other.indices)) }
    /// systemd merges repeated assignments of these keys: the union.
    public func union(_ other: CPUSet) -> CPUSet { CPUSet(indices + other.indices) }
    public func intersection(_ other: CPUSet) -> CPUSet { CPUSet(Set(indices).intersection(other.indices)) }

    /// The kernel's cpuset list format, `0-3,6` (empty string for the empty set),
    /// as `cpuset.cpus` prints and accepts it.
    public var description: String {
        var parts: [String] = []
        var i = 0
        while i < indices.count {
            var j = i
            while j + 1 < indices.count, indices[j + 1] == indices[j] + 1 { j += 1 }
            parts.append(i == j ? "\(indices[i])" : "\(indices[i])-\(indices[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
