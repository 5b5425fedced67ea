extension ServiceConfig {
    /// Whether a condition or assert of the unit makes sure `path` is there before a
    /// start (`ConditionFileIsExecutable=/etc/rc.local` for `ExecStart=/etc/rc.local`):
    /// where it is missing the start is skipped or fails the assert, so a missing program
    /// is what the unit expects on some machines, not a mistake.
    public func guardsPath(_ path: String) -> Bool {
        (conditions + asserts).contains { condition in
            guard !condition.isNegated, !condition.isTriggering, case .path(let test, let guarded) = condition.test
            else { return false }
            switch test {
            case .exists, .fileIsExecutable, .fileNotEmpty: return guarded == path
            default: return false
            }
        }
    }
}
