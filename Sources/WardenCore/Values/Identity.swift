// User=, Group=, SupplementaryGroups= (systemd.exec(5), "Credentials") and
// environment variable names (Environment=, EnvironmentFile=).

/// A user or group as written in a unit: a name, or a numeric ID.
public enum UserGroupName: Hashable, Sendable, CustomStringConvertible {
    case name(String)
    case id(UInt32)

    static let expectation =
        "a user or group name such as www-data, or a numeric ID from 0 to 4294967294 (except 65535)"

    /// Parses as systemd reads `User=`/`Group=` (`valid_user_group_name()` with
    /// `VALID_USER_RELAX | VALID_USER_ALLOW_NUMERIC`): a decimal ID that is not one
    /// of the invalid IDs 65535 and 4294967295, or a name that is not all digits,
    /// does not start with `-` followed by digits, has no leading or trailing
    /// space, no control character, `:` or `/`, and is not `.` or `..`. Names that
    /// pass but break the strict POSIX-like rules are accepted; `isStrictName`
    /// tells a caller to warn, as systemd does.
    public static func parse(_ text: String) -> Result<UserGroupName, ValueError> {
        func bad(_ why: String) -> Result<UserGroupName, ValueError> {
            .failure(ValueError("'\(text)' is not a valid user or group: \(why); expected \(expectation)"))
        }
        if text.isEmpty { return bad("it is empty") }
        let bytes = Array(text.utf8)
        if bytes.allSatisfy(ValueSyntax.isDigit) {
            guard let v = ValueSyntax.decimal(Substring(text)), v <= UInt64(UInt32.max) else {
                return bad("the ID is above 4294967294")
            }
            if v == 65535 || v == UInt64(UInt32.max) { return bad("\(v) is reserved as an invalid ID") }
            return .success(.id(UInt32(v)))
        }
        if bytes.first == UInt8(ascii: "-"), bytes.count > 1, bytes.dropFirst().allSatisfy(ValueSyntax.isDigit) {
            return bad("negative IDs are not allowed")
        }
        if bytes.first == 0x20 || bytes.last == 0x20 { return bad("it begins or ends with a space") }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }) {
            return bad("it contains a control character")
        }
        if text.contains(":") || text.contains("/") { return bad("it contains ':' or '/'") }
        if text == "." || text == ".." { return bad("'.' and '..' are not names") }
        return .success(.name(text))
    }

    /// Whether a name meets systemd's strict rules (letters, digits, `_`, `-`, not
    /// starting with a digit or `-`, at most 31 bytes). IDs count as strict.
    public var isStrictName: Bool {
        guard case .name(let n) = self else { return true }
        let bytes = Array(n.utf8)
        guard let first = bytes.first, ValueSyntax.isAlpha(first) || first == UInt8(ascii: "_"), bytes.count <= 31 else {
            return false
        }
        return bytes.dropFirst().allSatisfy {
            ValueSyntax.isAlpha($0) || ValueSyntax.isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    /// Parses `SupplementaryGroups=`: whitespace-separated groups; empty is the
    /// empty list (for a unit key: reset; further lines add to the list).
    public static func parseList(_ text: String) -> Result<[UserGroupName], ValueError> {
        var result: [UserGroupName] = []
        for word in ValueSyntax.words(text) {
            switch parse(word) {
            case .success(let g): result.append(g)
            case .failure(let e): return .failure(e)
            }
        }
        return .success(result)
    }

    public var description: String {
        switch self {
        case .name(let n): n
        case .id(let i): String(i)
        }
    }
}

/// Environment variable names.
public enum EnvironmentName {
    /// systemd's `env_name_is_valid()`: non-empty, ASCII letters, digits and `_`,
    /// not starting with a digit. (systemd also caps the length at ARG_MAX - 2,
    /// which only the host knows; the kernel enforces it at exec anyway.)
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, !ValueSyntax.isDigit(first) else { return false }
        return bytes.allSatisfy { ValueSyntax.isAlpha($0) || ValueSyntax.isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// The name itself when valid, else an error saying what is allowed.
    public static func validate(_ name: String) -> Result<String, ValueError> {
        isValid(name)
            ? .success(name)
            : .failure(.notA(name, "a valid environment variable name",
                             expected: "ASCII letters, digits and _, not starting with a digit, such as APP_PORT"))
    }
}
