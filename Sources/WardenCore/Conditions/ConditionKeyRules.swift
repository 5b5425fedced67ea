extension KeyRule where Model == ServiceConfig {
    /// The `Condition…=` and `Assert…=` keys of `[Unit]`, one rule each. Each line appends
    /// to the unit's conditions (or asserts); an empty assignment of any condition key
    /// empties the whole list of conditions, of any assert key the asserts (systemd.unit(5)).
    static var conditionRules: [KeyRule] {
        ConditionKind.allCases.flatMap { kind in
            (kind.hasAssert ? [false, true] : [false]).map { assert in
                let doc = KeyDoc(
                    assert
                        ? "Fails the start unless \(kind.meaning); units that require this one fail with it."
                        : "Skips the start unless \(kind.meaning): the component stays inactive, not failed, and units ordered after it start.",
                    syntax: "\(kind.syntax); | makes it triggering (one of those must hold), ! negates; empty resets every \(assert ? "Assert" : "Condition")…= line",
                    default: "none", mapsTo: "tested at each start, automatic restarts included",
                    systemd: kind.difference.map { .differs($0) } ?? .same)
                return KeyRule(kind.key(assert: assert), in: ["Unit"], doc) { model, entry, diagnostics in
                    if entry.value.isEmpty {
                        if assert { model.asserts = [] } else { model.conditions = [] }
                        return
                    }
                    switch UnitCondition.parse(key: entry.key, value: entry.value) {
                    case .success(let condition):
                        if assert { model.asserts.append(condition) } else { model.conditions.append(condition) }
                    case .failure(let error):
                        diagnostics.append(.error(entry.location, key: entry.key, error.message))
                    }
                }
            }
        }
    }
}
