import Logging
import WardenCore
import WardenLinux

/// Where the governor's samples come from: the host's signals and the protected group's
/// pressure (`SystemSampleSource`), or a test's script.
public struct GovernorDriverOptions: Sendable {
    /// `StateDirectory=`: where `governor.state` lives.
    public var stateDirectory: String
    /// PSI triggers and timers on the loop. Off in tests that drive `evaluate()` by hand
    /// with an injected clock.
    public var automaticWakeups: Bool
    /// `daemon` or `direct`, for `status`.
    public var source: String
    public var clock: @Sendable () -> MonotonicInstant
    /// This boot's id (a state from another boot is stale).
    public var bootID: String?

    public init(
        stateDirectory: String, automaticWakeups: Bool = true, source: String = "daemon",
        clock: @escaping @Sendable () -> MonotonicInstant = GovernorDriver.monotonicNow, bootID: String? = currentBootID()
    ) {
        self.stateDirectory = stateDirectory
        self.automaticWakeups = automaticWakeups
        self.source = source
        self.clock = clock
        self.bootID = bootID
    }
}

/// The governor at run time: reads the persisted state, samples when a PSI trigger fires,
/// a deadline comes or (while a tier is active) every `SampleIntervalSec=`, asks the pure
/// `Governor` for a decision, persists the new state **before** any write, carries the
/// writes out (`GovernorEffects`), logs the audit record and posts alerts.
///
/// Loop-confined like the `Supervisor`: after `start(on:)` every method runs on the loop
/// thread. Without a loop (`warden emergency` acting directly) it makes no wake-ups and is
/// used from one thread.
///
/// Idle cost: in tier normal with PSI triggers registered the driver sets no timer; it
/// wakes only when the kernel reports pressure.
public final class GovernorDriver: @unchecked Sendable {
    public let options: GovernorDriverOptions
    public let effects: GovernorEffects
    let logger: Logger
    let configuration: () -> Configuration
    let source: GovernorSampleSource?
    let store: GovernorStateFile
    let alerts: GovernorAlertDispatcher?

    /// The state in force (what was persisted last, unless saving failed).
    public private(set) var state: GovernorState
    /// What the state file holds (nil: nothing written yet by this driver).
    var persisted: GovernorState?
    /// The state file could not be read: the governor stays off rather than guess.
    public private(set) var disabledReason: String?
    private(set) var loop: EventLoop?
    var triggers: [PSITrigger] = []
    /// Every evidence trigger is registered: tier normal needs no timer.
    public internal(set) var triggersActive = false
    /// The PSI file whose trigger went with its group (the protected slice's last component
    /// stopped): looked for at each sample, and the triggers registered again once it is back.
    var triggersLostWith: String?
    var pendingFired: [FiredTrigger] = []
    /// Trigger events are acted on only once the stall totals bear them out.
    var evidence = PressureEvidence(window: TimeSpan.seconds(1))
    var timer: EventLoop.TimerID?
    /// The last full reading of the targets' values (`recentObservation`): the targets as
    /// configured, as read, whether systemd's slices were read, when, and the changes on
    /// record after that look (a change of record since makes the reading stale).
    var lastObservation: (
        unobserved: [GovernorTarget], observed: [GovernorTarget], withSlices: Bool, at: MonotonicInstant,
        changes: [GovernorChange]
    )?
    /// How long a full reading stands for holding looks: how late an operator's own change
    /// to a throttled value is noticed (and reported as a conflict) at most. A restarted
    /// component's group is noticed at the next look.
    static let observationRefresh = TimeSpan.seconds(5)
    var stoodDown = false
    /// Conflicts met at the last restore, for `status`.
    var lastConflicts: [GovernorConflict] = []
    /// What the governor cannot do here, said once at start and listed by `status`.
    public private(set) var notes: [String] = []
    /// The groups it leaves alone because they hold Warden's own stack
    /// (`Governor.shelteredTargets`), as last said in the log and an alert.
    public private(set) var sheltered: [String] = []
    var saidOnce: Set<String> = []
    /// CPU signals that would raise the tier with no contender (`GovernorDecision.uncontended`):
    /// the line, said once per episode, and the last sample that held the tier for it. The
    /// episode ends when the tier rises, or after `CooldownSec=` without such a sample.
    var uncontended: (line: String, lastAt: MonotonicInstant)?
    /// Actions carried out since this driver started, by kind, for `/metrics`.
    public private(set) var actionCounts: [String: UInt64] = [:]

    /// What `/metrics` shows of the governor (loop thread).
    public var metricsSnapshot: GovernorMetricsSnapshot {
        GovernorMetricsSnapshot(tier: state.tier, manualEmergency: state.mode.isManual, actionCounts: actionCounts)
    }

    public init(
        configuration: @escaping () -> Configuration, effects: GovernorEffects, source: GovernorSampleSource?,
        options: GovernorDriverOptions, logger: Logger, alerts: GovernorAlertDispatcher? = nil
    ) {
        self.configuration = configuration
        self.effects = effects
        self.source = source
        self.options = options
        self.logger = logger
        self.alerts = alerts
        self.store = GovernorStateFile(stateDirectory: options.stateDirectory)
        self.state = .initial(at: options.clock(), bootID: options.bootID)
    }

    public static let monotonicNow: @Sendable () -> MonotonicInstant = {
        MonotonicInstant(usec: EventLoop.monotonicNanoseconds() / 1_000)
    }

    var settings: GovernorSettings { configuration().settings.governor }
    /// `[Governor] Enabled=` (default yes): automatic decisions.
    public var automaticEnabled: Bool { settings.enabled ?? true }
    var thresholds: GovernorThresholds { GovernorThresholds(settings) }

    // MARK: Start

    /// Reads the state file and continues from it (a state of another boot is discarded).
    /// For `warden emergency` without a daemon, and the first step of `start(on:)`.
    public func loadState() -> Result<Void, GovernorStateFileError> {
        switch store.load() {
        case .failure(let error):
            disabledReason = "the state file cannot be used: \(error)"
            return .failure(error)
        case .success(let stored):
            let resumed = GovernorState.resumed(from: stored, bootID: options.bootID, at: options.clock())
            state = resumed.state
            persisted = stored
            if resumed.discarded {
                logger.notice(
                    "governor: \(store.path) is from another boot (cgroups and runtime properties did not survive it); starting afresh",
                    metadata: ["event": "governor-resume"])
            }
            return .success(())
        }
    }

    /// The daemon's start: resume or restore what the state file holds, register the PSI
    /// triggers (or fall back to sampling, said once), and take the first look.
    public func start(on loop: EventLoop) {
        self.loop = loop
        let configuration = configuration()
        if let reason = effects.groupsUnavailableReason, !GovernorTarget.targets(for: configuration).isEmpty {
            note("Warden's slices and components are not governed: \(reason)")
        }
        if let reason = effects.slicesUnavailableReason {
            note("ThrottleSlices= (\(settings.effectiveThrottleSlices.joined(separator: " "))) not throttled: \(reason)")
        }
        if !settings.alertWebhooks.isEmpty {
            let names = settings.alertWebhooks.map { WebhookAlertSink(url: $0).name }.joined(separator: ", ")
            note("alerts also go to \(names) (at most one per rule every \(thresholds.alertCooldown.usec / 1_000_000)s)")
        }
        for line in notes { logger.notice("governor: \(line)", metadata: ["event": "governor-notice"]) }
        reportSheltered(effects.targets(for: configuration))
        if case .failure(let error) = loadState() {
            logger.error(
                "governor: off: \(error). Restore by hand from it, or remove it, then restart Warden",
                metadata: ["event": "governor-off"])
            return
        }
        do {
            try store.recordGroups(effects.groups?.record)
        } catch {
            logger.warning("governor: \(error) (warden emergency without a daemon will need --cgroup-root)")
        }
        let hasRecord = !state.changes.isEmpty || state.tier != .normal || state.mode.isManual
        if hasRecord {
            let what = "tier \(state.tier.rawValue), \(state.mode.isManual ? "manual" : "automatic"), \(state.changes.count) change(s)"
            if automaticEnabled || state.mode.isManual {
                logger.notice("governor: resuming from \(store.path): \(what)", metadata: ["event": "governor-resume"])
            } else {
                logger.notice(
                    "governor: [Governor] Enabled=no; restoring what \(store.path) records: \(what)",
                    metadata: ["event": "governor-resume"])
                _ = restoreAll(cause: "[Governor] Enabled=no at start")
            }
        }
        if automaticEnabled && options.automaticWakeups { registerTriggers(on: loop) }
        if automaticEnabled {
            let paths = triggers.map(\.path).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            let how = triggersActive ? "PSI triggers on \(paths.joined(separator: ", "))" : "sampling every \(thresholds.sampleInterval.systemdString())"
            logger.info("governor: on, tier \(state.tier.rawValue) (\(how))", metadata: ["event": "governor-start"])
        } else {
            logger.info("governor: automatic decisions off ([Governor] Enabled=no); warden emergency still works")
        }
        if hasRecord && (automaticEnabled || state.mode.isManual) {
            evaluate()
        } else {
            schedule()
        }
    }

    func registerTriggers(on loop: EventLoop) {
        guard let source else { return }
        let t = thresholds
        var failures: [String] = []
        var registered = 0
        var wanted = 0
        let levels: [(PressureResource, GovernorTier)] = [(.cpu, .warning), (.cpu, .critical), (.memory, .critical), (.io, .critical)]
        for (resource, level) in levels {
            guard let spec = t.trigger(for: resource, level: level), let path = source.triggerPath(resource) else { continue }
            wanted += 1
            let result = PSITrigger.register(
                path: path, stallUSec: spec.stallUSec, windowUSec: spec.windowUSec, on: loop,
                onFire: { [unowned self] in self.fired(FiredTrigger(resource: resource, level: level)) },
                onGone: { [unowned self] in self.triggerGone(path) })
            switch result {
            case .success(let trigger):
                triggers.append(trigger)
                registered += 1
                if let note = trigger.note { sayOnce("psi-window", "governor: PSI trigger \(note)") }
            case .failure(let error):
                if !failures.contains(error.description) { failures.append(error.description) }
            }
        }
        for resource in PressureResource.allCases {
            guard let spec = t.trigger(for: resource, level: .critical), let path = source.wakeUpPath(resource) else { continue }
            if case .success(let trigger) = PSITrigger.register(
                path: path, stallUSec: spec.stallUSec, windowUSec: spec.windowUSec, on: loop,
                onFire: { [unowned self] in self.hostPressureWokeUp() })
            {
                triggers.append(trigger)
            }
        }
        triggersActive = wanted > 0 && registered == wanted
        if !triggersActive {
            let why = failures.isEmpty ? "no PSI file to watch" : failures.joined(separator: "; ")
            let line = "PSI triggers unavailable (\(why)): sampling every \(t.sampleInterval.systemdString()) instead"
            note(line)
            logger.notice("governor: \(line)", metadata: ["event": "governor-sampling"])
        }
    }

    /// A host PSI file fired: not evidence (the host is not the protected group), but a sign
    /// the CPUs are contended now, so CPU use is judged on the moments that follow: an
    /// overload that begins while a warning holds is judged a quarter of a second after the
    /// host's trigger, not over a sample interval that began before it. Once critical, the
    /// samples every interval are enough and a look costs the critical tasks kernel time.
    func hostPressureWokeUp() {
        guard state.tier < .critical else { return }
        source?.pressureWokeUp()
        evaluate()
    }

    func fired(_ trigger: FiredTrigger) {
        pendingFired.append(trigger)
        // A trigger at or below the tier in force cannot raise it: the sample due within
        // `SampleIntervalSec=` judges it, without a look of its own (under an overload the
        // kernel fires each trigger once per window, and every look is kernel work a
        // waking critical task may wait for).
        if trigger.level <= state.tier, timer != nil { return }
        evaluate()
    }

    func triggerGone(_ path: String) {
        triggers.removeAll { !$0.isActive }
        evidence.reset()
        guard triggersActive else { return }
        triggersActive = false
        triggersLostWith = path
        let line = "the PSI trigger on \(path) is gone (group removed): sampling every \(thresholds.sampleInterval.systemdString()) instead"
        note(line)
        logger.notice("governor: \(line)", metadata: ["event": "governor-sampling"])
        schedule()
    }

    /// When Warden creates the group again (the component starts again), the triggers come
    /// back and the governor again sleeps until pressure wakes it, instead of sampling every
    /// interval for the rest of the run.
    func rearmTriggersIfGroupIsBack() {
        guard let path = triggersLostWith, let loop, options.automaticWakeups, FileIO.exists(path) else { return }
        triggersLostWith = nil
        evidence.reset()
        for trigger in triggers { trigger.cancel() }
        triggers = []
        // On failure registerTriggers says why once, and sampling goes on as before.
        registerTriggers(on: loop)
        guard triggersActive else { return }
        notes.removeAll { $0.hasPrefix("the PSI trigger on ") }
        logger.notice("governor: PSI triggers on \(path) again (its group was created again)", metadata: ["event": "governor-triggers"])
    }

    // MARK: Deciding

    /// Samples, decides and carries the decision out; then sets the next wake-up.
    public func evaluate() {
        guard disabledReason == nil, !stoodDown else { return }
        rearmTriggersIfGroupIsBack()
        let fired = pendingFired
        pendingFired = []
        let now = options.clock()
        let thresholds = thresholds
        let unobserved = effects.targets(for: configuration())
        var sample = GovernorSample(at: now)
        // In manual mode the operator is in charge: the sample only serves the expiry.
        if automaticEnabled && !state.mode.isManual, let source {
            source.useLongestCPUUseSpan(thresholds.longestCPUUseSpan)
            source.useThrottleTargets(Governor.throttleTargets(unobserved))
            // Only an event that could raise the tier starts a fresh CPU-use window (and the
            // follow-up look it asks for); one at or below the tier in force is judged on the
            // sample's own reading.
            let (taken, errors) = source.sample(at: now, firedTriggers: fired.filter { $0.level > state.tier })
            sample = taken
            for error in errors {
                sayOnce("read \(error.path)", "governor: \(error) (the signal is left out of decisions)", level: .warning)
            }
            sample.firedTriggers = confirmedTriggers(fired, totals: sample.pressureTotals, at: now, thresholds: thresholds)
        }
        let level = GovernorAssessment(sample, thresholds).escalation
        let readSlices = state.mode.isManual || state.tier >= .critical || level >= .critical
            || state.changes.contains { $0.kind == .systemdSlice }
        // A look that holds the tier needs the signals, not the groups' values: those come
        // from the last full reading while the decision on them changes nothing, and are
        // read again (cgroupfs, and systemd's slices over D-Bus) as soon as it would.
        var decision: GovernorDecision?
        var targets: [GovernorTarget] = []
        var readAt: MonotonicInstant?
        if let recent = recentObservation(of: unobserved, withSlices: readSlices, at: now) {
            let held = Governor.decide(state: state, sample: sample, targets: recent.targets, thresholds: thresholds)
            if held.actions.isEmpty && held.audit == nil {
                decision = held
                targets = recent.targets
                readAt = recent.at
            }
        }
        var fresh = false
        if decision == nil {
            guard let observed = observedTargets(unobserved, readSlices: readSlices, purpose: "deciding") else {
                schedule()
                return
            }
            fresh = true
            targets = observed
            decision = Governor.decide(state: state, sample: sample, targets: observed, thresholds: thresholds)
        }
        guard let decision else { return }
        reportSheltered(targets)
        if decision.audit == nil {
            // Tier changes and writes are logged by commit; a look that changed nothing only
            // at debug level, for an operator (or a test) asking why a tier holds.
            let reading = readAt.map { " (groups as read \(now.since($0).usec / 1_000) ms ago)" } ?? ""
            logger.debug(
                "governor: held tier \(decision.state.tier.rawValue); readings: \(GovernorAssessment(sample, thresholds).readings.map(\.description).joined(separator: ", "))\(fired.isEmpty ? "" : "; triggers fired")\(reading)",
                metadata: ["event": "governor-look"])
        }
        noteUncontended(decision, at: now, thresholds: thresholds)
        commit(decision)
        if fresh {
            // What was read stands for the next looks unless this one wrote over it.
            let wrote = decision.actions.contains { if case .alert = $0 { false } else { true } }
            lastObservation = wrote ? nil : (unobserved, targets, readSlices, now, state.changes)
        }
        schedule()
    }

    /// Says once per episode that CPU signals found nothing to throttle, and keeps the
    /// line for `status` while the episode lasts.
    func noteUncontended(_ decision: GovernorDecision, at now: MonotonicInstant, thresholds: GovernorThresholds) {
        if decision.state.tier > state.tier {
            uncontended = nil
            return
        }
        guard let line = decision.uncontended else { return }
        let ongoing = uncontended.map { now.since($0.lastAt) < thresholds.cooldown } ?? false
        if !ongoing {
            logger.notice("governor: \(line)", metadata: ["event": "governor-uncontended", "tier": .string(decision.state.tier.rawValue)])
        }
        uncontended = (line, now)
    }

    /// The line of the episode in course, for `status`.
    var uncontendedNote: String? {
        guard let uncontended, options.clock().since(uncontended.lastAt) < thresholds.cooldown else { return nil }
        return uncontended.line
    }

    /// The trigger events the stall totals bear out (`PressureEvidence`); events still
    /// waiting for their second reading set a follow-up, and events with no stall behind
    /// them are dropped with a line in the log.
    func confirmedTriggers(
        _ fired: [FiredTrigger], totals: [PressureResource: UInt64], at now: MonotonicInstant, thresholds: GovernorThresholds
    ) -> [FiredTrigger] {
        evidence.window = thresholds.pressureWindow
        let shares = fired.compactMap { trigger in
            thresholds.triggerShare(for: trigger.resource, level: trigger.level).map { (trigger: trigger, share: $0) }
        }
        let judged = evidence.judge(fired: shares, totals: totals, at: now)
        evidence.observe(totals: totals, at: now)
        for trigger in judged.dropped {
            sayOnce(
                "unconfirmed \(trigger)",
                "governor: \(trigger) fired, but the stall total did not bear it out over \(evidence.shortestSpan.systemdString()); ignored (said once per trigger)")
        }
        return judged.confirmed
    }

    /// The targets of the last full reading when it can stand for the groups now: the same
    /// targets (no reload changed them), the same changes on record (nothing written
    /// since), systemd's slices read if they are needed, every group the same one (a `stat`
    /// each), and no older than `observationRefresh`.
    func recentObservation(of unobserved: [GovernorTarget], withSlices: Bool, at now: MonotonicInstant)
        -> (targets: [GovernorTarget], at: MonotonicInstant)?
    {
        guard let last = lastObservation, last.unobserved == unobserved, last.changes == state.changes,
            last.withSlices || !withSlices, now.since(last.at) < Self.observationRefresh,
            effects.sameGroups(as: last.observed)
        else { return nil }
        return (last.observed, last.at)
    }

    /// The targets with their current values; nil (after logging) when a systemd slice the
    /// governor changed could not be read: deciding then could drop its record.
    func observedTargets(readSlices: Bool, purpose: String) -> [GovernorTarget]? {
        observedTargets(effects.targets(for: configuration()), readSlices: readSlices, purpose: purpose)
    }

    func observedTargets(_ unobserved: [GovernorTarget], readSlices: Bool, purpose: String) -> [GovernorTarget]? {
        let (targets, problems) = effects.observe(unobserved, readSlices: readSlices)
        let changedSlices = Set(state.changes.filter { $0.kind == .systemdSlice }.map(\.target))
        let blocking = problems.filter { problem in changedSlices.contains { problem.hasPrefix("reading \($0) ") } }
        for problem in problems { sayOnce(problem, "governor: \(problem)", level: .warning) }
        if !blocking.isEmpty {
            logger.error(
                "governor: not \(purpose) now: a slice it changed cannot be read (\(blocking.joined(separator: "; "))); the state file keeps the record",
                metadata: ["event": "governor-error"])
            return nil
        }
        return targets
    }

    /// Persists the decision's state (before any write), carries out its actions, logs the
    /// audit record and posts the alerts.
    @discardableResult
    func commit(_ decision: GovernorDecision) -> [String] {
        var next = decision.state
        next.bootID = options.bootID ?? next.bootID
        var saveFailed = false
        if next != persisted {
            do {
                try store.save(next)
                persisted = next
            } catch {
                saveFailed = true
                logger.error(
                    "governor: saving the state failed: \(error); no group is throttled without a record, restores go ahead",
                    metadata: ["event": "governor-error"])
            }
        }
        let previous = state
        state = next
        let failures = effects.perform(decision.actions, skipTightening: saveFailed)
        for action in decision.actions { actionCounts[action.metricsKind, default: 0] += 1 }
        if !decision.conflicts.isEmpty || !(decision.audit?.restored.isEmpty ?? true) {
            lastConflicts = decision.conflicts
        }
        if let record = decision.audit { logAudit(record, failures: failures, modeChanged: previous.mode != next.mode) }
        for action in decision.actions {
            if case .alert(let alert) = action { alerts?.post(alert) }
        }
        return failures
    }

    func logAudit(_ record: GovernorAuditRecord, failures: [String], modeChanged: Bool) {
        // The record's first part restates the tier change; the head says it in the form
        // scripts wait for: "governor: tier critical (from normal; signals)".
        var parts: [String] = []
        let rest = Self.afterFirstPart(record.description)
        if !rest.isEmpty { parts.append(rest) }
        let head =
            record.tierChanged
            ? "governor: tier \(record.to.rawValue) (from \(record.from.rawValue); \(record.cause))"
            : "governor: tier \(record.to.rawValue) kept (\(record.cause))"
        if !failures.isEmpty { parts.append("failed: " + failures.joined(separator: "; ")) }
        let metadata: Logger.Metadata = [
            "event": .string(record.tierChanged ? "governor-tier" : "governor-change"), "tier": .string(record.to.rawValue),
            "previous_tier": .string(record.from.rawValue), "cause": .string(record.cause),
        ]
        let level: Logger.Level = record.to > record.from || !record.conflicts.isEmpty || !failures.isEmpty ? .warning : .notice
        logger.log(level: level, "\(([head] + parts).joined(separator: "; "))", metadata: metadata)
    }

    /// When the governor must look again if no trigger fires: the decision function's
    /// deadline, every `SampleIntervalSec=` while a tier is active (or when there are no
    /// triggers), and the sample source's follow-up. Nil in tier normal with triggers in
    /// place and nothing pending: an idle Warden then sets no timer for the governor.
    func nextEvaluation() -> MonotonicInstant? {
        guard disabledReason == nil, !stoodDown else { return nil }
        let thresholds = thresholds
        var wanted: [MonotonicInstant] = []
        if let deadline = Governor.nextDeadline(state, thresholds: thresholds) { wanted.append(deadline) }
        if state.tier > .normal || (automaticEnabled && !triggersActive) {
            wanted.append(options.clock().advanced(by: thresholds.sampleInterval))
        }
        // A trigger after a calm spell: CPU use is read a moment later, not a whole
        // interval later (the reaction time of the bench's default thresholds). Only while
        // that could still escalate to critical: once throttled, every extra look is work
        // in the kernel (cgroup and /proc reads) that a waking critical task may wait for.
        if automaticEnabled, !state.mode.isManual, state.tier < .critical, let followUp = source?.followUpAt {
            wanted.append(followUp)
        }
        // Tier warning just entered on rising signals is most often the first moments of
        // an overload: for one trigger window the governor looks again as soon as CPU use
        // can be read anew, not a whole interval later, so that an overload which keeps
        // growing is throttled at once. A warning that holds longer (a busy host's load),
        // one whose signals calm down, and one stepped down to from critical keep the
        // interval: at most a window's worth of extra looks per rise.
        if automaticEnabled, !state.mode.isManual, state.tier == .warning, state.calmSince == nil {
            let now = options.clock()
            if now.since(state.since) < thresholds.pressureWindow {
                wanted.append(now.advanced(by: GovernorSampler.shortestCPUUseSpan))
            }
        }
        // A trigger event waiting for the second reading that confirms or drops it, when
        // that could raise the tier; one at or below the tier in force waits for the next
        // sample, which judges it over the longer span since its checkpoint.
        if automaticEnabled, !state.mode.isManual, evidence.pending.contains(where: { $0.trigger.level > state.tier }),
            let followUp = evidence.followUpAt
        {
            wanted.append(followUp)
        }
        // Reasons to look due a few milliseconds apart are served by one look.
        return Governor.nextLook(among: wanted)
    }

    func schedule() {
        guard let loop, options.automaticWakeups else { return }
        if let timer { loop.cancelTimer(timer) }
        timer = nil
        let next = nextEvaluation()
        guard let next else { return }
        let (ns, overflow) = next.usec.multipliedReportingOverflow(by: 1_000)
        timer = loop.addTimer(atMonotonicNanoseconds: overflow ? .max : ns) { [unowned self] in
            self.timer = nil
            self.evaluate()
        }
    }

    /// Says which groups are never throttled because they hold Warden's own stack, and the
    /// way out: in the log and an alert when the list changes (at start, after a reload),
    /// not at every look; `status` lists them all along.
    func reportSheltered(_ targets: [GovernorTarget]) {
        let lines = Governor.shelteredTargets(targets)
        guard lines != sheltered else { return }
        let added = lines.filter { !sheltered.contains($0) }
        sheltered = lines
        guard !added.isEmpty else { return }
        for line in added { logger.warning("governor: \(line)", metadata: ["event": "governor-sheltered"]) }
        let now = options.clock()
        alerts?.post(
            GovernorAlert(
                rule: "sheltered", at: now, from: state.tier, to: state.tier, readings: [],
                text: "Warden governor: " + added.joined(separator: "; ")))
    }

    // MARK: Saying things once

    func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    /// Adds a line to what `status` lists as the governor's limits here.
    public func addNote(_ text: String) { note(text) }

    func sayOnce(_ key: String, _ text: String, level: Logger.Level = .info) {
        guard saidOnce.insert(key).inserted else { return }
        logger.log(level: level, "\(text)", metadata: ["event": "governor-notice"])
    }

    /// The protected group for the sampler: the outermost `Priority=critical` group (a slice
    /// before a component); nil to judge the host when nothing is critical. With critical
    /// groups in several places the first is watched, and the note says which are not.
    public static func protectedGroup(of targets: [GovernorTarget]) -> (path: String?, note: String?) {
        let critical = targets.filter { $0.kind == .group && $0.priority == .critical }
        let outermost = critical.filter { c in
            !critical.contains { $0.path != c.path && c.path.hasPrefix($0.path + "/") }
        }.sorted { ($0.name.hasSuffix(".slice") ? 0 : 1, $0.path) < ($1.name.hasSuffix(".slice") ? 0 : 1, $1.path) }
        guard let first = outermost.first else { return (nil, nil) }
        guard outermost.count > 1 else { return (first.path, nil) }
        let others = outermost.dropFirst().map(\.name).joined(separator: ", ")
        return (
            first.path,
            "the governor judges the pressure of \(first.name) only; also critical but not watched: \(others) "
                + "(put critical components in one slice)"
        )
    }
}
