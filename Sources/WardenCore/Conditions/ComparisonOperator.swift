/// The comparison operators of systemd's condition expressions (`parse_compare_operator()`):
/// version or number order, exact string, and shell-glob match.
public enum ComparisonOperator: String, CaseIterable, Hashable, Sendable {
    case lower = "<"
    case lowerOrEqual = "<="
    case equal = "=="
    case unequal = "<>"
    case greaterOrEqual = ">="
    case greater = ">"
    /// `=`: exact string equality where strings are compared; order equality elsewhere.
    case stringEqual = "="
    /// `!=`: exact string inequality where strings are compared; order inequality elsewhere.
    case stringUnequal = "!="
    case globMatch = "$="
    case globMismatch = "!$="

    /// Which operators an expression accepts.
    public enum Vocabulary: Sendable {
        /// `ConditionMemory=`, `ConditionCPUs=`: order only; `=` and `!=` are `==` and `<>`.
        case order
        /// `ConditionKernelVersion=`, `ConditionOSRelease=`, SMBIOS fields: order, string and glob.
        case versionStringOrGlob
    }

    /// The longest operator at the start of `text`, and the text after it. The order
    /// matters: `<=` before `<`, `!$=` before `!=`, `==` before `=`.
    public static func split(_ text: Substring, vocabulary: Vocabulary) -> (ComparisonOperator, Substring)? {
        let tries: [ComparisonOperator] = [
            .globMismatch, .globMatch, .unequal, .lowerOrEqual, .greaterOrEqual, .lower, .greater, .equal,
            .stringUnequal, .stringEqual,
        ]
        for op in tries where text.hasPrefix(op.rawValue) {
            switch (op, vocabulary) {
            case (.globMatch, .order), (.globMismatch, .order): continue
            case (.stringEqual, .order): return (.equal, text.dropFirst(1))
            case (.stringUnequal, .order): return (.unequal, text.dropFirst(2))
            default: return (op, text.dropFirst(op.rawValue.count))
            }
        }
        return nil
    }

    /// Whether `lhs OP rhs` holds, for the order operators given the comparison result.
    func holds(ordering: Int) -> Bool {
        switch self {
        case .lower: ordering < 0
        case .lowerOrEqual: ordering <= 0
        case .equal: ordering == 0
        case .unequal: ordering != 0
        case .greaterOrEqual: ordering >= 0
        case .greater: ordering > 0
        case .stringEqual: ordering == 0
        case .stringUnequal: ordering != 0
        case .globMatch: ordering == 0
        case .globMismatch: ordering != 0
        }
    }

    /// `actual OP expected`: versions compared as systemd's `strverscmp_improved()`,
    /// strings byte for byte, globs as `fnmatch(3)` without flags.
    public func test(version actual: String, against expected: String) -> Bool {
        switch self {
        case .stringEqual: actual == expected
        case .stringUnequal: actual != expected
        case .globMatch: ShellGlob.matches(expected, actual)
        case .globMismatch: !ShellGlob.matches(expected, actual)
        default: holds(ordering: VersionOrder.compare(actual, expected))
        }
    }

    /// `actual OP expected` for numbers.
    public func test(number actual: UInt64, against expected: UInt64) -> Bool {
        holds(ordering: actual < expected ? -1 : (actual == expected ? 0 : 1))
    }
}
