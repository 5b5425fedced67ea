// Byte sizes (`parse_size(…, 1024)`), percentages (`parse_permyriad()`) and the
// memory limits built from them (`config_parse_memory_limit()`).

/// Byte sizes with systemd's base-1024 suffixes.
public enum ByteSize {
    static let suffixes: [(suffix: UInt8, factor: UInt64)] = [
        (UInt8(ascii: "E"), 1 << 60), (UInt8(ascii: "P"), 1 << 50), (UInt8(ascii: "T"), 1 << 40),
        (UInt8(ascii: "G"), 1 << 30), (UInt8(ascii: "M"), 1 << 20), (UInt8(ascii: "K"), 1 << 10),
        (UInt8(ascii: "B"), 1),
    ]

    static let expectation =
        "a size in bytes such as 4096, 512M, 1.5G or 1G 512M (suffixes K, M, G, T, P, E are powers of 1024)"

    /// Parses a size as systemd's `parse_size(text, 1024)`: a number with an
    /// optional fraction and an optional suffix `K M G T P E` (powers of 1024) or
    /// `B`; several parts in strictly descending units add up (`1G 512M`). The
    /// suffixes are case-sensitive single letters: `KiB`, `kB` and `4g` are
    /// rejected, as by systemd. The fraction is applied as systemd does, through a
    /// double, then truncated to whole bytes. A leading `+` (which `strtoull` would
    /// let through) is rejected.
    public static func parse(_ text: String) -> Result<UInt64, ValueError> {
        let p = Array(text.utf8)
        let n = p.count
        var i = 0
        var total: UInt64 = 0
        var startIndex = 0  // into `suffixes` plus the implicit "" at the end
        func bad(_ why: String? = nil) -> Result<UInt64, ValueError> {
            if let why { return .failure(ValueError("'\(text)' is not a valid size (\(why)); expected \(expectation)")) }
            return .failure(.notA(text, "a size", expected: expectation))
        }
        func tooLarge() -> Result<UInt64, ValueError> {
            .failure(ValueError("'\(text)' is too large for a size (at most 16E - 1 bytes); expected \(expectation)"))
        }
        repeat {
            while i < n, ValueSyntax.isWhitespace(p[i]) { i += 1 }
            if i < n, p[i] == UInt8(ascii: "-") { return bad("negative") }
            let digitsStart = i
            var whole: UInt64 = 0
            while i < n, ValueSyntax.isDigit(p[i]) {
                let (m, o1) = whole.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(p[i] - 0x30))
                if o1 || o2 { return tooLarge() }
                whole = a
                i += 1
            }
            if i == digitsStart { return bad() }
            var fraction = 0.0
            if i < n, p[i] == UInt8(ascii: ".") {
                i += 1
                // "10.M" is valid: the fraction digits are optional.
                var scale = 1.0
                while i < n, ValueSyntax.isDigit(p[i]) {
                    scale /= 10
                    fraction += Double(p[i] - 0x30) * scale
                    i += 1
                }
            }
            while i < n, ValueSyntax.isWhitespace(p[i]) { i += 1 }
            var factor: UInt64 = 1
            var matched = suffixes.count  // the implicit empty suffix
            if i < n, startIndex < suffixes.count {
                for k in startIndex..<suffixes.count where suffixes[k].suffix == p[i] {
                    matched = k
                    factor = suffixes[k].factor
                    break
                }
            }
            // After a bare number (the implicit empty suffix) nothing may follow.
            if matched == suffixes.count && startIndex > suffixes.count { return bad("units must descend") }
            let limit = UInt64.max / factor
            if whole > limit || (fraction > 0 && whole == limit) { return tooLarge() }
            let part = whole * factor + UInt64(fraction * Double(factor))
            let (sum, o) = total.addingReportingOverflow(part)
            if o { return tooLarge() }
            total = sum
            if matched < suffixes.count { i += 1 }
            startIndex = matched + 1
        } while i < n
        return .success(total)
    }

    /// The exact size with the largest suffix that divides it (`4G`, `1536M`,
    /// `4097`), so that `parse` gives back the same number.
    public static func format(_ bytes: UInt64) -> String {
        guard bytes > 0 else { return "0" }
        for (suffix, factor) in suffixes where factor > 1 && bytes % factor == 0 {
            return "\(bytes / factor)\(Character(Unicode.Scalar(suffix)))"
        }
        return String(bytes)
    }
}

/// A proportion in ten-thousandths (`parse_permyriad()`): `80%` is 8000, `12.5%`
/// 1250, `12.34%` 1234, `125‰` 1250, `1250‱` 1250.
enum Permyriad {
    enum Outcome { case notAPercentage, invalid, value(UInt64) }

    /// systemd's `parse_permyriad_unbounded()`. `notAPercentage` when no `%`, `‰`
    /// or `‱` ends the text (callers then try another syntax); `invalid` when one
    /// does but the number before it is malformed.
    static func parseUnbounded(_ text: String) -> Outcome {
        let scalars = Array(text.unicodeScalars)
        guard let last = scalars.last else { return .notAPercentage }
        let body = String(String.UnicodeScalarView(scalars.dropLast()))
        let placesAllowed: Int
        let scale: UInt64
        switch last {
        case "\u{2031}": placesAllowed = 0; scale = 1      // ‱
        case "\u{2030}": placesAllowed = 1; scale = 10     // ‰
        case "%": placesAllowed = 2; scale = 100
        default: return .notAPercentage
        }
        var wholeText = Substring(body)
        var fractionValue: UInt64 = 0
        if let dot = body.firstIndex(of: ".") {
            let fractionText = body[body.index(after: dot)...]
            wholeText = body[..<dot]
            guard placesAllowed > 0, !fractionText.isEmpty, fractionText.count <= placesAllowed,
                fractionText.utf8.allSatisfy(ValueSyntax.isDigit)
            else { return .invalid }
            var digits = String(fractionText)
            while digits.count < placesAllowed { digits += "0" }
            fractionValue = UInt64(digits) ?? 0
        }
        // safe_atoi: an int, so at most 2^31 - 1 before scaling.
        guard let whole = ValueSyntax.signed(wholeText), whole >= 0, whole <= Int64(Int32.max) else { return .invalid }
        let value = UInt64(whole) * scale + fractionValue
        guard value <= UInt64(Int32.max) else { return .invalid }
        return .value(value)
    }

    /// `80%`, `12.5%`, `12.34%` — the shortest exact spelling.
    static func format(_ permyriad: UInt64) -> String {
        let whole = permyriad / 100
        let rest = permyriad % 100
        if rest == 0 { return "\(whole)%" }
        if rest % 10 == 0 { return "\(whole).\(rest / 10)%" }
        return "\(whole).\(rest < 10 ? "0" : "")\(rest)%"
    }
}

/// Which memory key a `MemoryLimit` is for: the keys differ in what an empty
/// value means and whether zero is allowed.
public enum MemoryLimitKey: String, CaseIterable, Hashable, Sendable {
    case memoryMin = "MemoryMin"
    case memoryLow = "MemoryLow"
    case memoryHigh = "MemoryHigh"
    case memoryMax = "MemoryMax"
    case memorySwapMax = "MemorySwapMax"
    case memoryZSwapMax = "MemoryZSwapMax"

    /// systemd refuses 0 for `MemoryHigh=`/`MemoryMax=` (it would make the unit
    /// unrunnable) and allows it for the protections and the swap limits.
    var allowsZero: Bool { self != .memoryHigh && self != .memoryMax }
}

/// `MemoryMin=`, `MemoryLow=`, `MemoryHigh=`, `MemoryMax=`, `MemorySwapMax=`.
public enum MemoryLimit: Hashable, Sendable, CustomStringConvertible {
    case bytes(UInt64)
    /// A share of physical memory in ten-thousandths (`80%` = 8000, `12.34%` =
    /// 1234), resolved against the host's memory when applied, as systemd does.
    case percentOfPhysical(permyriad: UInt32)
    /// No limit (`max` in the cgroup file).
    case infinity

    static let expectation =
        "a size such as 4G, 512M or 1.5G (powers of 1024), a percentage of physical memory such as 80%, or infinity"

    /// Parses as systemd's `config_parse_memory_limit()`: `infinity`, a percentage
    /// up to 100% (`80%`, `12.5%`, `125‰`), or a byte size (`4G`, `1.5G`, `4096`).
    /// An empty value resets: to 0 for `MemoryMin=`/`MemoryLow=`, to `infinity`
    /// for the others. Zero is refused for `MemoryHigh=` and `MemoryMax=`.
    public static func parse(_ text: String, for key: MemoryLimitKey = .memoryMax) -> Result<MemoryLimit, ValueError> {
        if text.isEmpty { return .success(key == .memoryMin || key == .memoryLow ? .bytes(0) : .infinity) }
        if text == "infinity" { return .success(.infinity) }
        let zeroRefused = ValueError(
            "'\(text)' is out of range for \(key.rawValue)= (0 would stop every process of the unit); "
                + "expected more than 0 bytes, a percentage above 0%, or infinity")
        switch Permyriad.parseUnbounded(text) {
        case .value(let v) where v <= 10_000:
            if v == 0 && !key.allowsZero { return .failure(zeroRefused) }
            return .success(.percentOfPhysical(permyriad: UInt32(v)))
        case .value:
            return .failure(ValueError("'\(text)' is out of range for \(key.rawValue)=; expected a percentage of physical memory from 0% to 100%, a size such as 4G, or infinity"))
        case .invalid:
            return .failure(.notA(text, "a memory limit", expected: expectation))
        case .notAPercentage:
            break
        }
        switch ByteSize.parse(text) {
        case .failure:
            return .failure(.notA(text, "a memory limit", expected: expectation))
        case .success(let bytes):
            if bytes == .max {
                return .failure(ValueError("'\(text)' is out of range for \(key.rawValue)=; expected a size below 16E, or infinity"))
            }
            if bytes == 0 && !key.allowsZero { return .failure(zeroRefused) }
            return .success(.bytes(bytes))
        }
    }

    /// The limit on `host`: what is written to `memory.*`, sent to systemd, checked by
    /// validation and shown by `warden status`, all through this one function. Nil for a
    /// percentage when the host's memory is unknown.
    public func resolved(on host: HostFacts?) -> ResolvedLimit? {
        switch self {
        case .bytes(let bytes): return .value(bytes)
        case .infinity: return .unlimited
        case .percentOfPhysical:
            guard let physical = host?.physicalMemoryBytes else { return nil }
            return resolve(physicalMemoryBytes: physical, pageSizeBytes: host?.pageSizeBytes ?? HostFacts.defaultPageSizeBytes)
                .map(ResolvedLimit.value) ?? .unlimited
        }
    }

    /// The arithmetic of `resolved(on:)`, nil meaning no limit. A percentage is taken in
    /// whole pages, as systemd's `physical_memory_scale()` does and as the kernel stores
    /// a limit (`page_counter_memparse()` rounds down to a page); an overflow means no
    /// limit.
    func resolve(physicalMemoryBytes: UInt64, pageSizeBytes: UInt64 = HostFacts.defaultPageSizeBytes) -> UInt64? {
        switch self {
        case .bytes(let b): return b
        case .infinity: return nil
        case .percentOfPhysical(let v):
            let pages = physicalMemoryBytes / pageSizeBytes
            let (m, o) = pages.multipliedReportingOverflow(by: UInt64(v))
            if o { return nil }
            let (r, o2) = (m / 10_000).multipliedReportingOverflow(by: pageSizeBytes)
            return o2 ? nil : r
        }
    }

    /// `4G`, `80%`, `infinity`.
    public var description: String {
        switch self {
        case .bytes(let b): ByteSize.format(b)
        case .percentOfPhysical(let v): Permyriad.format(UInt64(v))
        case .infinity: "infinity"
        }
    }
}

/// A relative limit (`MemoryMax=50%`, `TasksMax=15%`) resolved against one host.
public enum ResolvedLimit: Hashable, Sendable {
    /// Bytes or tasks.
    case value(UInt64)
    /// `max` in the cgroup file, `infinity` in the unit file.
    case unlimited

    /// The number, nil when unlimited.
    public var value: UInt64? {
        if case .value(let number) = self { return number }
        return nil
    }
}
