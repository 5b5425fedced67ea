// LimitCPU= … LimitRTTIME= (systemd.exec(5), "Process Properties"): `rlimit_parse()`.

/// The `Limit*=` keys and the Linux resources they set.
public enum ResourceLimitKind: String, CaseIterable, Hashable, Sendable {
    case cpu = "LimitCPU"
    case fileSize = "LimitFSIZE"
    case data = "LimitDATA"
    case stack = "LimitSTACK"
    case core = "LimitCORE"
    case residentSet = "LimitRSS"
    case openFiles = "LimitNOFILE"
    case addressSpace = "LimitAS"
    case processes = "LimitNPROC"
    case lockedMemory = "LimitMEMLOCK"
    case fileLocks = "LimitLOCKS"
    case pendingSignals = "LimitSIGPENDING"
    case messageQueue = "LimitMSGQUEUE"
    case nice = "LimitNICE"
    case realtimePriority = "LimitRTPRIO"
    case realtimeTime = "LimitRTTIME"

    /// The `RLIMIT_*` number on Linux (x86_64 and the generic ABI).
    public var linuxResource: Int32 {
        switch self {
        case .cpu: 0
        case .fileSize: 1
        case .data: 2
        case .stack: 3
        case .core: 4
        case .residentSet: 5
        case .processes: 6
        case .openFiles: 7
        case .lockedMemory: 8
        case .addressSpace: 9
        case .fileLocks: 10
        case .pendingSignals: 11
        case .messageQueue: 12
        case .nice: 13
        case .realtimePriority: 14
        case .realtimeTime: 15
        }
    }

    /// How the value is written, per systemd's `rlimit_parse_table`.
    public enum Syntax: Hashable, Sendable {
        /// A byte size with K/M/G… suffixes.
        case bytes
        /// A plain count.
        case count
        /// A time span, default unit seconds, stored as whole seconds rounded up.
        case seconds
        /// A time span, default unit microseconds, stored in microseconds.
        case microseconds
        /// `+N`/`-N` as a nice level, or a raw 0…40 kernel value.
        case nice
    }

    public var syntax: Syntax {
        switch self {
        case .cpu: .seconds
        case .realtimeTime: .microseconds
        case .nice: .nice
        case .fileSize, .data, .stack, .core, .residentSet, .addressSpace, .lockedMemory, .messageQueue: .bytes
        case .openFiles, .processes, .fileLocks, .pendingSignals, .realtimePriority: .count
        }
    }

    var expectation: String {
        let one: String
        switch syntax {
        case .bytes: one = "a size such as 8M or 1G"
        case .count: one = "a number such as 4096"
        case .seconds: one = "a time span such as 30 (seconds) or 2min"
        case .microseconds: one = "a time span such as 500000 (microseconds) or 500ms"
        case .nice: one = "a nice level from -20 to 19 written with its sign (+0, -5) or a raw value from 0 to 40"
        }
        return syntax == .nice ? "\(one); optionally SOFT:HARD" : "\(one), or infinity; optionally SOFT:HARD"
    }
}

/// One `Limit*=` value: soft and hard limit, nil meaning `RLIM_INFINITY`.
public struct ResourceLimit: Hashable, Sendable, CustomStringConvertible {
    public var soft: UInt64?
    public var hard: UInt64?

    public init(soft: UInt64?, hard: UInt64?) {
        self.soft = soft
        self.hard = hard
    }

    /// Parses as systemd's `rlimit_parse()`: `VALUE` (soft = hard) or `SOFT:HARD`,
    /// each `infinity` or in the key's syntax (`ResourceLimitKind.syntax`). The soft
    /// limit may not exceed the hard one.
    public static func parse(_ text: String, kind: ResourceLimitKind) -> Result<ResourceLimit, ValueError> {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts.contains(where: \.isEmpty) else {
            return .failure(.notA(text, "a valid \(kind.rawValue)= value", expected: kind.expectation))
        }
        let soft: UInt64?
        switch parseOne(String(parts[0]), kind: kind, whole: text) {
        case .failure(let e): return .failure(e)
        case .success(let v): soft = v
        }
        guard parts.count == 2 else { return .success(ResourceLimit(soft: soft, hard: soft)) }
        let hard: UInt64?
        switch parseOne(String(parts[1]), kind: kind, whole: text) {
        case .failure(let e): return .failure(e)
        case .success(let v): hard = v
        }
        if let hard, soft ?? .max > hard {
            return .failure(ValueError("'\(text)' is not a valid \(kind.rawValue)= value: the soft limit is above the hard limit; expected SOFT:HARD with SOFT <= HARD"))
        }
        return .success(ResourceLimit(soft: soft, hard: hard))
    }

    /// One side of the pair. nil = infinity.
    static func parseOne(_ text: String, kind: ResourceLimitKind, whole: String) -> Result<UInt64?, ValueError> {
        func bad() -> Result<UInt64?, ValueError> {
            let which = whole == text ? "" : ": '\(text)' is not a limit"
            return .failure(ValueError("'\(whole)' is not a valid \(kind.rawValue)= value\(which); expected \(kind.expectation)"))
        }
        func outOfRange() -> Result<UInt64?, ValueError> {
            .failure(ValueError("'\(whole)' is out of range for \(kind.rawValue)=; expected \(kind.expectation)"))
        }
        // rlimit_parse_nice() has no "infinity": RLIMIT_NICE is bounded by 40.
        if text == "infinity" && kind.syntax != .nice { return .success(nil) }
        switch kind.syntax {
        case .bytes:
            guard case .success(let v) = ByteSize.parse(text) else { return bad() }
            return v == .max ? outOfRange() : .success(v)
        case .count:
            guard let v = ValueSyntax.unsigned(text) else { return bad() }
            return v == .max ? outOfRange() : .success(v)
        case .seconds:
            guard case .success(let t) = TimeSpan.parse(text) else { return bad() }
            if t.isInfinite { return .success(nil) }
            // Whole seconds, rounded up, as rlimit_parse_sec() does.
            return .success(t.usec / 1_000_000 + (t.usec % 1_000_000 == 0 ? 0 : 1))
        case .microseconds:
            guard case .success(let t) = TimeSpan.parse(text, defaultUnit: TimeSpan(usec: 1)) else { return bad() }
            return .success(t.isInfinite ? nil : t.usec)
        case .nice:
            // Linux maps RLIMIT_NICE 40…1 to nice -20…19 (limit = 20 - nice). A sign
            // marks a nice level; no sign is the raw kernel value, 0 included.
            if text.hasPrefix("+") {
                guard let v = ValueSyntax.unsigned(text.dropFirst()) else { return bad() }
                return v < 20 ? .success(20 - v) : outOfRange()
            }
            if text.hasPrefix("-") {
                guard let v = ValueSyntax.unsigned(text.dropFirst()) else { return bad() }
                return v <= 20 ? .success(20 + v) : outOfRange()
            }
            guard let v = ValueSyntax.unsigned(text) else { return bad() }
            return v <= 40 ? .success(v) : outOfRange()
        }
    }

    /// As systemd's `rlimit_format()`: `infinity`, `N`, `SOFT:HARD`, `infinity:N`,
    /// `N:infinity`, with raw numbers (bytes, seconds, microseconds, raw nice).
    public var description: String {
        switch (soft, hard) {
        case (nil, nil): "infinity"
        case (nil, let h?): "infinity:\(h)"
        case (let s?, nil): "\(s):infinity"
        case (let s?, let h?): s == h ? "\(s)" : "\(s):\(h)"
        }
    }
}
