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

    /// Brings the records in line with what happened to their groups since the last
    /// decision, before anything is decided from them:
    /// - a group found with another identity than the one written to was created again (the
    ///   component restarted, under this Warden or while none watched): the new group has
    ///   its configured values, the record of the old one is dropped, and the tier throttles
    ///   the new group afresh if it still calls for it;
    /// - a configuration that now sets another value than when the record was made (a
    ///   reload) makes that value the one to restore: the configuration is the baseline.
    /// Returns the records kept and one line per record dropped or changed, for the audit.
    public static func follow(_ changes: [GovernorChange], targets: [GovernorTarget]) -> (changes: [GovernorChange], notes: [String]) {
        var kept: [GovernorChange] = []
        var notes: [String] = []
        for var change in changes {
            guard change.kind == .group,
                let target = targets.first(where: { $0.name == change.target && $0.kind == change.kind })
            else {
                kept.append(change)
                continue
            }
            if let now = target.identity {
                if let then = change.identity, then != now {
                    notes.append("\(change.target) \(change.file): its group was created again (the component restarted); the record of the old group is dropped")
                    continue
                }
                // A record from before identities were kept: the group is the one written
                // to while the value written is there.
                if change.identity == nil, let found = target.current[change.file], same(found, change.written) {
                    change.identity = now
                }
            }
            if let configured = target.configured[change.file] {
                if let then = change.configured, !same(then, configured), !same(change.previous, configured) {
                    notes.append(
                        "\(change.target) \(change.file): the configuration sets '\(trimmed(configured))' now (was '\(trimmed(then))'); that is the value to restore")
                    change.previous = String(trimmed(configured))
                }
                change.configured = String(trimmed(configured))
            }
            kept.append(change)
        }
        return (kept, notes)
    }

    /// `plan` for every change, looking each value up among the targets.
    public static func plan(_ changes: [GovernorChange], targets: [GovernorTarget]) -> [GovernorRestoreOutcome] {
        changes.map { change in
            let target = targets.first { $0.name == change.target && $0.kind == change.kind }
            return plan(change, found: target?.current[change.file])
        }
    }
}

/// Orders the values of the files the governor writes by how much they allow.
public enum GovernorValues {
    /// True when `value` allows less than `baseline` in `file`: a smaller `cpu.max` quota per
    /// second, a lower `cpu.weight` or `memory.high`, `cpu.idle`/`cgroup.freeze` 1 over 0, a
    /// smaller `CPUQuotaPerSecUSec`, a lower `CPUWeight` (unset counts as systemd's default,
    /// 100). A baseline that cannot be read as such counts as unlimited (it is still
    /// restored exactly as it was).
    public static func isTighter(file: String, _ value: String, than baseline: String) -> Bool {
        guard let a = allowance(file: file, value) else { return true }
        guard let b = allowance(file: file, baseline) else { return true }
        return a < b
    }

    /// What a value allows, in the file's own unit; `UInt64.max` for unlimited, nil when the
    /// value is not in the file's format.
    static func allowance(file: String, _ text: String) -> UInt64? {
        let t = GovernorRestore.trimmed(text)
        if let property = GovernorSliceProperty(name: file) { return property.allowance(String(t)) }
        switch file {
        case "cpu.max":
            let parts = t.split(separator: " ")
            guard parts.count == 2, let period = UInt64(parts[1]), period > 0 else { return nil }
            if parts[0] == "max" { return .max }
            guard let quota = UInt64(parts[0]) else { return nil }
            let (product, overflow) = quota.multipliedReportingOverflow(by: 1_000_000)
            return overflow ? .max - 1 : product / period
        case "cpu.idle", "cgroup.freeze":
            // 1 (idle, frozen) allows less than 0.
            return t == "1" ? 0 : t == "0" ? 1 : nil
        case "memory.high", "cpu.weight":
            if t == "max" || t == "infinity" { return .max }
            return UInt64(t)
        default:
            return UInt64(t)
        }
    }
}
