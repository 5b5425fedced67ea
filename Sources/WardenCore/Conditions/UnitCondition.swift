/// One `Condition…=` or `Assert…=` line of a unit: the check and its prefixes.
public struct UnitCondition: Hashable, Sendable, CustomStringConvertible {
    public var kind: ConditionKind
    public var isAssert: Bool
    /// `|`: a triggering condition; at least one of a unit's triggering conditions must hold.
    public var isTriggering: Bool
    /// `!`: the check's result is inverted.
    public var isNegated: Bool
    public var test: ConditionTest
    /// The argument as written after the prefixes (specifiers expanded), for messages.
    public var argument: String

    public init(
        kind: ConditionKind, isAssert: Bool, isTriggering: Bool = false, isNegated: Bool = false,
        test: ConditionTest, argument: String
    ) {
        self.kind = kind
        self.isAssert = isAssert
        self.isTriggering = isTriggering
        self.isNegated = isNegated
        self.test = test
        self.argument = argument
    }

    public var key: String { kind.key(assert: isAssert) }

    /// The line as systemd shows it: `ConditionFileIsExecutable=/etc/rc.local`, with the
    /// prefixes as written.
    public var description: String {
        key + "=" + (isTriggering ? "|" : "") + (isNegated ? "!" : "") + argument
    }

    /// Parses the value of `key` (`ConditionPathExists`, `AssertUser`, …): `|` first, then
    /// `!`, then the argument (systemd's order; spaces after each prefix are skipped).
    public static func parse(key: String, value: String) -> Result<UnitCondition, ValueError> {
        guard let (kind, assert) = ConditionKind.parse(key: key) else {
            return .failure(ValueError("\(key) is not a condition or assert key"))
        }
        var rest = Substring(value.trimmingWhitespace())
        var triggering = false, negated = false
        if rest.hasPrefix("|") {
            triggering = true
            rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" })
        }
        if rest.hasPrefix("!") {
            negated = true
            rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" })
        }
        let argument = String(rest)
        if argument.isEmpty {
            return .failure(ValueError("'\(value)' has no argument after its prefixes; expected \(kind.syntax)"))
        }
        return ConditionTest.parse(kind, argument).map {
            UnitCondition(kind: kind, isAssert: assert, isTriggering: triggering, isNegated: negated, test: $0, argument: argument)
        }
    }
}
