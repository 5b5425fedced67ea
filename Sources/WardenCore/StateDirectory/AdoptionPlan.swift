/// What a Warden starting up does with one configured component, from what the previous
/// Warden recorded about it (`ComponentRecordsFile`) and whether the recorded process
/// still runs (`Readoption.verdict`). Pure: the supervisor carries it out.
///
/// The recorded intent outranks the process's own fate: a process found on its way out
/// (an operator's stop, a restart, a reload's replacement) is taken over and the stop is
/// finished or the restart done, so its exit is never judged a crash and `Restart=` never
/// undoes an operator's stop; one already gone left the component where the intent
/// leads (down after a stop, started after a restart or replacement). A process started
/// from other settings than the unit's now is replaced exactly as a reload replaces a
/// changed unit.
public enum AdoptionPlan: Hashable, Sendable {
    /// Nothing to take over: the stack starts the component as configured.
    case startAsConfigured
    /// An operator's stop stands: nothing runs and nothing is started (until an
    /// operator's start or restart).
    case stayStopped
    /// Take the recorded process over as the main process, then do `then`.
    case takeOver(then: FollowUp?)

    /// What follows the takeover of a process at once.
    public enum FollowUp: Hashable, Sendable {
        /// Stop it, as `warden stop` does; the component stays down.
        case stop
        /// Restart it, as `warden restart` does.
        case restart
        /// Stop it and start the unit as configured now, as a reload does for a changed
        /// unit; `reason` says why, for the log.
        case replace(reason: String)
    }

    /// - Parameters:
    ///   - record: the previous Warden's record of the component's main process, if any.
    ///   - processRuns: the record's process verified as still running (`.adopt`).
    ///   - stoppedByOperator: the records name the component as stopped by an operator.
    ///   - settings: the fingerprint of the unit as configured now.
    public static func plan(
        record: ComponentRecord?, processRuns: Bool, stoppedByOperator: Bool, settings: UnitFingerprint
    ) -> AdoptionPlan {
        let stopped = stoppedByOperator || record?.intent == .stop
        guard let record, processRuns else { return stopped ? .stayStopped : .startAsConfigured }
        if stopped { return .takeOver(then: .stop) }
        if let recorded = record.settings, recorded != settings {
            return .takeOver(
                then: .replace(
                    reason:
                        "the unit's settings changed since PID \(record.process.pid) was started (fingerprint \(recorded), now \(settings)); stopped and started with the new ones, as a reload does"
                ))
        }
        switch record.intent {
        case .restart?: return .takeOver(then: .restart)
        case .replace?:
            return .takeOver(
                then: .replace(
                    reason: "the previous Warden was replacing PID \(record.process.pid) after a reload; stopped and started with the unit as configured"))
        case .stop?, nil: return .takeOver(then: nil)
        }
    }
}
