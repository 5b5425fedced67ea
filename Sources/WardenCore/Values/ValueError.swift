// The one error every value parser returns, and the lexical helpers they share.
//
// Each parser follows the systemd function that reads the same key (named in its doc
// comment), so a unit file means the same thing to Warden as to systemd. Where Warden
// is deliberately stricter (it reports what systemd would silently ignore), the doc
// comment says so.

/// A value in a unit file that could not be parsed. The message names the bad text
/// and what was expected, ready to follow `FILE:LINE: KEY: ` in a diagnostic.
public struct ValueError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// `'TEXT' is not WHAT; expected EXPECTED`
    static func notA(_ text: String, _ what: String, expected: String) -> ValueError {
        ValueError("'\(text)' is not \(what); expected \(expected)")
    }
}

/// Byte-level helpers mirroring the small systemd primitives (`WHITESPACE`,
/// `safe_atou64`, `safe_atoi`) the parsers are built from.
enum ValueSyntax {
    /// systemd's `WHITESPACE`: space, tab, newline, carriage return.
    static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func isAlpha(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }

    static func trimmed(_ s: String) -> String {
        let bytes = Array(s.utf8)
        var start = 0
        var end = bytes.count
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// Splits on runs of whitespace (systemd's `extract_first_word` without quoting).
    static func words(_ s: String, separators: (UInt8) -> Bool = isWhitespace) -> [String] {
        var result: [String] = []
        var current: [UInt8] = []
        for b in s.utf8 {
            if separators(b) {
                if !current.isEmpty { result.append(String(decoding: current, as: UTF8.self)) }
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(b)
            }
        }
        if !current.isEmpty { result.append(String(decoding: current, as: UTF8.self)) }
        return result
    }

    /// An unsigned integer as systemd's `safe_atou64` reads it: decimal digits, or a
    /// `0x`/`0o`/`0b` prefix for hexadecimal/octal/binary (systemd's `mangle_base`;
    /// a leading `0` alone is still decimal). No sign, no surrounding whitespace
    /// (the unit-file reader has already trimmed the value). nil on syntax error or
    /// overflow.
    static func unsigned(_ s: Substring) -> UInt64? {
        var bytes = Array(s.utf8)
        var radix: UInt64 = 10
        if bytes.count > 2, bytes[0] == 0x30 {
            switch bytes[1] {
            case 0x78, 0x58: radix = 16
            case 0x6F, 0x4F: radix = 8
            case 0x62, 0x42: radix = 2
            default: break
            }
            if radix != 10 { bytes.removeFirst(2) }
        }
        return digits(bytes[...], radix: radix)
    }

    static func unsigned(_ s: String) -> UInt64? { unsigned(s[...]) }

    /// Decimal digits only (systemd's `safe_atou32_full(s, 10, …)`, used for UIDs).
    static func decimal(_ s: Substring) -> UInt64? { digits(Array(s.utf8)[...], radix: 10) }

    static func digits(_ bytes: ArraySlice<UInt8>, radix: UInt64) -> UInt64? {
        guard !bytes.isEmpty else { return nil }
        var value: UInt64 = 0
        for b in bytes {
            let d: UInt64
            switch b {
            case 0x30...0x39: d = UInt64(b - 0x30)
            case 0x61...0x66: d = UInt64(b - 0x61 + 10)
            case 0x41...0x46: d = UInt64(b - 0x41 + 10)
            default: return nil
            }
            guard d < radix else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: radix)
            let (a, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            value = a
        }
        return value
    }

    /// A signed integer as systemd's `safe_atoi`/`safe_atoi64` reads it: an optional
    /// `+` or `-`, then what `unsigned` accepts. nil on syntax error or overflow.
    static func signed(_ s: Substring) -> Int64? {
        var rest = s
        var negative = false
        if let first = rest.first, first == "+" || first == "-" {
            negative = first == "-"
            rest = rest.dropFirst()
        }
        guard let magnitude = unsigned(rest) else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    static func signed(_ s: String) -> Int64? { signed(s[...]) }

    /// Unsigned octal as `parse_mode` reads it (digits 0-7, no prefix, no sign).
    static func octal(_ s: String) -> UInt64? { digits(Array(s.utf8)[...], radix: 8) }
}

/// The reason a part of a value was refused, before it is worded into a `ValueError`
/// that names the whole value.
struct Refusal: Error, Hashable, Sendable, CustomStringConvertible {
    var reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { reason }
}
