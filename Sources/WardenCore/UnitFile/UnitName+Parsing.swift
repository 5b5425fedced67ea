/// Why a string is not a unit name.
public struct UnitNameError: Error, Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var reason: String

    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }

    public var description: String { "invalid unit name \"\(name)\": \(reason)" }
}

extension UnitName {
    /// systemd's `UNIT_NAME_MAX` is 256 including the terminating NUL.
    public static let maximumLength = 255

    /// Parses `prefix.kind`, `prefix@instance.kind` or the template `prefix@.kind` with
    /// systemd's rules (`unit_name_is_valid()`): only `[A-Za-z0-9:_.\-\\]` plus `@`, at
    /// most 255 bytes, a non-empty prefix, and a suffix that is a known unit type.
    ///
    /// As in systemd, the first `@` splits prefix from instance; an instance may itself
    /// contain `@` (`foo@a@b.service` has instance `a@b`). Backslash is allowed because
    /// escaped names use it (`foo@dev-sda\x2d1.service`).
    public init?(parsing name: String) {
        guard case .success(let parsed) = UnitName.validate(name) else { return nil }
        self = parsed
    }

    /// Like `init?(parsing:)`, saying what is wrong.
    public static func validate(_ name: String) -> Result<UnitName, UnitNameError> {
        func fail(_ reason: String) -> Result<UnitName, UnitNameError> {
            .failure(UnitNameError(name: name, reason: reason))
        }
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return fail("the name is empty") }
        if bytes.count > maximumLength { return fail("longer than \(maximumLength) bytes") }
        guard let dot = bytes.lastIndex(of: UInt8(ascii: ".")) else {
            return fail("expected a type suffix such as .service or .slice")
        }
        let suffix = String(decoding: bytes[(dot + 1)...], as: UTF8.self)
        guard let kind = Kind(rawValue: suffix) else {
            return fail("unknown unit type \".\(suffix)\"")
        }
        var at: Int?
        for i in 0..<dot {
            let byte = bytes[i]
            if byte == UInt8(ascii: "@") {
                if at == nil { at = i }
                continue
            }
            guard isValidNameByte(byte) else {
                let shown = byte < 0x80 ? "'\(Character(Unicode.Scalar(byte)))'" : "a non-ASCII character"
                return fail("\(shown) is not allowed; use only letters, digits, ':', '-', '_', '.', '\\' and '@'")
            }
        }
        let prefixEnd = at ?? dot
        if prefixEnd == 0 { return fail("the name before \(at == nil ? "the type suffix" : "'@'") is empty") }
        let prefix = String(decoding: bytes[..<prefixEnd], as: UTF8.self)
        let instance = at.map { String(decoding: bytes[($0 + 1)..<dot], as: UTF8.self) }
        return .success(UnitName(prefix: prefix, instance: instance, kind: kind))
    }

    @inline(__always) static func isValidNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: ":"), UInt8(ascii: "_"),
            UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "\\"):
            true
        default:
            false
        }
    }

    /// The instance `instance` of this template (or of this instance's template):
    /// `feed@.service` with `2` is `feed@2.service`. The instance is used as given; escape
    /// arbitrary strings with `UnitName.escape(_:)` first.
    public func instantiated(with instance: String) -> UnitName {
        UnitName(prefix: prefix, instance: instance, kind: kind)
    }

    /// The template an instance comes from (`feed@2.service` → `feed@.service`); nil for a
    /// unit that is not an instance, including a template itself.
    public var template: UnitName? {
        guard let instance, !instance.isEmpty else { return nil }
        return UnitName(prefix: prefix, instance: "", kind: kind)
    }

    /// True for a template instance such as `feed@2.service`.
    public var isInstance: Bool { instance.map { !$0.isEmpty } ?? false }

    // MARK: - Escaping (systemd-escape)

    /// systemd's `unit_name_escape()`: `/` becomes `-`, and every byte that is not allowed
    /// in a unit name (plus `-`, `\`, and a leading `.`) becomes `\xNN`.
    public static func escape(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        for (offset, byte) in text.utf8.enumerated() {
            if byte == UInt8(ascii: "/") {
                output.append(UInt8(ascii: "-"))
            } else if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "\\") || !isValidNameByte(byte)
                || (offset == 0 && byte == UInt8(ascii: "."))
            {
                output.append(contentsOf: Array("\\x".utf8))
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0xF)])
            } else {
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// systemd's `unit_name_unescape()`: `-` becomes `/` and `\xNN` the byte NN; nil when
    /// a `\` is not followed by `x` and two hex digits.
    public static func unescape(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "-") {
                output.append(UInt8(ascii: "/"))
                i += 1
            } else if byte == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "x"),
                    let value = SystemdWords.hexValue(bytes, from: i + 2, digits: 2)
                else { return nil }
                output.append(UInt8(value))
                i += 4
            } else {
                output.append(byte)
                i += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// systemd's `unit_name_path_unescape()`: an escaped path back to an absolute path
    /// (`-` is `/`, `foo-bar` is `/foo/bar`); nil for an invalid escape or an empty string.
    public static func unescapePath(_ text: String) -> String? {
        if text.isEmpty { return nil }
        if text == "-" { return "/" }
        guard let unescaped = unescape(text) else { return nil }
        return unescaped.hasPrefix("/") ? unescaped : "/" + unescaped
    }
}
