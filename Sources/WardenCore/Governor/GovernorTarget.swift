// The groups the governor may act on, with the values the runtime found in their files.

/// A group the governor may throttle, freeze or reclaim: one of Warden's cgroups (a
/// slice or a component), or a systemd slice outside Warden (`ThrottleSlices=`).
public struct GovernorTarget: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// A cgroup in Warden's tree, changed through cgroupfs.
        case group
        /// A systemd slice, changed through D-Bus runtime properties.
        case systemdSlice = "systemd-slice"
    }

    /// The unit name: `backtest.service`, `trading-batch.slice`, `system.slice`.
    public var name: String
    public var kind: Kind
    /// For `.group`: the path below Warden's cgroup root, as `CgroupPlan` names it. For
    /// `.systemdSlice`: the unit name again.
    public var path: String
    /// The effective `Priority=`. A systemd slice that holds critical components (the
    /// systemd backend puts them there) must be given `.critical` so it is never throttled.
    public var priority: Priority
    /// `[X-Warden] EmergencyCPUQuota=` of the unit itself, nil for the `[Governor]` default.
    public var emergencyCPUQuota: CPUQuota?
    /// `CPUQuotaPeriodSec=` of the unit, for the `cpu.max` period.
    public var cpuQuotaPeriodUSec: UInt64?
    /// What the runtime found in the files the governor may write (`observedFiles`; for a
    /// systemd slice the properties of `systemdProperties`, `infinity` and `[not set]` for
    /// unset), read just before deciding. A file missing here is one the governor leaves
    /// alone, since it could not restore it exactly; at restore, a missing value means the
    /// group is gone.
    public var current: [String: String]
    /// `memory.current`, read while a tier is active: the base of the tightened `memory.high`.
    public var memoryCurrentBytes: UInt64?
    /// What the configuration sets in the files the governor writes (the unit's own
    /// `CPUQuota=`, `CPUWeight=`, else what a new group starts with): the value every
    /// restore comes back to unless an operator changed it. Empty when not known (a
    /// systemd slice of `ThrottleSlices=`, whose settings are systemd's).
    public var configured: [String: String]
    /// The identity of the group as the runtime found it (its directory's inode); nil when
    /// unknown or the group is missing. A new identity is a new group: the component
    /// restarted, and what the governor wrote to the old one went with it.
    public var identity: UInt64?
    /// Why the governor never lowers this target's CPU although its priority alone would
    /// allow it (`GovernorShelter`): said in `status`, the log and an alert.
    public var sheltered: String?

    public init(
        name: String, kind: Kind = .group, path: String, priority: Priority, emergencyCPUQuota: CPUQuota? = nil,
        cpuQuotaPeriodUSec: UInt64? = nil, current: [String: String] = [:], memoryCurrentBytes: UInt64? = nil,
        configured: [String: String] = [:], identity: UInt64? = nil, sheltered: String? = nil
    ) {
        self.sheltered = sheltered
        self.name = name
        self.kind = kind
        self.path = path
        self.priority = priority
        self.emergencyCPUQuota = emergencyCPUQuota
        self.cpuQuotaPeriodUSec = cpuQuotaPeriodUSec
        self.current = current
        self.memoryCurrentBytes = memoryCurrentBytes
        self.configured = configured
        self.identity = identity
    }

    /// The cgroup files of a `.group` target whose values the runtime reads into `current`:
    /// those of the keys the governor may change, and `cgroup.freeze`.
    public static let observedFiles = ResourceKeys.governed.flatMap(\.cgroupFiles) + ["cgroup.freeze"]
    /// The D-Bus properties of a `.systemdSlice` target read into `current`, in the
    /// governor's notation (`GovernorSliceProperty`).
    public static let systemdProperties = GovernorSliceProperty.allCases.map(\.name)

    /// One of Warden's components (a service's group), not a slice.
    public var isComponent: Bool { kind == .group && !name.hasSuffix(".slice") }

    /// True when `other` is this group or lies beneath it.
    func contains(_ other: GovernorTarget) -> Bool {
        guard kind == other.kind else { return false }
        return other.path == path || other.path.hasPrefix(path + "/")
    }

    /// Every slice and component of a configuration as a group target, with `current`
    /// left empty for the runtime to fill. The paths are those of `CgroupPlan.plan`
    /// below Warden's root; with `componentsAsScopes` (`CgroupBackend=systemd`) they are
    /// systemd's below the hierarchy's root, where a component's group is its scope
    /// (`trading.slice/trading-batch.slice/warden-backtest.scope`), each slice is the
    /// systemd slice of that name, and the host's own slices are left out.
    public static func targets(for configuration: Configuration, componentsAsScopes: Bool = false) -> [GovernorTarget] {
        var targets: [GovernorTarget] = []
        for slice in configuration.slices {
            // systemd's own slices hold the rest of the host (and perhaps Warden): with
            // scopes they are the host's, not Warden's, and only `ThrottleSlices=` may name them.
            if componentsAsScopes && hostSlices.contains(slice.name.description) { continue }
            targets.append(
                GovernorTarget(
                    name: slice.name.description, path: configuration.sliceChain(to: slice.name.description).joined(separator: "/"),
                    priority: configuration.effectivePriority(ofSlice: slice.name.description),
                    emergencyCPUQuota: slice.emergencyCPUQuota, cpuQuotaPeriodUSec: slice.resources.cpuQuotaPeriod?.usec,
                    configured: configuredValues(slice.resources)))
        }
        for service in configuration.services {
            targets.append(
                GovernorTarget(
                    name: service.name.description,
                    path: (configuration.sliceChain(to: service.effectiveSlice)
                        + [componentsAsScopes ? SystemdUnitPlan.scopeName(for: service.name.description) : service.name.description])
                        .joined(separator: "/"),
                    priority: configuration.effectivePriority(of: service), emergencyCPUQuota: service.emergencyCPUQuota,
                    cpuQuotaPeriodUSec: service.resources.cpuQuotaPeriod?.usec, configured: configuredValues(service.resources)))
        }
        return targets
    }

    /// The slices systemd makes for the whole host (systemd.special(7)).
    public static let hostSlices: Set<String> = ["-.slice", "system.slice", "user.slice", "machine.slice"]

    /// The files whose configured value does not depend on the host, and what a group
    /// created for these settings holds in them: the unit's own `CPUQuota=` and
    /// `CPUWeight=` as `CgroupPlan` writes them, else the kernel's values for a new group.
    public static func configuredValues(_ resources: ResourceControl) -> [String: String] {
        var values = [
            "cpu.max": CPUQuota.unlimitedCPUMaxValue, "cpu.weight": "100", "cpu.idle": "0", "cgroup.freeze": "0",
        ]
        for write in CgroupPlan.writes(for: resources, host: nil) where values[write.file] != nil {
            values[write.file] = write.value
        }
        return values
    }

    /// The `ThrottleSlices=` as systemd-slice targets. A slice that holds Warden itself or
    /// a component that is not `Priority=batch` (`GovernorShelter`) is marked critical, so
    /// the governor never throttles it, automatically or by hand, and says why.
    /// `wardenCgroup` is the daemon's `0::` path (nil for `warden emergency` without a
    /// daemon, whose own process is the operator's shell, not the stack).
    public static func systemdSlices(
        _ names: [String], configuration: Configuration, componentsAreSystemdUnits: Bool, wardenCgroup: String? = nil,
        privateCgroupNamespace: Bool = false
    ) -> [GovernorTarget] {
        let placement = GovernorPlacement.of(
            configuration, componentsAreSystemdUnits: componentsAreSystemdUnits, wardenCgroup: wardenCgroup,
            privateCgroupNamespace: privateCgroupNamespace)
        return names.map { name in
            if let shelter = GovernorShelter.sheltered(slice: name, placement: placement) {
                return GovernorTarget(name: name, kind: .systemdSlice, path: name, priority: .critical, sheltered: shelter.description)
            }
            return GovernorTarget(name: name, kind: .systemdSlice, path: name, priority: .normal)
        }
    }
}

extension GovernorTarget {
    /// Whether the systemd slice `slice` contains the cgroup at `cgroup`
    /// (`/system.slice/warden.service` is in `system.slice`; systemd nests slices as path
    /// components: `/trading.slice/trading-critical.slice/…`).
    public static func holds(slice: String, cgroup: String) -> Bool {
        GovernorShelter.holds(slice: slice, cgroup: cgroup)
    }
}

extension Configuration {
    /// A slice's own `Priority=`, else its nearest ancestor's, else normal.
    public func effectivePriority(ofSlice name: String) -> Priority {
        var current: String? = name
        while let slice = current {
            if let priority = self.slice(named: slice)?.priority { return priority }
            current = SliceConfig.parent(of: slice)
        }
        return .normal
    }
}
