/// Whether a PSI trigger's event is borne out by the stall the kernel has counted.
///
/// A trigger event is a claim: "over the last window the group stalled at least the
/// trigger's share". The event alone is not evidence. Triggers have been seen to fire on an
/// idle guest with `avg10` at 0 % and no stall to speak of, and Warden's own start-up I/O
/// (the state file's fsync) can stall a group for a moment. The governor therefore acts on
/// an event only when the pressure file's cumulative `some total=` confirms it: over a span
/// of at least `shortestSpan`, the stall grew by at least the trigger's share of that span.
///
/// The span starts at a checkpoint: the last reading, kept while it is at most one window
/// old. After a calm spell the checkpoint is older than a window, and a stall total over
/// that long a span would dilute a real overload with the calm before it; the event then
/// starts a fresh checkpoint and is judged by a second reading `shortestSpan` later. That
/// second look is the price of evidence after a calm: a quarter of the window by default.
/// A sustained overload passes either check; a lone event with no stall behind it passes
/// neither and is dropped.
///
/// Pure: the driver feeds it readings and the clock.
public struct PressureEvidence: Hashable, Sendable {
    /// A trigger event waiting for its second reading.
    public struct Pending: Hashable, Sendable {
        public var trigger: FiredTrigger
        /// The trigger's stall share (hundredths of a percent, as `Percentage`).
        public var share: Percentage
    }

    struct Checkpoint: Hashable, Sendable {
        var at: MonotonicInstant
        var totalUSec: UInt64
    }

    /// The trigger window (`PressureWindowSec=`).
    public var window: TimeSpan
    private var checkpoints: [PressureResource: Checkpoint] = [:]
    public private(set) var pending: [Pending] = []

    public init(window: TimeSpan) {
        self.window = window
    }

    /// The shortest span a stall share is judged on: a quarter of the window, at least
    /// 100 ms. Shorter, one scheduler hiccup reads as a high share.
    public var shortestSpan: TimeSpan {
        TimeSpan(usec: max(window.usec / 4, 100_000))
    }

    /// When the pending events can be judged; nil when none waits.
    public var followUpAt: MonotonicInstant? {
        let resources = Set(pending.map(\.trigger.resource))
        return resources.compactMap { checkpoints[$0]?.at.advanced(by: shortestSpan) }.min()
    }

    /// Judges the events that just fired and those waiting, against the `some total=`
    /// values read now (nil: the file could not be read). Returns the confirmed events; the
    /// rest wait for their second reading, or are dropped once a full span did not bear
    /// them out (`dropped`).
    public mutating func judge(
        fired: [(trigger: FiredTrigger, share: Percentage)], totals: [PressureResource: UInt64], at now: MonotonicInstant
    ) -> (confirmed: [FiredTrigger], dropped: [FiredTrigger]) {
        var confirmed: [FiredTrigger] = []
        var dropped: [FiredTrigger] = []
        var waiting: [Pending] = []
        let candidates = pending + fired.map { Pending(trigger: $0.trigger, share: $0.share) }
        // Checkpoints older than a window are replaced before judging: a span that long says
        // nothing about the window the event is about. One that events already wait on
        // stays: their span starts there, however late the second reading comes.
        let waitingOn = Set(pending.map(\.trigger.resource))
        var fresh: Set<PressureResource> = []
        for resource in Set(candidates.map(\.trigger.resource)) where !waitingOn.contains(resource) {
            guard let total = totals[resource] else { continue }
            if let checkpoint = checkpoints[resource], total >= checkpoint.totalUSec, now.since(checkpoint.at) <= window {
                continue
            }
            checkpoints[resource] = Checkpoint(at: now, totalUSec: total)
            fresh.insert(resource)
        }
        for candidate in candidates {
            let resource = candidate.trigger.resource
            guard let total = totals[resource], let checkpoint = checkpoints[resource] else {
                // Unreadable now: the event cannot be borne out, and an unreadable file is
                // reported by the sampler.
                dropped.append(candidate.trigger)
                continue
            }
            if total < checkpoint.totalUSec {
                // The counter started over (the group was recreated): so does the span.
                checkpoints[resource] = Checkpoint(at: now, totalUSec: total)
                fresh.insert(resource)
            }
            let span = now.since(checkpoint.at)
            if fresh.contains(resource) || span < shortestSpan {
                waiting.append(candidate)
                continue
            }
            let grown = total - checkpoint.totalUSec
            // grown / span >= share, in integers: share is in hundredths of a percent.
            let (needed, overflow) = span.usec.multipliedReportingOverflow(by: UInt64(max(candidate.share.hundredths, 0)))
            let (have, haveOverflow) = grown.multipliedReportingOverflow(by: 10_000)
            if !overflow && (haveOverflow || have >= needed) {
                confirmed.append(candidate.trigger)
            } else {
                dropped.append(candidate.trigger)
            }
        }
        pending = []
        for candidate in waiting where !pending.contains(candidate) { pending.append(candidate) }
        return (Self.unique(confirmed), Self.unique(dropped.filter { !confirmed.contains($0) }))
    }

    /// A reading without events: moves a checkpoint older than a window forward, so that
    /// the next event is judged on the moments before it. Checkpoints with events waiting
    /// on them stay where they are.
    public mutating func observe(totals: [PressureResource: UInt64], at now: MonotonicInstant) {
        let waitingOn = Set(pending.map(\.trigger.resource))
        for (resource, total) in totals where !waitingOn.contains(resource) {
            if let checkpoint = checkpoints[resource], total >= checkpoint.totalUSec, now.since(checkpoint.at) <= window {
                continue
            }
            checkpoints[resource] = Checkpoint(at: now, totalUSec: total)
        }
    }

    /// Forgets everything (the watched group went away, or the triggers were registered
    /// again on another file).
    public mutating func reset() {
        checkpoints = [:]
        pending = []
    }

    private static func unique(_ triggers: [FiredTrigger]) -> [FiredTrigger] {
        var seen: [FiredTrigger] = []
        for trigger in triggers where !seen.contains(trigger) { seen.append(trigger) }
        return seen
    }
}
