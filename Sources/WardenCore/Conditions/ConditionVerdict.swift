/// What a unit's conditions and asserts say about one start.
public struct ConditionVerdict: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        /// Start.
        case met
        /// Skip the start, as systemd does: the unit stays inactive, not failed, and the
        /// start counts as done for the units ordered after it. The conditions named are
        /// the first failing regular one, or every triggering one when none held.
        case conditionUnmet([UnitCondition])
        /// The start fails: units that require this one fail too.
        case assertFailed([UnitCondition])
    }

    public var outcome: Outcome
    /// Checks that cannot be evaluated here (a slice's pressure, `ConditionSecurity=audit`
    /// when opening the audit socket fails for another reason than its absence, a path
    /// check the facts cannot answer): each counts as holding, and is named in a warning.
    public var unevaluated: [UnitCondition]

    public init(outcome: Outcome, unevaluated: [UnitCondition] = []) {
        self.outcome = outcome
        self.unevaluated = unevaluated
    }

    /// The text `warden status` and the log show: `start condition unmet:
    /// ConditionFileIsExecutable=/etc/rc.local`; nil when met.
    public var reason: String? {
        switch outcome {
        case .met: nil
        case .conditionUnmet(let failed): "start condition unmet: " + Self.list(failed)
        case .assertFailed(let failed): "start assertion failed: " + Self.list(failed)
        }
    }

    /// The lines named, with "none of" for several triggering ones.
    public static func list(_ conditions: [UnitCondition]) -> String {
        conditions.count == 1
            ? conditions[0].description : "none of " + conditions.map(\.description).joined(separator: ", ")
    }

    /// `X is not met`, or `none of X, Y is met`.
    public static func notMet(_ conditions: [UnitCondition]) -> String {
        conditions.count == 1 ? conditions[0].description + " is not met" : list(conditions) + " is met"
    }
}
