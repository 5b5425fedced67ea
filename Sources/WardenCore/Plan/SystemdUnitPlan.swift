/// `CgroupBackend=systemd`: the transient units a configuration becomes. Each component
/// runs in a scope `warden-NAME.scope` in its `Slice=`; a slice Warden defines and
/// systemd has no unit file for becomes a transient slice. The properties are systemd's
/// own resource-control names, so a unit file key (`CPUQuota=20%`) arrives as the D-Bus
/// property `systemd-run -p CPUQuota=20%` would send (`CPUQuotaPerSecUSec=200000`).
///
/// The scope is named after the component with a `warden-` prefix: it cannot collide
/// with a real `NAME.service` on the host, and `systemctl list-units 'warden-*'` lists
/// the whole stack. A scope, not a service: Warden starts and supervises the processes
/// itself (restart policy, readiness, health checks), systemd only holds the cgroup.
public enum SystemdUnitPlan {
    /// `feed.service` → `warden-feed.scope`; `worker@2.service` → `warden-worker@2.scope`.
    public static func scopeName(for unit: String) -> String {
        var base = unit
        if let dot = base.lastIndex(of: ".") { base = String(base[..<dot]) }
        return "warden-" + base + ".scope"
    }

    /// The resource-control properties for `resources`, one `ResourceKeys` row after the
    /// other, in `CgroupPlan.writes`' order. Percentages of memory and of the task limit
    /// are resolved against `host` as the delegated backend resolves them; without host
    /// facts they go to systemd as its `…Scale` properties, which systemd resolves itself.
    public static func resourceProperties(_ resources: ResourceControl, host: HostFacts?) -> [SystemdProperty] {
        ResourceKeys.all.compactMap { $0.property(for: resources, host: host) }
    }

    /// What changes a running unit from `old` to `new` properties (`SetUnitProperties`):
    /// the new values that differ, and systemd's default for every resource property
    /// `old` had and `new` no longer sets (a key removed from the unit file).
    public static func propertyChanges(from old: [SystemdProperty], to new: [SystemdProperty]) -> [SystemdProperty] {
        let before = Dictionary(old.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        let newNames = Set(new.map(\.name))
        var changes = new.filter { $0.name != "Description" && before[$0.name] != $0.value }
        for property in old where !newNames.contains(property.name) {
            if let reset = defaultValue(of: property.name) { changes.append(reset) }
        }
        return changes
    }

    /// systemd's value for a resource property that is not set; for a `…Scale`
    /// property, the unset value of the property it scales.
    public static func defaultValue(of name: String) -> SystemdProperty? {
        ResourceKeys.all.lazy.compactMap { $0.reset(ofProperty: name) }.first
    }

    /// The `StartTransientUnit` properties of a component's scope holding `pids`.
    /// `Delegate=yes` is what lets Warden add the component's later processes
    /// (`ExecStartPost=`, `ExecReload=`, `ExecStop=`) with `AttachProcessesToUnit`,
    /// which systemd allows only on delegated units; Warden creates no groups below the
    /// scope. `CollectMode=inactive-or-failed`: a scope whose processes died of a
    /// signal or an OOM kill is unloaded too, so no failed `warden-*` unit stays behind.
    public static func scopeProperties(
        for service: ServiceConfig, pids: [Int32], host: HostFacts?
    ) -> [SystemdProperty] {
        var properties = [
            SystemdProperty("Description", .string(description(of: service))),
            SystemdProperty("Slice", .string(service.effectiveSlice)),
            SystemdProperty("PIDs", .uint32Array(pids.map { UInt32(bitPattern: $0) })),
            SystemdProperty("Delegate", .boolean(true)),
            SystemdProperty("CollectMode", .string("inactive-or-failed")),
        ]
        properties += resourceProperties(service.resources, host: host)
        return properties
    }

    /// `Description=` of a component's scope: the unit's own description when it has
    /// one, so `systemctl status warden-feed.scope` reads like the unit file.
    public static func description(of service: ServiceConfig) -> String {
        let name = service.name.description
        if let text = service.description, !text.isEmpty { return "\(text) (Warden: \(name))" }
        return "Warden component \(name)"
    }

    /// The `StartTransientUnit` properties of a slice Warden defines and systemd has no
    /// unit file for.
    public static func sliceProperties(for slice: SliceConfig, host: HostFacts?) -> [SystemdProperty] {
        let name = slice.name.description
        let text = slice.description.map { "\($0) (Warden: \(name))" } ?? "Warden slice \(name)"
        return [SystemdProperty("Description", .string(text))] + resourceProperties(slice.resources, host: host)
    }

    /// The slices a component's scope sits in, outermost first (`trading.slice`,
    /// `trading-critical.slice`): systemd nests slices by name, as Warden does.
    public static func sliceChain(for service: ServiceConfig, in configuration: Configuration) -> [String] {
        configuration.sliceChain(to: service.effectiveSlice)
    }
}
