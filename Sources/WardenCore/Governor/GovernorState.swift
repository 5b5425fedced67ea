// The governor's memory: its tier, why it is there, and every value it changed with the
// value that was there before. Persisted at every change (GovernorStateCoding.swift).

/// How far the governor has stepped in.
public enum GovernorTier: String, CaseIterable, Hashable, Sendable, Comparable {
    /// Nothing changed.
    case normal
    /// Logged and alerted; nothing changed.
    case warning
    /// Batch groups held to their emergency CPU quota and the least `cpu.weight`;
    /// `ThrottleSlices=` throttled on systemd hosts.
    case critical
    /// Critical pressure persisted: batch groups frozen, and under memory pressure the
    /// non-critical groups' `memory.high` tightened and reclaimed.
    case severe

    var rank: Int {
        switch self {
        case .normal: 0
        case .warning: 1
        case .critical: 2
        case .severe: 3
        }
    }

    /// The tier one step down.
    public var lower: GovernorTier {
        switch self {
        case .normal, .warning: .normal
        case .critical: .warning
        case .severe: .critical
        }
    }

    public static func < (a: GovernorTier, b: GovernorTier) -> Bool { a.rank < b.rank }
}

/// `warden emergency on [--cpu-quota 50%] [--target NAME …] [--freeze batch] [--for 10min]`.
public struct ManualEmergencyRequest: Hashable, Sendable {
    /// `--cpu-quota`: replaces every target's emergency quota; nil keeps them.
    public var cpuQuota: CPUQuota?
    /// `--target`: slices or components (or `ThrottleSlices=` systemd slices) to throttle;
    /// empty means what the critical tier throttles (the batch groups and `ThrottleSlices=`).
    public var targets: [String]
    /// `--freeze batch`: freeze the batch groups too.
    public var freezeBatch: Bool
    /// `--for`: nil until `warden emergency off`.
    public var duration: TimeSpan?

    public init(cpuQuota: CPUQuota? = nil, targets: [String] = [], freezeBatch: Bool = false, duration: TimeSpan? = nil) {
        self.cpuQuota = cpuQuota
        self.targets = targets
        self.freezeBatch = freezeBatch
        self.duration = duration
    }
}

/// Why the governor is in its tier.
public enum GovernorMode: Hashable, Sendable {
    /// The signals put it there.
    case automatic
    /// An operator did, until `until` (nil: until `warden emergency off`). Automatic
    /// decisions are suspended meanwhile: the operator is in charge.
    case manual(ManualEmergencyRequest, until: MonotonicInstant?)

    public var isManual: Bool {
        if case .manual = self { return true }
        return false
    }
}

/// One value the governor wrote, and the value it replaced: what restore writes back.
public struct GovernorChange: Hashable, Sendable, CustomStringConvertible {
    /// The target's unit name.
    public var target: String
    public var kind: GovernorTarget.Kind
    /// The target's `path` (cgroup path below Warden's root, or the systemd unit name).
    public var path: String
    /// The cgroup file (`cpu.max`) or the D-Bus property (`CPUQuotaPerSecUSec`, `CPUWeight`).
    public var file: String
    public var written: String
    /// Exactly what was there before, as read; the configured value instead once the
    /// configuration changes it (a reload: the configuration is the baseline of a restore).
    public var previous: String
    /// The identity of the group written to (`GovernorTarget.identity`); nil when unknown.
    /// A group found with another identity was created again, and this record is void.
    public var identity: UInt64?
    /// What the configuration set in the file when the record was made (or last followed);
    /// nil when not known. A configuration that sets another value since is a reload.
    public var configured: String?
    /// Someone else changed the value after the governor wrote it: from then on it is
    /// theirs, never written again nor restored while the record lasts (reported when seen).
    public var yielded: Bool

    public init(
        target: String, kind: GovernorTarget.Kind, path: String, file: String, written: String, previous: String,
        identity: UInt64? = nil, configured: String? = nil, yielded: Bool = false
    ) {
        self.yielded = yielded
        self.target = target
        self.kind = kind
        self.path = path
        self.file = file
        self.written = written
        self.previous = previous
        self.identity = identity
        self.configured = configured
    }

    public var description: String { "\(target) \(file): '\(previous)' → '\(written)'" }
}

/// Everything the governor must remember across decisions and across a Warden restart.
public struct GovernorState: Hashable, Sendable {
    public var tier: GovernorTier
    public var mode: GovernorMode
    /// When the tier was entered.
    public var since: MonotonicInstant
    /// Since when every signal has stayed below its lower (warning) threshold; nil while
    /// one is above. Stepping down needs `now - calmSince >= cooldown`; each step restarts it.
    public var calmSince: MonotonicInstant?
    /// Since when the signals have been critical without a break: what `SevereAfterSec=`
    /// is measured from.
    public var criticalSince: MonotonicInstant?
    /// Every value changed and not yet restored, in the order written.
    public var changes: [GovernorChange]
    /// When each alert rule last sent (for `AlertCooldownSec=`).
    public var lastAlertAt: [String: MonotonicInstant]
    /// `/proc/sys/kernel/random/boot_id` when the state was written: monotonic instants
    /// and cgroups do not survive a reboot, so a state from another boot is stale.
    public var bootID: String?

    public init(
        tier: GovernorTier = .normal, mode: GovernorMode = .automatic, since: MonotonicInstant = .zero,
        calmSince: MonotonicInstant? = nil, criticalSince: MonotonicInstant? = nil, changes: [GovernorChange] = [],
        lastAlertAt: [String: MonotonicInstant] = [:], bootID: String? = nil
    ) {
        self.tier = tier
        self.mode = mode
        self.since = since
        self.calmSince = calmSince
        self.criticalSince = criticalSince
        self.changes = changes
        self.lastAlertAt = lastAlertAt
        self.bootID = bootID
    }

    /// The initial state: normal, nothing changed.
    public static func initial(at now: MonotonicInstant, bootID: String? = nil) -> GovernorState {
        GovernorState(since: now, bootID: bootID)
    }

    /// The changes made to one target.
    public func changes(of target: String) -> [GovernorChange] { changes.filter { $0.target == target } }

    /// The names of the targets with changes, in the order first changed.
    public var changedTargets: [String] {
        var seen = Set<String>()
        return changes.map(\.target).filter { seen.insert($0).inserted }
    }

    /// When manual mode ends by itself, nil when it does not (or is not on).
    public var manualUntil: MonotonicInstant? {
        if case .manual(_, let until) = mode { return until }
        return nil
    }

    /// The state a starting Warden continues from, given the state file it found (nil: none).
    /// A state from another boot is discarded: cgroups and systemd runtime properties do not
    /// survive a reboot, and its monotonic instants mean nothing now. Otherwise the state is
    /// kept as it was; the next decision restores or resumes from it.
    public static func resumed(
        from stored: GovernorState?, bootID: String?, at now: MonotonicInstant
    ) -> (state: GovernorState, discarded: Bool) {
        guard let stored else { return (.initial(at: now, bootID: bootID), false) }
        if let bootID, let storedBoot = stored.bootID, storedBoot != bootID {
            return (.initial(at: now, bootID: bootID), true)
        }
        var state = stored
        state.bootID = bootID ?? stored.bootID
        return (state, false)
    }

    /// Drops what the governor remembers of a target whose cgroup the runtime has just
    /// recreated (a component restarted): the old values belong to a group that is gone,
    /// and the next decision throttles the new group afresh if the tier still calls for it.
    /// Only records of that `kind`: Warden's system.slice group and systemd's system.slice
    /// share a name.
    public mutating func forget(target: String, kind: GovernorTarget.Kind = .group) {
        changes.removeAll { $0.target == target && $0.kind == kind }
    }
}
