/// A digest of the settings a unit's process was started from (`ServiceConfig.settingsOnly`:
/// where they were written does not count), kept in the component records so that a
/// Warden started later tells a process of the unit as it is now from one of an older
/// version of it, changed on disk while no Warden read it. Equal settings give equal
/// fingerprints in every process and on every run (Swift's `Hasher` is seeded per
/// process, so it cannot be used); unequal ones differ but by a vanishingly rare
/// accident. Not a cryptographic digest, and it need not be: the records are root's, in
/// root's state directory, and a forged match would only keep a process running.
///
/// The digest is taken over a canonical text of the value, walked through its `Mirror`:
/// a set's elements and a dictionary's entries are sorted, and a field holding nil, an
/// empty collection or `false` is left out, so a Warden that gains a setting (a new
/// optional field) gives the units that do not use it the fingerprint they had.
public struct UnitFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// 32 lowercase hexadecimal digits.
    public let hex: String

    public init(_ config: ServiceConfig) {
        self.init(canonicalText: Self.canonical(config.settingsOnly))
    }

    /// The fingerprint as a record holds it; nil unless 32 hexadecimal digits.
    public init?(recorded: String) {
        guard recorded.utf8.count == 32, recorded.utf8.allSatisfy({ Self.isHexDigit($0) }) else { return nil }
        hex = recorded.lowercased()
    }

    init(canonicalText: String) {
        // Two 64-bit FNV-1a digests with different offset bases, side by side.
        var low: UInt64 = 0xcbf2_9ce4_8422_2325
        var high: UInt64 = 0x6c62_272e_07bb_0142
        for byte in canonicalText.utf8 {
            low = (low ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            high = (high ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hex = Self.hex64(high) + Self.hex64(low)
    }

    public var description: String { hex }

    /// The canonical text of a value: the type, then each field as `label:value`, nested
    /// values in brackets; leaves as `String(reflecting:)` writes them.
    static func canonical(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first else { return "nil" }
            return canonical(wrapped.value)
        case .set, .collection, .dictionary:
            var elements = mirror.children.map { canonical($0.value) }
            if mirror.displayStyle != .collection { elements.sort() }
            return "[" + elements.joined(separator: ",") + "]"
        default:
            guard !mirror.children.isEmpty else { return String(reflecting: value) }
            // A struct's unused fields are left out; an enum's payload and a tuple's
            // elements never are (two cases with an empty payload would read the same).
            let skipsDefaults = mirror.displayStyle == .struct || mirror.displayStyle == .class
            var text = String(reflecting: mirror.subjectType) + "{"
            for (offset, child) in mirror.children.enumerated() where !(skipsDefaults && isDefault(child.value)) {
                text += (child.label ?? String(offset)) + ":" + canonical(child.value) + ";"
            }
            return text + "}"
        }
    }

    /// nil, an empty collection, `false`: what a field not in use holds.
    static func isDefault(_ value: Any) -> Bool {
        if let flag = value as? Bool { return !flag }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional, .set, .collection, .dictionary: return mirror.children.isEmpty
        default: return false
        }
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    static func hex64(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
