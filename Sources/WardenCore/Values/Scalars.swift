// Booleans and the bounded integers of systemd.exec(5) and systemd.service(5).

/// Booleans as systemd's `parse_boolean()` reads them.
public enum SystemdBoolean {
    /// `1 yes y true t on` and `0 no n false f off`, case-insensitive.
    public static func parse(_ text: String) -> Result<Bool, ValueError> {
        switch text.lowercased() {
        case "1", "yes", "y", "true", "t", "on": .success(true)
        case "0", "no", "n", "false", "f", "off": .success(false)
        default: .failure(.notA(text, "a boolean", expected: "yes or no (also true/false, on/off, 1/0)"))
        }
    }

    /// `yes` / `no`, as `systemctl show` prints booleans.
    public static func format(_ value: Bool) -> String { value ? "yes" : "no" }
}

/// The unsigned decimals of kernel files (`/proc/PID/stat`, `/proc/PID/status`), read
/// from their bytes without building a String.
public enum DecimalDigits {
    /// An unsigned decimal that is the whole of `bytes`; nil otherwise or on overflow.
    @inlinable
    public static func unsigned<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt64? {
        guard !bytes.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !o1 && !o2 else { return nil }
            value = sum
        }
        return value
    }
}

/// Shared body of the small integer parsers.
enum BoundedInteger {
    static func parse(_ text: String, _ range: ClosedRange<Int64>, what: String, expected: String) -> Result<Int64, ValueError> {
        guard let v = ValueSyntax.signed(text) else { return .failure(.notA(text, what, expected: expected)) }
        guard range.contains(v) else {
            return .failure(ValueError("'\(text)' is out of range for \(what); expected \(expected)"))
        }
        return .success(v)
    }
}

/// `Nice=`: the scheduling niceness, -20 (most favoured) to 19.
public struct Nice: Hashable, Sendable, CustomStringConvertible {
    public var value: Int32
    public init(value: Int32) { self.value = value }

    /// systemd's `parse_nice()`: an integer from -20 to 19.
    public static func parse(_ text: String) -> Result<Nice, ValueError> {
        BoundedInteger.parse(text, -20...19, what: "a nice level", expected: "an integer from -20 (highest priority) to 19 (lowest)")
            .map { Nice(value: Int32($0)) }
    }

    public var description: String { String(value) }
}

/// `OOMScoreAdjust=`: written to `/proc/PID/oom_score_adj`.
public struct OOMScoreAdjust: Hashable, Sendable, CustomStringConvertible {
    public var value: Int32
    public init(value: Int32) { self.value = value }

    /// systemd's `parse_oom_score_adjust()`: an integer from -1000 to 1000.
    public static func parse(_ text: String) -> Result<OOMScoreAdjust, ValueError> {
        BoundedInteger.parse(text, -1000...1000, what: "an OOM score adjustment",
                             expected: "an integer from -1000 (never kill) to 1000 (kill first)")
            .map { OOMScoreAdjust(value: Int32($0)) }
    }

    public var description: String { String(value) }
}

/// `CPUSchedulingPriority=`.
public struct CPUSchedulingPriority: Hashable, Sendable, CustomStringConvertible {
    public var value: Int32
    public init(value: Int32) { self.value = value }

    /// As systemd's `config_parse_exec_cpu_sched_prio()`: 0…99 (the policy may be
    /// set by a later line, so only the outer bounds are checked here; see
    /// `problem(with:)`).
    public static func parse(_ text: String) -> Result<CPUSchedulingPriority, ValueError> {
        BoundedInteger.parse(text, 0...99, what: "a CPU scheduling priority",
                             expected: "an integer from 1 to 99 for the fifo and rr policies, 0 for the others")
            .map { CPUSchedulingPriority(value: Int32($0)) }
    }

    /// Linux requires 1…99 for `fifo`/`rr` and 0 for the other policies
    /// (`sched_setscheduler` fails with EINVAL otherwise). nil when they agree.
    public func problem(with policy: SchedulingPolicy) -> ValueError? {
        switch policy {
        case .fifo, .rr:
            value >= 1 ? nil : ValueError("CPUSchedulingPriority=\(value) is invalid with CPUSchedulingPolicy=\(policy.rawValue); expected 1 to 99")
        case .other, .batch, .idle:
            value == 0 ? nil : ValueError("CPUSchedulingPriority=\(value) has no effect with CPUSchedulingPolicy=\(policy.rawValue) (Linux requires 0); expected 0, or the fifo or rr policy")
        }
    }

    public var description: String { String(value) }
}

/// Non-negative counts read with systemd's `config_parse_unsigned()` (a C
/// `unsigned`): `RestartSteps=`, `StartLimitBurst=`.
public enum UnsignedCount {
    /// 0 … 4294967295.
    public static func parse(_ text: String, key: String) -> Result<UInt32, ValueError> {
        guard let v = ValueSyntax.unsigned(text) else {
            return .failure(.notA(text, "a valid \(key)= value", expected: "a whole number from 0 to 4294967295"))
        }
        guard v <= UInt64(UInt32.max) else {
            return .failure(ValueError("'\(text)' is out of range for \(key)=; expected a whole number from 0 to 4294967295"))
        }
        return .success(UInt32(v))
    }
}

/// `RestartSteps=`: the number of steps from `RestartSec=` up to `RestartMaxDelaySec=`.
public enum RestartSteps {
    /// 0 (off) or a positive number of steps.
    public static func parse(_ text: String) -> Result<UInt32, ValueError> { UnsignedCount.parse(text, key: "RestartSteps") }
}

/// `StartLimitBurst=`: starts allowed within `StartLimitIntervalSec=`.
public enum StartLimitBurst {
    public static func parse(_ text: String) -> Result<UInt32, ValueError> { UnsignedCount.parse(text, key: "StartLimitBurst") }
}

/// `UMask=`: the file mode creation mask.
public struct UMask: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt32
    public init(value: UInt32) { self.value = value }

    /// Parses as systemd's `parse_mode()`: octal digits, at most `07777` (only the
    /// low nine bits matter to `umask(2)`).
    public static func parse(_ text: String) -> Result<UMask, ValueError> {
        guard let v = ValueSyntax.octal(text) else {
            return .failure(.notA(text, "a umask", expected: "an octal mode such as 0022 or 0027"))
        }
        guard v <= 0o7777 else {
            return .failure(ValueError("'\(text)' is out of range for a umask; expected an octal mode from 0000 to 07777, such as 0022"))
        }
        return .success(UMask(value: UInt32(v)))
    }

    /// Four octal digits, `0027`, as `systemctl show` prints it.
    public var description: String {
        var s = String(value, radix: 8)
        while s.count < 4 { s = "0" + s }
        return s
    }
}
