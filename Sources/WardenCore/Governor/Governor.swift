// The governor's decision function: (state, sample, targets, settings) → (state, actions).
// It never reads or writes a file; the runtime reads the samples and the targets' current
// values, carries out the actions and persists the state.

/// What the runtime does for one decision, in order.
public enum GovernorAction: Hashable, Sendable {
    /// Write these values to the group (through the cgroupfs manager), in order.
    case apply(target: String, path: String, writes: [CgroupWrite])
    /// Write the previous values back, in order.
    case restore(target: String, path: String, writes: [CgroupWrite])
    /// Write `bytes` to the group's `memory.reclaim` (a request, nothing to restore).
    case reclaimMemory(target: String, path: String, bytes: UInt64)
    /// Set the systemd slice's runtime properties in one D-Bus `SetUnitProperties` (runtime):
    /// its `CPUQuotaPerSecUSec` and `CPUWeight` (`GovernorSliceProperty`), in that order.
    case throttleSystemdSlice(name: String, properties: [SystemdProperty])
    /// Set them back to the values recorded; `UINT64_MAX` is systemd's unset (no quota, no
    /// weight of the slice's own).
    case restoreSystemdSlice(name: String, properties: [SystemdProperty])
    /// Tell the alert sinks.
    case alert(GovernorAlert)

    /// The cgroup writes of a group action (`memory.reclaim` included), empty for the others.
    public var cgroupWrites: [CgroupWrite] {
        switch self {
        case .apply(_, _, let writes), .restore(_, _, let writes): writes
        case .reclaimMemory(_, _, let bytes): [CgroupWrite("memory.reclaim", String(bytes))]
        default: []
        }
    }
}

/// The outcome of one decision.
public struct GovernorDecision: Hashable, Sendable {
    /// The state to keep, and to persist when it differs from the previous one (before
    /// carrying out the actions: a crash in between then still knows every value to restore).
    public var state: GovernorState
    public var actions: [GovernorAction]
    /// The log record; nil when nothing happened worth logging.
    public var audit: GovernorAuditRecord?
    /// Set when CPU signals would have raised the tier but the throttle targets used next
    /// to no CPU (`GovernorAssessment.uncontendedLine`), with the tier kept: what the
    /// runtime says once per such episode.
    public var uncontended: String?

    public var conflicts: [GovernorConflict] { audit?.conflicts ?? [] }
}

/// A manual emergency request the governor refuses.
public struct GovernorManualError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public enum Governor {
    /// One decision from a sample: escalates as soon as a signal crosses a higher threshold
    /// (one trigger window), goes to severe when critical signals persist for
    /// `SevereAfterSec=`, steps down one tier after the signals stayed below their lower
    /// (warning) thresholds for `CooldownSec=`, and brings the groups in line with the tier.
    /// In manual mode the sample only serves to notice the expiry.
    public static func decide(
        state: GovernorState, sample: GovernorSample, targets: [GovernorTarget], settings: GovernorSettings
    ) -> GovernorDecision {
        decide(state: state, sample: sample, targets: targets, thresholds: GovernorThresholds(settings))
    }

    public static func decide(
        state: GovernorState, sample: GovernorSample, targets: [GovernorTarget], thresholds: GovernorThresholds
    ) -> GovernorDecision {
        let now = sample.at
        let assessment = GovernorAssessment(sample, thresholds)
        var next = state
        var cause = "signals"
        if case .manual(let request, let until) = state.mode {
            if let until, now >= until {
                cause = "manual emergency expired"
                next.mode = .automatic
                enter(.normal, &next, at: now)
            } else {
                let desired = manualDesired(request, targets: targets, thresholds: thresholds)
                return reconcile(
                    from: state, to: next, desired: desired, targets: targets, thresholds: thresholds, at: now,
                    cause: "manual emergency", readings: assessment.readings)
            }
        }
        step(&next, assessment, at: now, thresholds)
        let desired = automaticDesired(next, memoryPressed: assessment.memoryPressed, targets: targets, thresholds: thresholds)
        let causes = assessment.causes
        let readings = next.tier > state.tier ? causes + assessment.readings.filter { !causes.contains($0) } : assessment.readings
        var decision = reconcile(
            from: state, to: next, desired: desired, targets: targets, thresholds: thresholds, at: now, cause: cause,
            readings: readings)
        if let held = assessment.uncontended.map(\.level).max(), held > next.tier,
            let line = assessment.uncontendedLine(sample, thresholds)
        {
            decision.uncontended = line + "; tier \(next.tier.rawValue) kept"
        }
        return decision
    }

    /// The groups whose CPU use says whether an overload has a contender: what the
    /// critical tier throttles, each counted once (a batch group inside another is covered
    /// by it). The runtime reads their `cpu.stat` into `GovernorSample.targetsCPUUsage`.
    public static func throttleTargets(_ targets: [GovernorTarget]) -> [GovernorTarget] {
        selectGroups(targets, priorities: [.batch]) + targets.filter { $0.kind == .systemdSlice && $0.priority != .critical }
    }

    /// `warden emergency on`: the critical tier (severe with `--freeze batch`) for the
    /// named targets, or for what the critical tier throttles when none are named.
    /// Refuses unknown names and critical groups. Calling it again replaces the request;
    /// values already written keep their original previous values.
    public static func manualOn(
        state: GovernorState, request: ManualEmergencyRequest, at now: MonotonicInstant, targets: [GovernorTarget],
        thresholds: GovernorThresholds
    ) -> Result<GovernorDecision, GovernorManualError> {
        for name in request.targets {
            let named = targets.filter { $0.name == name }
            guard !named.isEmpty else {
                let known = Set(targets.filter { $0.priority != .critical }.map(\.name)).sorted().joined(separator: ", ")
                return .failure(GovernorManualError(message: "no slice or component named '\(name)'; known: \(known)"))
            }
            if named.allSatisfy({ isProtected($0, targets) }) {
                if let reason = named.compactMap(\.sheltered).first {
                    return .failure(GovernorManualError(message: "'\(name)': \(reason)"))
                }
                let held = named.flatMap { nonBatchComponents(in: $0, targets) }
                if !named.contains(where: { $0.priority == .critical || hasCriticalInside($0, targets) }), !held.isEmpty {
                    let names = held.map { "\($0.name) (Priority=\($0.priority.rawValue))" }.joined(separator: ", ")
                    return .failure(
                        GovernorManualError(
                            message: "'\(name)' is or holds a component that is not Priority=batch (\(names)), which the governor never throttles; name the batch groups instead"))
                }
                return .failure(
                    GovernorManualError(
                        message: "'\(name)' is or holds a Priority=critical group, which the governor never throttles"))
            }
        }
        var next = state
        next.mode = .manual(request, until: request.duration.map { now.advanced(by: $0) })
        enter(request.freezeBatch ? .severe : .critical, &next, at: now)
        let desired = manualDesired(request, targets: targets, thresholds: thresholds)
        return .success(
            reconcile(
                from: state, to: next, desired: desired, targets: targets, thresholds: thresholds, at: now,
                cause: "manual emergency on", readings: []))
    }

    /// `warden emergency off`: back to normal, everything restored (conflicts reported);
    /// automatic decisions resume with the next sample. Nil when manual mode is not on.
    public static func manualOff(
        state: GovernorState, at now: MonotonicInstant, targets: [GovernorTarget], thresholds: GovernorThresholds
    ) -> GovernorDecision? {
        guard state.mode.isManual else { return nil }
        var next = state
        next.mode = .automatic
        enter(.normal, &next, at: now)
        return reconcile(
            from: state, to: next, desired: [], targets: targets, thresholds: thresholds, at: now,
            cause: "manual emergency off", readings: [])
    }

    /// Back to normal with everything restored, whatever the mode: for a Warden that starts
    /// with `[Governor] Enabled=no` and finds a state with changes, or that shuts down.
    public static func standDown(
        state: GovernorState, at now: MonotonicInstant, targets: [GovernorTarget], thresholds: GovernorThresholds,
        cause: String
    ) -> GovernorDecision {
        var next = state
        next.mode = .automatic
        enter(.normal, &next, at: now)
        return reconcile(
            from: state, to: next, desired: [], targets: targets, thresholds: thresholds, at: now, cause: cause, readings: [])
    }

    /// When the runtime must sample again even if no trigger fires: the end of the
    /// cooldown, of `SevereAfterSec=`, or of manual mode. Nil when only triggers matter.
    /// While a tier is active the runtime also samples every `SampleIntervalSec=`.
    public static func nextDeadline(_ state: GovernorState, thresholds: GovernorThresholds) -> MonotonicInstant? {
        var deadlines: [MonotonicInstant] = []
        if case .manual(_, let until) = state.mode {
            if let until { deadlines.append(until) }
        } else {
            if let calm = state.calmSince, state.tier > .normal { deadlines.append(calm.advanced(by: thresholds.cooldown)) }
            if let critical = state.criticalSince, state.tier == .critical {
                deadlines.append(critical.advanced(by: thresholds.severeAfter))
            }
        }
        return deadlines.min()
    }

    /// Looks due within this long of the first one are taken together with it.
    public static let lookSlack = TimeSpan(usec: 50_000)

    /// When to look, of the instants something wants a look at: the first, or, when others
    /// fall within `lookSlack` after it, the last of those. Each look is kernel work (cgroup
    /// and `/proc` reads) a waking critical task may wait for, and the reasons to look again
    /// after a trigger come due a few milliseconds apart: the evidence's second reading a
    /// quarter of the window later, CPU use 26 ticks later, the throttle targets' usage 250 ms
    /// later. Each of them is satisfied by a look at or after its instant.
    public static func nextLook(among instants: [MonotonicInstant]) -> MonotonicInstant? {
        guard let first = instants.min() else { return nil }
        let horizon = first.advanced(by: lookSlack)
        return instants.filter { $0 <= horizon }.max()
    }

    // MARK: Tiers

    private static func enter(_ tier: GovernorTier, _ state: inout GovernorState, at now: MonotonicInstant) {
        state.tier = tier
        state.since = now
        state.calmSince = nil
        state.criticalSince = tier >= .critical && !state.mode.isManual ? now : nil
    }

    /// The hysteresis: up at once, down one tier per cooldown of calm.
    private static func step(
        _ state: inout GovernorState, _ assessment: GovernorAssessment, at now: MonotonicInstant, _ t: GovernorThresholds
    ) {
        // Nothing read (every file unreadable): no evidence either way, hold the tier.
        guard !assessment.readings.isEmpty else { return }
        // Rising needs a contender; holding a tier needs one held back by the throttle
        // (using some of its quota: `GovernorAssessment.holding`), and so does severe.
        let level = assessment.holding
        let rising = assessment.escalation
        if (state.tier >= .critical ? level : rising) == .critical {
            if state.criticalSince == nil { state.criticalSince = now }
        } else {
            state.criticalSince = nil
        }
        if rising > state.tier {
            let criticalSince = state.criticalSince
            enter(rising, &state, at: now)
            state.criticalSince = criticalSince
            return
        }
        if state.tier == .critical, level == .critical, let since = state.criticalSince, now.since(since) >= t.severeAfter {
            let criticalSince = state.criticalSince
            enter(.severe, &state, at: now)
            state.criticalSince = criticalSince
            return
        }
        guard level == .normal, state.tier > .normal else {
            state.calmSince = nil
            return
        }
        let calm = state.calmSince ?? now
        if now.since(calm) >= t.cooldown {
            enter(state.tier.lower, &state, at: now)
            // The next step down needs a cooldown of its own.
            state.calmSince = state.tier > .normal ? now : nil
        } else {
            state.calmSince = calm
        }
    }

    // MARK: What a tier wants

    struct Desired {
        var target: GovernorTarget
        var file: String
        var value: String
        /// For a tightened `memory.high`: what to ask `memory.reclaim` for when first written.
        var reclaimBytes: UInt64?
        /// A value that gives more (a critical group's `cpu.weight`): written only where it
        /// allows more than what is there, where every other value must allow less.
        var raises = false
    }

    static func hasCriticalInside(_ target: GovernorTarget, _ targets: [GovernorTarget]) -> Bool {
        targets.contains { $0.priority == .critical && target.contains($0) }
    }

    /// Critical, holding a critical group, or holding Warden's own stack: never throttled.
    static func isProtected(_ target: GovernorTarget, _ targets: [GovernorTarget]) -> Bool {
        target.priority == .critical || hasCriticalInside(target, targets) || !nonBatchComponents(in: target, targets).isEmpty
    }

    /// The components in `target` (itself included) that are not `Priority=batch`: a group
    /// holding one is never given less CPU, whatever its own priority.
    static func nonBatchComponents(in target: GovernorTarget, _ targets: [GovernorTarget]) -> [GovernorTarget] {
        targets.filter { $0.kind == .group && $0.isComponent && $0.priority != .batch && target.contains($0) }
    }

    /// What the governor leaves alone although the tier or a manual request would lower it,
    /// one line each with the way out: `ThrottleSlices=` holding Warden or a component that
    /// is not batch, and batch groups holding such a component.
    public static func shelteredTargets(_ targets: [GovernorTarget]) -> [String] {
        var lines = targets.compactMap(\.sheltered)
        for target in targets where target.kind == .group && target.priority == .batch && !hasCriticalInside(target, targets) {
            let held = nonBatchComponents(in: target, targets)
            guard !held.isEmpty else { continue }
            let names = held.map { "\($0.name) (Priority=\($0.priority.rawValue))" }.joined(separator: ", ")
            lines.append(
                "\(target.name) is never throttled: it holds \(names); the batch groups inside it are throttled one by one "
                    + "(give the others a slice of their own to throttle \(target.name) as a whole)")
        }
        return lines
    }

    /// The groups of `priorities` that hold no critical group, outermost first: a group
    /// inside another selected group is covered by it, unless `keepInner` says otherwise.
    /// For a change that lowers CPU (`lowersCPU`), not the groups that hold a component
    /// that is not batch either: the batch groups inside them are chosen instead.
    static func selectGroups(
        _ targets: [GovernorTarget], priorities: Set<Priority>, lowersCPU: Bool = true,
        keepInner: (GovernorTarget) -> Bool = { _ in false }
    ) -> [GovernorTarget] {
        let eligible = targets.filter {
            $0.kind == .group && priorities.contains($0.priority) && !hasCriticalInside($0, targets)
                && (!lowersCPU || nonBatchComponents(in: $0, targets).isEmpty)
        }
        return eligible.filter { target in
            keepInner(target) || !eligible.contains { $0.path != target.path && $0.contains(target) }
        }
    }

    static func cpuDesired(_ target: GovernorTarget, quota: CPUQuota, _ t: GovernorThresholds) -> [Desired] {
        var desired = [Desired(target: target, file: "cpu.max", value: quota.cpuMaxValue(periodUSec: target.cpuQuotaPeriodUSec))]
        for write in ResourceKeys.cpuWeight.writes(of: t.emergencyCPUWeight) {
            desired.append(Desired(target: target, file: write.file, value: write.value))
        }
        return desired
    }

    /// The critical groups and every group holding one: along the whole path from Warden's
    /// root a critical task then outweighs what competes with it at each level.
    static func raisedDesired(_ targets: [GovernorTarget], _ t: GovernorThresholds) -> [Desired] {
        targets.filter { $0.kind == .group && ($0.priority == .critical || hasCriticalInside($0, targets)) }.map {
            Desired(target: $0, file: "cpu.weight", value: String(t.criticalCPUWeight), raises: true)
        }
    }

    /// A `ThrottleSlices=` slice's quota and `EmergencyCPUWeight=`, as for a batch group: the
    /// quota alone leaves the slice its weight against the critical work's slice whenever
    /// the quota lets it run.
    static func sliceDesired(_ target: GovernorTarget, quota: CPUQuota, _ t: GovernorThresholds) -> [Desired] {
        [
            Desired(target: target, file: GovernorSliceProperty.cpuQuota.name, value: GovernorSliceProperty.written(quota: quota)),
            Desired(
                target: target, file: GovernorSliceProperty.cpuWeight.name,
                value: GovernorSliceProperty.written(weight: t.emergencyCPUWeight)),
        ]
    }

    static let pageBytes: UInt64 = 4096
    /// Below this a group holds too little memory to be worth squeezing.
    static let smallestTightenedBytes: UInt64 = 16 * 1024 * 1024

    /// `memory.high` at 90 % of what the group uses now (page-aligned, as the kernel reads it
    /// back), and `memory.reclaim` of the other 10 %. Kept as first written while the tier
    /// lasts: recomputing from a shrinking `memory.current` would ratchet it down.
    static func memoryDesired(_ target: GovernorTarget, existing: [GovernorChange]) -> Desired? {
        if let change = existing.first(where: { $0.target == target.name && $0.file == "memory.high" }) {
            return Desired(target: target, file: "memory.high", value: change.written)
        }
        guard let used = target.memoryCurrentBytes, used >= smallestTightenedBytes else { return nil }
        let high = (used / 10 * 9) / pageBytes * pageBytes
        return Desired(target: target, file: "memory.high", value: String(high), reclaimBytes: used - high)
    }

    static func automaticDesired(
        _ state: GovernorState, memoryPressed: Bool, targets: [GovernorTarget], thresholds t: GovernorThresholds
    ) -> [Desired] {
        guard state.tier >= .critical else { return [] }
        var desired: [Desired] = []
        let throttled = selectGroups(targets, priorities: [.batch]) { $0.emergencyCPUQuota != nil }
        for target in throttled {
            desired += cpuDesired(target, quota: target.emergencyCPUQuota ?? t.emergencyCPUQuota, t)
        }
        for target in targets where target.kind == .systemdSlice && target.priority != .critical {
            desired += sliceDesired(target, quota: t.throttleSliceCPUQuota, t)
        }
        desired += raisedDesired(targets, t)
        guard state.tier == .severe else { return desired }
        for target in selectGroups(targets, priorities: [.batch]) {
            desired.append(Desired(target: target, file: "cgroup.freeze", value: "1"))
        }
        let memoryHeld = state.changes.contains { $0.file == "memory.high" }
        if memoryPressed || memoryHeld {
            for target in selectGroups(targets, priorities: [.batch, .normal], lowersCPU: false) {
                if let memory = memoryDesired(target, existing: state.changes) { desired.append(memory) }
            }
        }
        return desired
    }

    static func manualDesired(
        _ request: ManualEmergencyRequest, targets: [GovernorTarget], thresholds t: GovernorThresholds
    ) -> [Desired] {
        let chosen: [GovernorTarget]
        if request.targets.isEmpty {
            chosen = selectGroups(targets, priorities: [.batch]) { $0.emergencyCPUQuota != nil }
                + targets.filter { $0.kind == .systemdSlice && $0.priority != .critical }
        } else {
            // Names were checked by manualOn; a target that has disappeared since is skipped.
            // A name can mean two targets: Warden's own system.slice (where a component
            // without Slice= runs) and systemd's system.slice of ThrottleSlices=. Both are
            // meant; a critical one of the two is left out, as without --target.
            chosen = request.targets.flatMap { name in
                targets.filter { $0.name == name && !isProtected($0, targets) }
            }
        }
        var desired: [Desired] = []
        for target in chosen {
            switch target.kind {
            case .group:
                desired += cpuDesired(target, quota: request.cpuQuota ?? target.emergencyCPUQuota ?? t.emergencyCPUQuota, t)
            case .systemdSlice:
                desired += sliceDesired(target, quota: request.cpuQuota ?? t.throttleSliceCPUQuota, t)
            }
        }
        // Without --target the operator asks for what the critical tier does, which raises
        // the critical groups; named targets are all that is changed.
        if request.targets.isEmpty { desired += raisedDesired(targets, t) }
        if request.freezeBatch {
            for target in selectGroups(targets, priorities: [.batch]) {
                desired.append(Desired(target: target, file: "cgroup.freeze", value: "1"))
            }
        }
        return desired
    }

    // MARK: Bringing the groups in line

    private static func key(_ target: String, _ kind: GovernorTarget.Kind, _ file: String) -> String {
        "\(kind.rawValue)\u{0}\(target)\u{0}\(file)"
    }

    /// Writes what `desired` adds or changes, restores what it no longer wants (unless
    /// someone else changed it), and words the audit record and the alert.
    private static func reconcile(
        from old: GovernorState, to new: GovernorState, desired: [Desired], targets: [GovernorTarget],
        thresholds: GovernorThresholds, at now: MonotonicInstant, cause: String, readings: [GovernorReading]
    ) -> GovernorDecision {
        var state = new
        var actions: [GovernorAction] = []
        var applied: [GovernorChange] = []
        var reclaimed: [GovernorReclaim] = []
        var skipped: [String] = []
        var conflicts: [GovernorConflict] = []
        let followed = GovernorRestore.follow(state.changes, targets: targets)
        state.changes = followed.changes
        var groupWrites: [(target: GovernorTarget, writes: [CgroupWrite])] = []
        var sliceSets: [(name: String, properties: [SystemdProperty])] = []
        var reclaims: [(GovernorTarget, UInt64)] = []

        func addProperty(_ slices: inout [(name: String, properties: [SystemdProperty])], _ name: String, _ property: SystemdProperty) {
            if let i = slices.firstIndex(where: { $0.name == name }) {
                slices[i].properties.append(property)
            } else {
                slices.append((name, [property]))
            }
        }

        func addWrite(_ target: GovernorTarget, _ write: CgroupWrite) {
            if let i = groupWrites.firstIndex(where: { $0.target.name == target.name }) {
                groupWrites[i].writes.append(write)
            } else {
                groupWrites.append((target, [write]))
            }
        }

        // The governor only ever tightens: a group already held tighter than the tier asks
        // (CPUQuota=20% against an emergency 50%) keeps its own value, and a changed request
        // never loosens a value past what was there before the governor came. A raised
        // critical weight the other way round: one already higher is kept.
        let desired = desired.filter { want in
            let existing = state.changes.first {
                $0.target == want.target.name && $0.kind == want.target.kind && $0.file == want.file
            }
            guard let baseline = existing?.previous ?? want.target.current[want.file] else { return true }
            return want.raises
                ? GovernorValues.isTighter(file: want.file, baseline, than: want.value)
                : GovernorValues.isTighter(file: want.file, want.value, than: baseline)
        }
        for want in desired {
            let target = want.target
            if let i = state.changes.firstIndex(where: { $0.target == target.name && $0.kind == target.kind && $0.file == want.file }) {
                let change = state.changes[i]
                if change.yielded { continue }
                let found = target.current[want.file]
                // The value before the governor's write is back in the group: written again
                // where the configuration put it there (a reload, or a group created again
                // whose identity is not known), the value to restore staying the same. The
                // same value put back by someone else, in a group that is still the one
                // written to, is theirs.
                let setAgain =
                    target.kind == .group && found.map { GovernorRestore.same($0, change.previous) } == true
                    && (change.identity == nil || target.identity == nil
                        || target.configured[want.file].map { GovernorRestore.same($0, change.previous) } == true)
                // Someone else's value (a conflict) stays as they wrote it, whatever is asked.
                let theirs = found.map { !GovernorRestore.same($0, change.written) } == true && !setAgain
                if theirs, let found {
                    // Reported once, when first seen; the record stays so that the value is
                    // not taken again while the tier lasts.
                    state.changes[i].yielded = true
                    conflicts.append(GovernorConflict(change: change, found: String(GovernorRestore.trimmed(found))))
                    continue
                }
                if GovernorRestore.same(change.written, want.value) {
                    guard setAgain, let found, !GovernorRestore.same(found, want.value) else { continue }
                    applied.append(change)
                    addWrite(target, CgroupWrite(want.file, want.value))
                    continue
                }
                // A new request changed the value (another --cpu-quota): write it, and keep the
                // value from before the governor's first write as the one to restore.
                state.changes[i].written = want.value
                applied.append(state.changes[i])
            } else {
                guard let current = target.current[want.file] else {
                    skipped.append("\(target.name) \(want.file): its current value was not read, so it could not be restored; left alone")
                    continue
                }
                if GovernorRestore.same(current, want.value) { continue }
                let change = GovernorChange(
                    target: target.name, kind: target.kind, path: target.path, file: want.file, written: want.value,
                    previous: String(GovernorRestore.trimmed(current)), identity: target.identity,
                    configured: target.configured[want.file].map { String(GovernorRestore.trimmed($0)) })
                state.changes.append(change)
                applied.append(change)
                if let bytes = want.reclaimBytes { reclaims.append((target, bytes)) }
            }
            switch target.kind {
            case .group: addWrite(target, CgroupWrite(want.file, want.value))
            case .systemdSlice:
                // Always one: the value comes from GovernorSliceProperty.written.
                if let property = GovernorSliceProperty(name: want.file)?.property(want.value) {
                    addProperty(&sliceSets, target.name, property)
                }
            }
        }
        for (target, writes) in groupWrites {
            actions.append(.apply(target: target.name, path: target.path, writes: writes))
        }
        for (name, properties) in sliceSets {
            actions.append(.throttleSystemdSlice(name: name, properties: properties))
        }
        for (target, bytes) in reclaims {
            actions.append(.reclaimMemory(target: target.name, path: target.path, bytes: bytes))
            reclaimed.append(GovernorReclaim(target: target.name, bytes: bytes))
        }

        // Undo what the state no longer calls for, newest first (unfreeze before lifting quotas).
        let wanted = Set(desired.map { key($0.target.name, $0.target.kind, $0.file) })
        let stale = state.changes.filter { !wanted.contains(key($0.target, $0.kind, $0.file)) }
        state.changes.removeAll { !wanted.contains(key($0.target, $0.kind, $0.file)) }
        var restored: [GovernorChange] = []
        var dropped: [String] = followed.notes
        var restoreWrites: [(target: String, path: String, writes: [CgroupWrite])] = []
        var sliceRestores: [(name: String, properties: [SystemdProperty])] = []
        for outcome in GovernorRestore.plan(stale.reversed(), targets: targets) {
            switch outcome {
            case .restore(let change) where change.yielded:
                // Someone else set the very value the governor had written: theirs.
                dropped.append("\(change.target) \(change.file) is left at '\(change.written)', as someone else set it")
            case .restore(let change):
                switch change.kind {
                case .group:
                    if let i = restoreWrites.firstIndex(where: { $0.target == change.target }) {
                        restoreWrites[i].writes.append(CgroupWrite(change.file, change.previous))
                    } else {
                        restoreWrites.append((change.target, change.path, [CgroupWrite(change.file, change.previous)]))
                    }
                case .systemdSlice:
                    guard let property = GovernorSliceProperty(name: change.file)?.property(change.previous) else {
                        dropped.append(
                            "\(change.target) \(change.file): the previous value '\(change.previous)' is not one systemd takes for it; left as is")
                        continue
                    }
                    addProperty(&sliceRestores, change.target, property)
                }
                restored.append(change)
            case .alreadyInPlace(let change):
                dropped.append("\(change.target) \(change.file) is already '\(change.previous)'")
            case .gone(let change):
                dropped.append("\(change.target) \(change.file) is gone (group removed)")
            case .conflict(let conflict):
                conflicts.append(conflict)
            }
        }
        for (target, path, writes) in restoreWrites {
            actions.append(.restore(target: target, path: path, writes: writes))
        }
        for (name, properties) in sliceRestores {
            actions.append(.restoreSystemdSlice(name: name, properties: properties))
        }

        var audit: GovernorAuditRecord?
        let somethingHappened = !applied.isEmpty || !restored.isEmpty || !conflicts.isEmpty || !dropped.isEmpty
            || !reclaimed.isEmpty
        if old.tier != state.tier || old.mode != state.mode || somethingHappened {
            audit = GovernorAuditRecord(
                at: now, from: old.tier, to: state.tier, cause: cause, readings: readings, applied: applied,
                restored: restored, reclaimed: reclaimed, conflicts: conflicts, dropped: dropped, skipped: skipped)
        }
        if let record = audit, record.tierChanged || old.mode.isManual != state.mode.isManual || !conflicts.isEmpty {
            let rule = state.mode.isManual || old.mode.isManual ? "manual" : (record.tierChanged ? "tier-\(state.tier.rawValue)" : "conflict")
            // Operator actions always alert; the rest once per AlertCooldownSec= per rule.
            let due = state.lastAlertAt[rule].map { now.since($0) >= thresholds.alertCooldown } ?? true
            if due || rule == "manual" {
                state.lastAlertAt[rule] = now
                actions.append(
                    .alert(
                        GovernorAlert(
                            rule: rule, at: now, from: old.tier, to: state.tier,
                            readings: readings.filter { $0.level != .normal }, text: "Warden " + record.description)))
            }
        }
        return GovernorDecision(state: state, actions: actions, audit: audit)
    }
}
