// The governor's emergency mode on the control socket.

/// `emergency-on`'s parameters: `{"cpuQuotaPerSecUSec":500000,"targets":["backtest"],
/// "freeze":["batch"],"durationUSec":600000000}`. Every field is optional; numbers carry
/// their unit, as systemd's D-Bus properties do (the CLI parses `--cpu-quota 50%` and
/// `--for 10min` in systemd's syntax and sends the numbers).
public struct ControlEmergencyRequest: Codable, Hashable, Sendable {
    /// CPU time per second of wall time for each throttled group (`CPUQuota=50%` is
    /// 500000); absent: each group's `EmergencyCPUQuota=`.
    public var cpuQuotaPerSecUSec: UInt64?
    /// Slices or components (`NAME` means `NAME.service`), or `ThrottleSlices=` systemd
    /// slices; absent or empty: what the critical tier throttles.
    public var targets: [String]?
    /// What to freeze as well; the only value is `batch` (the batch groups).
    public var freeze: [String]?
    /// How long until manual mode ends by itself; absent: until `emergency-off`.
    public var durationUSec: UInt64?

    public init(cpuQuotaPerSecUSec: UInt64? = nil, targets: [String]? = nil, freeze: [String]? = nil, durationUSec: UInt64? = nil) {
        self.cpuQuotaPerSecUSec = cpuQuotaPerSecUSec
        self.targets = targets
        self.freeze = freeze
        self.durationUSec = durationUSec
    }

    /// The request as the governor takes it, or the `malformed` error to answer.
    public func manualRequest() -> Result<ManualEmergencyRequest, ControlError> {
        if let quota = cpuQuotaPerSecUSec, quota == 0 {
            return .failure(ControlError(.malformed, "cpuQuotaPerSecUSec must be above 0"))
        }
        var freezeBatch = false
        for word in freeze ?? [] {
            guard word == "batch" else {
                return .failure(ControlError(.malformed, "freeze '\(word)' is not supported; the only value is 'batch'"))
            }
            freezeBatch = true
        }
        if let duration = durationUSec, duration == 0 {
            return .failure(ControlError(.malformed, "durationUSec must be above 0 (omit it for no expiry)"))
        }
        let names = (targets ?? []).map { $0.trimmingWhitespace() }
        if names.contains(where: \.isEmpty) { return .failure(ControlError(.malformed, "an empty target name")) }
        return .success(
            ManualEmergencyRequest(
                cpuQuota: cpuQuotaPerSecUSec.map { CPUQuota(perSecondUSec: $0) }, targets: names, freezeBatch: freezeBatch,
                duration: durationUSec.map { TimeSpan(usec: $0) }))
    }
}

/// One value the governor changed, as `emergency-status` lists it.
public struct ControlGovernorChange: Codable, Hashable, Sendable {
    /// The slice or component (`backtest.service`), or the systemd slice.
    public var target: String
    /// `group` (a cgroup in Warden's tree) or `systemd-slice` (a D-Bus runtime property).
    public var kind: String
    /// The group's path below Warden's cgroup root, or the systemd unit's name.
    public var path: String
    /// The cgroup file (`cpu.max`) or the D-Bus property (`CPUQuotaPerSecUSec`).
    public var file: String
    /// What the governor wrote.
    public var written: String
    /// What was there before: what `emergency off` writes back.
    public var previous: String
    /// For a conflict: what is there now (someone changed it; it will not be overwritten).
    public var found: String?

    public init(_ change: GovernorChange, found: String? = nil) {
        target = change.target
        kind = change.kind.rawValue
        path = change.path
        file = change.file
        written = change.written
        previous = change.previous
        self.found = found
    }
}

/// The manual request in force.
public struct ControlEmergencyManual: Codable, Hashable, Sendable {
    public var cpuQuotaPerSecUSec: UInt64?
    public var targets: [String]
    public var freezeBatch: Bool
    public var durationUSec: UInt64?
    /// Seconds until manual mode ends by itself; absent: until `emergency off`.
    public var expiresInSeconds: Double?

    public init(_ request: ManualEmergencyRequest, until: MonotonicInstant?, now: MonotonicInstant) {
        cpuQuotaPerSecUSec = request.cpuQuota?.perSecondUSec
        targets = request.targets
        freezeBatch = request.freezeBatch
        durationUSec = request.duration?.usec
        expiresInSeconds = until.map { Double($0.since(now).usec) / 1_000_000 }
    }
}

/// The governor as `emergency-on`, `emergency-off` and `emergency-status` answer (and
/// `warden emergency status --json` prints): the stable shape of docs/control-protocol.md.
public struct ControlEmergencyStatus: Codable, Hashable, Sendable {
    /// `normal`, `warning`, `critical`, `severe`.
    public var tier: String
    /// `automatic` (the signals decide) or `manual` (an operator did).
    public var mode: String
    /// `[Governor] Enabled=`: automatic decisions are made. Manual mode works either way.
    public var automaticEnabled: Bool
    /// Seconds since the tier was entered.
    public var tierSeconds: Double
    /// Present in manual mode.
    public var manual: ControlEmergencyManual?
    /// Every value changed and not yet restored, in the order written.
    public var changes: [ControlGovernorChange]
    /// Values someone else changed since the governor wrote them: left as they are, never
    /// overwritten (`found` says what is there now). From the last restore, and found now.
    public var conflicts: [ControlGovernorChange]
    /// What the governor could not do or left alone, and why (no cgroup subtree, no
    /// systemd, a value it could not read).
    public var notes: [String]
    /// `daemon` (answered by `warden run`) or `direct` (the CLI acted on cgroupfs itself).
    public var source: String

    public init(
        state: GovernorState, now: MonotonicInstant, automaticEnabled: Bool, conflicts: [GovernorConflict],
        notes: [String], source: String
    ) {
        tier = state.tier.rawValue
        if case .manual(let request, let until) = state.mode {
            mode = "manual"
            manual = ControlEmergencyManual(request, until: until, now: now)
        } else {
            mode = "automatic"
            manual = nil
        }
        self.automaticEnabled = automaticEnabled
        tierSeconds = Double(now.since(state.since).usec) / 1_000_000
        changes = state.changes.map { ControlGovernorChange($0) }
        self.conflicts = conflicts.map { ControlGovernorChange($0.change, found: $0.found) }
        self.notes = notes
        self.source = source
    }

    /// `warden emergency status` for a person: aligned columns, values in systemd syntax.
    public func renderText() -> String {
        var out: [String] = []
        func row(_ label: String, _ value: String) { out.append(label.padding(toLength: 10) + value) }
        row("Tier:", tier + " (for \(Self.seconds(tierSeconds)))")
        var modeText = mode
        if let manual {
            var parts: [String] = []
            if let quota = manual.cpuQuotaPerSecUSec { parts.append("CPUQuota=\(Self.percent(quota))") }
            parts.append(manual.targets.isEmpty ? "targets: as the critical tier" : "targets: " + manual.targets.joined(separator: " "))
            if manual.freezeBatch { parts.append("batch frozen") }
            if let expires = manual.expiresInSeconds { parts.append("expires in \(Self.seconds(expires))") } else { parts.append("until 'warden emergency off'") }
            modeText += " (" + parts.joined(separator: ", ") + ")"
        }
        row("Mode:", modeText)
        row("Governor:", (automaticEnabled ? "automatic decisions on" : "automatic decisions off ([Governor] Enabled=no)") + "; via \(source)")
        func table(_ rows: [ControlGovernorChange], found: Bool) {
            var lines = [["TARGET", "FILE", "WRITTEN", "PREVIOUS"] + (found ? ["FOUND"] : [])]
            for change in rows {
                lines.append([change.target, change.file, change.written, change.previous] + (found ? [change.found ?? ""] : []))
            }
            var widths = [Int](repeating: 0, count: lines[0].count)
            for line in lines { for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) } }
            for line in lines {
                let cells = line.enumerated().map { i, cell in i == line.count - 1 ? cell : cell.padding(toLength: widths[i]) }
                out.append("  " + cells.joined(separator: "  "))
            }
        }
        if changes.isEmpty {
            out.append("Changes:  none")
        } else {
            out.append("Changes:")
            table(changes, found: false)
        }
        if !conflicts.isEmpty {
            out.append("Conflicts (changed by someone else; left as found):")
            table(conflicts, found: true)
        }
        for note in notes { out.append("Note:     " + note) }
        return out.joined(separator: "\n") + "\n"
    }

    static func seconds(_ value: Double) -> String {
        TimeSpan(usec: UInt64(max(0, value) * 1_000_000)).systemdString(accuracy: .seconds(1))
    }

    static func percent(_ perSecondUSec: UInt64) -> String {
        let hundredths = perSecondUSec / 100
        let whole = hundredths / 100
        let fraction = hundredths % 100
        return fraction == 0 ? "\(whole)%" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
