// Putting back exactly what was there, unless someone else has changed it since.

/// A value the governor did not restore because it is no longer the one the governor wrote:
/// an operator (or another tool) changed it meanwhile, and their change wins.
public struct GovernorConflict: Hashable, Sendable, CustomStringConvertible {
    public var change: GovernorChange
    /// What is there now.
    public var found: String

    public init(change: GovernorChange, found: String) {
        self.change = change
        self.found = found
    }

    public var description: String {
        "\(change.target) \(change.file) is '\(found)', not the '\(change.written)' the governor wrote: "
            + "left as it is (the governor would have restored '\(change.previous)')"
    }
}

/// What happens to one recorded change at restore.
public enum GovernorRestoreOutcome: Hashable, Sendable {
    /// The governor's value is still there: write `previous` back.
    case restore(GovernorChange)
    /// The previous value is there already (restored before a crash, or never applied).
    case alreadyInPlace(GovernorChange)
    /// Someone changed the value: reported, not overwritten.
    case conflict(GovernorConflict)
    /// The group or property is gone (the component was removed): nothing to restore.
    case gone(GovernorChange)
}

public enum GovernorRestore {
    /// Kernel files end in a newline and D-Bus numbers may come as text with spaces: the
    /// comparison ignores surrounding white space and nothing else.
    static func same(_ a: String, _ b: String) -> Bool {
        trimmed(a) == trimmed(b)
    }

    static func trimmed(_ s: String) -> Substring {
        var t = Substring(s)
        while let c = t.first, c == " " || c == "\n" || c == "\t" { t.removeFirst() }
        while let c = t.last, c == " " || c == "\n" || c == "\t" { t.removeLast() }
        return t
    }

    /// Compares each change's written value with the value `found` now (nil: the group or
    /// file is gone).
    public static func plan(_ change: GovernorChange, found: String?) -> GovernorRestoreOutcome {
        guard let found else { return .gone(change) }
        if same(found, change.written) { return .restore(change) }
        if same(found, change.previous) { return .alreadyInPlace(change) }
        return .conflict(GovernorConflict(change: change, found: trimmed(found).description))
    }

    /// `plan` for every change, looking each value up among the targets.
    public static func plan(_ changes: [GovernorChange], targets: [GovernorTarget]) -> [GovernorRestoreOutcome] {
        changes.map { change in
            let target = targets.first { $0.name == change.target && $0.kind == change.kind }
            return plan(change, found: target?.current[change.file])
        }
    }
}
