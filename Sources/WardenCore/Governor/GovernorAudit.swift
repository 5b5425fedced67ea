// What the governor tells the log and the alert sinks.

/// `memory.reclaim` asked of a group.
public struct GovernorReclaim: Hashable, Sendable, CustomStringConvertible {
    public var target: String
    public var bytes: UInt64

    public init(target: String, bytes: UInt64) {
        self.target = target
        self.bytes = bytes
    }

    public var description: String { "\(target) memory.reclaim \(bytes)" }
}

/// One log record per decision that changed the tier or touched a group: the readings
/// that caused it, the writes made, the values restored, what was left alone and why.
public struct GovernorAuditRecord: Hashable, Sendable, CustomStringConvertible {
    public var at: MonotonicInstant
    public var from: GovernorTier
    public var to: GovernorTier
    /// `signals`, `manual emergency on`, `manual emergency off`, `manual emergency expired`.
    public var cause: String
    /// Every signal read in the sample (for a tier change the causes come first).
    public var readings: [GovernorReading]
    public var applied: [GovernorChange]
    /// The changes undone, with the value written back (`previous`).
    public var restored: [GovernorChange]
    public var reclaimed: [GovernorReclaim]
    public var conflicts: [GovernorConflict]
    /// Changes dropped without a write: already back in place, or the group is gone.
    public var dropped: [String]
    /// Writes the tier called for but the governor did not make, with the reason.
    public var skipped: [String]

    public init(
        at: MonotonicInstant, from: GovernorTier, to: GovernorTier, cause: String, readings: [GovernorReading],
        applied: [GovernorChange], restored: [GovernorChange], reclaimed: [GovernorReclaim], conflicts: [GovernorConflict],
        dropped: [String], skipped: [String]
    ) {
        self.at = at
        self.from = from
        self.to = to
        self.cause = cause
        self.readings = readings
        self.applied = applied
        self.restored = restored
        self.reclaimed = reclaimed
        self.conflicts = conflicts
        self.dropped = dropped
        self.skipped = skipped
    }

    public var tierChanged: Bool { from != to }

    /// One log line.
    public var description: String {
        var parts = [tierChanged ? "governor \(from.rawValue) → \(to.rawValue) (\(cause))" : "governor stays \(to.rawValue) (\(cause))"]
        let shown = tierChanged && to > from ? readings.filter { $0.level != .normal } : readings
        if !shown.isEmpty { parts.append("readings: " + shown.map(\.description).joined(separator: ", ")) }
        if !applied.isEmpty { parts.append("applied: " + applied.map(\.description).joined(separator: ", ")) }
        if !restored.isEmpty {
            parts.append("restored: " + restored.map { "\($0.target) \($0.file) = '\($0.previous)'" }.joined(separator: ", "))
        }
        if !reclaimed.isEmpty { parts.append("reclaimed: " + reclaimed.map(\.description).joined(separator: ", ")) }
        if !conflicts.isEmpty { parts.append("conflicts: " + conflicts.map(\.description).joined(separator: "; ")) }
        if !dropped.isEmpty { parts.append("dropped: " + dropped.joined(separator: "; ")) }
        if !skipped.isEmpty { parts.append("skipped: " + skipped.joined(separator: "; ")) }
        return parts.joined(separator: "; ")
    }
}

/// A message for the alert sinks (log, webhooks), already past its rule's cooldown.
public struct GovernorAlert: Hashable, Sendable {
    /// The cooldown key: `tier-critical`, `manual`, … .
    public var rule: String
    public var at: MonotonicInstant
    public var from: GovernorTier
    public var to: GovernorTier
    /// The readings that caused it.
    public var readings: [GovernorReading]
    /// One line for a chat message: `Warden governor: normal → critical (signals): …`.
    public var text: String

    public init(rule: String, at: MonotonicInstant, from: GovernorTier, to: GovernorTier, readings: [GovernorReading], text: String) {
        self.rule = rule
        self.at = at
        self.from = from
        self.to = to
        self.readings = readings
        self.text = text
    }
}
