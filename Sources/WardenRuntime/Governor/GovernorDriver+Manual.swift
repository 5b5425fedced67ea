import Logging
import WardenCore
import WardenLinux

/// An operator's `warden emergency on|off`, and the stand-down when Warden stops (loop
/// thread).
extension GovernorDriver {
    // MARK: Manual mode and stand-down

    /// `warden emergency on`. Names are slices, components (`NAME` is `NAME.service`) or
    /// `ThrottleSlices=` slices.
    public func manualOn(_ request: ManualEmergencyRequest, requestedBy who: String) -> Result<ControlEmergencyStatus, ControlError> {
        if let disabledReason { return .failure(ControlError(.unavailable, "the governor is off: \(disabledReason)")) }
        guard let targets = observedTargets(readSlices: true, purpose: "acting") else {
            return .failure(ControlError(.unavailable, "a systemd slice the governor changed cannot be read now; see the log"))
        }
        var request = request
        var resolved: [String] = []
        for name in request.targets {
            let candidates = name.contains(".") ? [name] : [name, name + ".service", name + ".slice"]
            guard let match = candidates.first(where: { n in targets.contains { $0.name == n } }) else {
                if let reason = effects.slicesUnavailableReason,
                    let slice = candidates.first(where: { settings.effectiveThrottleSlices.contains($0) })
                {
                    return .failure(ControlError(.unavailable, "\(slice) is a systemd slice (ThrottleSlices=), and it cannot be throttled here: \(reason)"))
                }
                let known = Set(targets.filter { $0.priority != .critical }.map(\.name)).sorted()
                var message = "no slice or component named '\(name)'"
                // `backtset` is closest to `backtest`: compare without the unit type too.
                let bare = known.map { n in n.hasSuffix(".service") ? String(n.dropLast(8)) : n.hasSuffix(".slice") ? String(n.dropLast(6)) : n }
                if let close = Suggestion.closest(to: name, in: known) ?? Suggestion.closest(to: name, in: bare).flatMap({ b in known.first { $0 == b || $0.hasPrefix(b + ".") } }) {
                    message += "; did you mean '\(close)'?"
                }
                return .failure(ControlError(.unknownUnit, message + "; known: " + known.joined(separator: ", ")))
            }
            if !resolved.contains(match) { resolved.append(match) }
        }
        request.targets = resolved
        switch Governor.manualOn(state: state, request: request, at: options.clock(), targets: targets, thresholds: thresholds) {
        case .failure(let error):
            return .failure(ControlError(.refused, error.message))
        case .success(let decision):
            logger.notice("governor: manual emergency on, requested by \(who)", metadata: ["event": "governor-manual"])
            commit(decision)
            schedule()
            return .success(status())
        }
    }

    /// `warden emergency off`: manual mode ends and everything is restored exactly
    /// (conflicts reported). `expiredOnly`: only when the manual mode's `--for` has run
    /// out (the expiry timer of `warden emergency on` without a daemon). `standDownAutomatic`:
    /// also restore an automatic tier's changes (no daemon governs them any more).
    public func manualOff(requestedBy who: String, expiredOnly: Bool = false, standDownAutomatic: Bool = false)
        -> Result<(status: ControlEmergencyStatus, message: String), ControlError>
    {
        if let disabledReason { return .failure(ControlError(.unavailable, "the governor is off: \(disabledReason)")) }
        let now = options.clock()
        if expiredOnly {
            guard case .manual(_, let until) = state.mode, let until, until <= now else {
                return .success((status(), "no expired manual emergency; nothing changed"))
            }
        }
        guard let targets = observedTargets(readSlices: true, purpose: "acting") else {
            return .failure(ControlError(.unavailable, "a systemd slice the governor changed cannot be read now; see the log"))
        }
        let decision: GovernorDecision
        if expiredOnly {
            decision = Governor.decide(state: state, sample: GovernorSample(at: now), targets: targets, thresholds: thresholds)
        } else if let off = Governor.manualOff(state: state, at: now, targets: targets, thresholds: thresholds) {
            decision = off
        } else if standDownAutomatic && (!state.changes.isEmpty || state.tier != .normal) {
            decision = Governor.standDown(
                state: state, at: now, targets: targets, thresholds: thresholds,
                cause: "warden emergency off without a daemon")
        } else {
            let message =
                state.mode.isManual
                ? "nothing changed" : "manual emergency mode is not on; nothing changed (tier \(state.tier.rawValue), automatic)"
            return .success((status(), message))
        }
        logger.notice("governor: manual emergency off, requested by \(who)", metadata: ["event": "governor-manual"])
        let failures = commit(decision)
        schedule()
        let restored = decision.audit?.restored.count ?? 0
        var message = "emergency off: \(restored) value(s) restored"
        if !decision.conflicts.isEmpty { message += ", \(decision.conflicts.count) conflict(s) left as found" }
        if !failures.isEmpty { message += ", \(failures.count) failure(s): " + failures.joined(separator: "; ") }
        return .success((status(), message))
    }

    /// The governor now: tier, mode, every change in force, and the conflicts (those met
    /// at the last restore, and values found changed by someone else now).
    public func status() -> ControlEmergencyStatus {
        var conflicts = lastConflicts
        let readSlices = state.changes.contains { $0.kind == .systemdSlice }
        let (targets, _) = effects.observe(effects.targets(for: configuration()), readSlices: readSlices)
        for conflict in GovernorEffects.liveConflicts(state, targets: targets)
        where !conflicts.contains(where: { $0.change.target == conflict.change.target && $0.change.file == conflict.change.file }) {
            conflicts.append(conflict)
        }
        let said = self.notes
        var notes = said + Governor.shelteredTargets(targets).filter { !said.contains($0) }
        if let disabledReason { notes.insert("the governor is off: \(disabledReason)", at: 0) }
        if let uncontendedNote { notes.append(uncontendedNote) }
        return ControlEmergencyStatus(
            state: state, now: options.clock(), automaticEnabled: automaticEnabled, conflicts: conflicts, notes: notes,
            source: options.source)
    }

    /// Everything back as it was; false (after logging) when it could not be decided now.
    @discardableResult
    func restoreAll(cause: String) -> Bool {
        guard let targets = observedTargets(readSlices: true, purpose: "restoring") else { return false }
        commit(Governor.standDown(state: state, at: options.clock(), targets: targets, thresholds: thresholds, cause: cause))
        return true
    }

    /// Warden's graceful shutdown: stop watching, restore everything (D-Bus throttles
    /// too). What cannot be restored stays in the state file for the next Warden.
    public func shutDown() {
        guard !stoodDown else { return }
        for trigger in triggers { trigger.cancel() }
        triggers.removeAll()
        triggersActive = false
        if let timer, let loop { loop.cancelTimer(timer) }
        timer = nil
        if disabledReason == nil && (!state.changes.isEmpty || state.tier != .normal || state.mode.isManual) {
            restoreAll(cause: "Warden shutting down")
        }
        stoodDown = true
        alerts?.drain()
    }

    /// The text after the first "; " (empty when there is none).
    static func afterFirstPart(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i + 1 < scalars.count {
            if scalars[i] == ";" && scalars[i + 1] == " " {
                var rest = String.UnicodeScalarView()
                rest.append(contentsOf: scalars[(i + 2)...])
                return String(rest)
            }
            i += 1
        }
        return ""
    }
}
