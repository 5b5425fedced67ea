// systemd time spans (systemd.time(7)): `parse_time()` and `format_timespan()`.

extension TimeSpan {
    static let usecPerMSec: UInt64 = 1_000
    static let usecPerSec: UInt64 = 1_000_000
    static let usecPerMinute: UInt64 = 60 * usecPerSec
    static let usecPerHour: UInt64 = 60 * usecPerMinute
    static let usecPerDay: UInt64 = 24 * usecPerHour
    static let usecPerWeek: UInt64 = 7 * usecPerDay
    /// 30.44 days, as systemd defines a month.
    static let usecPerMonth: UInt64 = 2_629_800 * usecPerSec
    /// 365.25 days, as systemd defines a year.
    static let usecPerYear: UInt64 = 31_557_600 * usecPerSec

    /// The unit suffixes `parse_time()` accepts, in its matching order: the first
    /// suffix that the text starts with wins, so longer spellings come before their
    /// prefixes (`msec` before `ms` before `m`; `months` and `M` before `m`).
    static let unitTable: [(suffix: [UInt8], usec: UInt64)] = [
        ("seconds", usecPerSec), ("second", usecPerSec), ("sec", usecPerSec), ("s", usecPerSec),
        ("minutes", usecPerMinute), ("minute", usecPerMinute), ("min", usecPerMinute),
        ("months", usecPerMonth), ("month", usecPerMonth), ("M", usecPerMonth),
        ("msec", usecPerMSec), ("ms", usecPerMSec), ("m", usecPerMinute),
        ("hours", usecPerHour), ("hour", usecPerHour), ("hr", usecPerHour), ("h", usecPerHour),
        ("days", usecPerDay), ("day", usecPerDay), ("d", usecPerDay),
        ("weeks", usecPerWeek), ("week", usecPerWeek), ("w", usecPerWeek),
        ("years", usecPerYear), ("year", usecPerYear), ("y", usecPerYear),
        ("usec", 1), ("us", 1), ("\u{03BC}s", 1), ("\u{00B5}s", 1),
    ].map { (Array($0.0.utf8), $0.1) }

    static let timeSpanExpectation =
        "a time span such as 1min 30s, 250ms, 5 (default unit) or infinity "
        + "(units: us, ms, s, min, h, d, w, M, y)"

    /// Parses a systemd time span exactly as `parse_time()` does: a sequence of
    /// numbers, each with an optional unit (`1min 30s`, `1min30s`, `250ms`, `0.5s`,
    /// `.5s`); a number without a unit is in `defaultUnit` (seconds for `*Sec=` keys,
    /// microseconds for `LimitRTTIME=`); `infinity` alone is `TimeSpan.infinity`.
    /// Fractions are truncated to whole microseconds. Negative values, values that
    /// reach `USEC_INFINITY`, and empty text are errors (an empty assignment meaning
    /// "reset" is for the caller to handle, as systemd's config parsers do).
    public static func parse(_ text: String, defaultUnit: TimeSpan = .seconds(1)) -> Result<TimeSpan, ValueError> {
        let p = Array(text.utf8)
        let n = p.count
        let multiplierDefault = max(defaultUnit.usec, 1)
        func bad(_ why: String? = nil) -> Result<TimeSpan, ValueError> {
            if let why { return .failure(ValueError("'\(text)' is not a valid time span (\(why)); expected \(timeSpanExpectation)")) }
            return .failure(.notA(text, "a time span", expected: timeSpanExpectation))
        }
        func tooLarge() -> Result<TimeSpan, ValueError> {
            .failure(ValueError("'\(text)' is too large for a time span (the limit is about 584942 years); expected \(timeSpanExpectation)"))
        }

        var i = 0
        while i < n, ValueSyntax.isWhitespace(p[i]) { i += 1 }
        let infinity = Array("infinity".utf8)
        if n - i >= infinity.count, Array(p[i..<(i + infinity.count)]) == infinity {
            var j = i + infinity.count
            while j < n, ValueSyntax.isWhitespace(p[j]) { j += 1 }
            return j == n ? .success(.infinity) : bad()
        }

        var usec: UInt64 = 0
        var something = false
        while true {
            while i < n, ValueSyntax.isWhitespace(p[i]) { i += 1 }
            if i == n {
                return something ? .success(TimeSpan(usec: usec)) : bad("empty")
            }
            if p[i] == UInt8(ascii: "-") { return bad("negative") }
            // strtoll() accepts a '+' sign directly before digits.
            var numberStart = i
            if p[i] == UInt8(ascii: "+"), i + 1 < n, ValueSyntax.isDigit(p[i + 1]) { numberStart = i + 1 }
            var e = numberStart
            var whole: UInt64 = 0
            var overflow = false
            while e < n, ValueSyntax.isDigit(p[e]) {
                let (m, o1) = whole.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(p[e] - 0x30))
                if o1 || o2 || a > UInt64(Int64.max) { overflow = true }
                whole = a
                e += 1
            }
            if overflow { return tooLarge() }
            let hasFraction = e < n && p[e] == UInt8(ascii: ".")
            var afterNumber: Int
            if hasFraction {
                afterNumber = e + 1
                while afterNumber < n, ValueSyntax.isDigit(p[afterNumber]) { afterNumber += 1 }
            } else if e == numberStart {
                return bad()
            } else {
                afterNumber = e
            }

            var unitStart = afterNumber
            while unitStart < n, ValueSyntax.isWhitespace(p[unitStart]) { unitStart += 1 }
            var multiplier = multiplierDefault
            var next = unitStart
            for entry in unitTable where n - unitStart >= entry.suffix.count {
                if Array(p[unitStart..<(unitStart + entry.suffix.count)]) == entry.suffix {
                    multiplier = entry.usec
                    next = unitStart + entry.suffix.count
                    break
                }
            }
            // No unit and no whitespace, but more text: "12.34.56", "5x".
            if next == afterNumber, next < n { return bad("unknown unit or stray character") }

            if whole >= UInt64.max / multiplier { return tooLarge() }
            let k = whole * multiplier
            if k >= UInt64.max - usec { return tooLarge() }
            usec += k
            something = true

            if hasFraction {
                var m = multiplier / 10
                var b = e + 1
                while b < n, ValueSyntax.isDigit(p[b]) {
                    let k = UInt64(p[b] - 0x30) * m
                    if k >= UInt64.max - usec { return tooLarge() }
                    usec += k
                    b += 1
                    m /= 10
                }
                // "3." / "3.sec": a dot needs digits after it.
                if b == e + 1 { return bad("a decimal point needs digits after it") }
            }
            i = next
        }
    }

    /// The span as systemd's `format_timespan()` prints it with the given accuracy
    /// (1 µs by default, which is exact): `1min 30s`, `250ms`, `1.500000s`,
    /// `infinity`, `0`. The result parses back to the same value with
    /// `TimeSpan.parse` when the accuracy is 1 µs.
    public func systemdString(accuracy: TimeSpan = TimeSpan(usec: 1)) -> String {
        if isInfinite { return "infinity" }
        if usec == 0 { return "0" }
        let table: [(String, UInt64)] = [
            ("y", Self.usecPerYear), ("month", Self.usecPerMonth), ("w", Self.usecPerWeek),
            ("d", Self.usecPerDay), ("h", Self.usecPerHour), ("min", Self.usecPerMinute),
            ("s", Self.usecPerSec), ("ms", Self.usecPerMSec), ("us", 1),
        ]
        var t = usec
        var out = ""
        var something = false
        for (suffix, unit) in table {
            if t == 0 { break }
            if t < accuracy.usec && something { break }
            if t < unit { continue }
            let a = t / unit
            var b = t % unit
            var done = false
            if t < Self.usecPerMinute && b > 0 {
                // Dot notation below a minute: "1.500000s", "2.5ms".
                var j = 0
                var cc = unit
                while cc > 1 { j += 1; cc /= 10 }
                cc = accuracy.usec
                while cc > 1 { b /= 10; j -= 1; cc /= 10 }
                if j > 0 {
                    var fraction = String(b)
                    while fraction.count < j { fraction = "0" + fraction }
                    out += (out.isEmpty ? "" : " ") + "\(a).\(fraction)\(suffix)"
                    t = 0
                    done = true
                }
            }
            if !done {
                out += (out.isEmpty ? "" : " ") + "\(a)\(suffix)"
                t = b
            }
            something = true
        }
        return out
    }
}
