/// A property value in a systemd D-Bus call (`StartTransientUnit`'s `a(sv)`), by its
/// D-Bus type.
public enum SystemdPropertyValue: Hashable, Sendable {
    /// `s`
    case string(String)
    /// `b`
    case boolean(Bool)
    /// `u`
    case uint32(UInt32)
    /// `t`
    case uint64(UInt64)
    /// `au` (a scope's `PIDs`)
    case uint32Array([UInt32])
    /// `ay` (a CPU or NUMA node bitmask)
    case bytes([UInt8])

    /// The D-Bus signature of the value.
    public var signature: String {
        switch self {
        case .string: "s"
        case .boolean: "b"
        case .uint32: "u"
        case .uint64: "t"
        case .uint32Array: "au"
        case .bytes: "ay"
        }
    }
}

/// One `(sv)` pair of a transient unit: a systemd D-Bus property name and its value.
public struct SystemdProperty: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: SystemdPropertyValue

    public init(_ name: String, _ value: SystemdPropertyValue) {
        self.name = name
        self.value = value
    }

    /// `NAME=value` as `systemctl show` spells the raw value, for messages.
    public var description: String {
        let text: String
        switch value {
        case .string(let s): text = s
        case .boolean(let b): text = b ? "yes" : "no"
        case .uint32(let v): text = String(v)
        case .uint64(let v): text = v == SystemdUnitPlan.unset ? "infinity" : String(v)
        case .uint32Array(let values): text = values.map(String.init).joined(separator: " ")
        case .bytes(let bytes): text = SystemdUnitPlan.cpuSet(bitmask: bytes).description
        }
        return name + "=" + text
    }
}

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
    /// systemd's "unset" for the `t` resource properties: `USEC_INFINITY`,
    /// `CGROUP_LIMIT_MAX` and `CGROUP_WEIGHT_INVALID` are all `UINT64_MAX`.
    public static let unset = UInt64.max
    /// `CGROUP_WEIGHT_IDLE`: what `CPUWeight=idle` is on the bus (systemd 250+).
    public static let idleCPUWeight: UInt64 = 0

    /// `feed.service` → `warden-feed.scope`; `worker@2.service` → `warden-worker@2.scope`.
    public static func scopeName(for unit: String) -> String {
        var base = unit
        if let dot = base.lastIndex(of: ".") { base = String(base[..<dot]) }
        return "warden-" + base + ".scope"
    }

    /// The resource-control properties for `resources`, in `CgroupPlan.writes`' order.
    /// Percentages of memory and of the task limit are resolved against `host` as the
    /// delegated backend resolves them; without host facts they go to systemd as its
    /// `…Scale` properties, which systemd resolves itself.
    public static func resourceProperties(_ resources: ResourceControl, host: HostFacts?) -> [SystemdProperty] {
        var properties: [SystemdProperty] = []
        if let cpus = resources.allowedCPUs { properties.append(SystemdProperty("AllowedCPUs", .bytes(bitmask(cpus)))) }
        if let nodes = resources.allowedMemoryNodes {
            properties.append(SystemdProperty("AllowedMemoryNodes", .bytes(bitmask(nodes))))
        }
        if let weight = resources.cpuWeight {
            switch weight {
            case .weight(let value): properties.append(SystemdProperty("CPUWeight", .uint64(value)))
            case .idle: properties.append(SystemdProperty("CPUWeight", .uint64(idleCPUWeight)))
            }
        }
        if let quota = resources.cpuQuota {
            properties.append(SystemdProperty("CPUQuotaPerSecUSec", .uint64(quota.perSecondUSec)))
        }
        if let period = resources.cpuQuotaPeriod {
            properties.append(SystemdProperty("CPUQuotaPeriodUSec", .uint64(period.usec)))
        }
        if let weight = resources.ioWeight { properties.append(SystemdProperty("IOWeight", .uint64(weight.value))) }
        let memory: [(String, MemoryLimit?)] = [
            ("MemoryMin", resources.memoryMin), ("MemoryLow", resources.memoryLow),
            ("MemoryHigh", resources.memoryHigh), ("MemoryMax", resources.memoryMax),
            ("MemorySwapMax", resources.memorySwapMax),
        ]
        for (name, limit) in memory {
            guard let limit else { continue }
            if case .percentOfPhysical(let permyriad) = limit, host?.physicalMemoryBytes == nil {
                properties.append(SystemdProperty(name + "Scale", .uint32(scale(permyriad: permyriad))))
            } else {
                properties.append(SystemdProperty(name, .uint64(limit.resolved(on: host)?.value ?? unset)))
            }
        }
        if let tasks = resources.tasksMax {
            if case .percentOfSystem(let permyriad) = tasks, host?.pidMax == nil {
                properties.append(SystemdProperty("TasksMaxScale", .uint32(scale(permyriad: permyriad))))
            } else {
                properties.append(SystemdProperty("TasksMax", .uint64(tasks.resolved(on: host)?.value ?? unset)))
            }
        }
        return properties
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

    /// systemd's value for a resource property that is not set.
    public static func defaultValue(of name: String) -> SystemdProperty? {
        switch name {
        case "CPUWeight", "IOWeight", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "MemoryHigh", "MemoryMax",
            "MemorySwapMax", "TasksMax":
            return SystemdProperty(name, .uint64(unset))
        case "MemoryMin", "MemoryLow": return SystemdProperty(name, .uint64(0))
        case "AllowedCPUs", "AllowedMemoryNodes": return SystemdProperty(name, .bytes([]))
        case "MemoryHighScale", "MemoryMaxScale", "MemorySwapMaxScale", "TasksMaxScale":
            return SystemdProperty(String(name.dropLast(5)), .uint64(unset))
        case "MemoryMinScale", "MemoryLowScale": return SystemdProperty(String(name.dropLast(5)), .uint64(0))
        default: return nil
        }
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

    /// `AllowedCPUs` as systemd's `cpu_set_to_dbus()`: byte i, bit j is CPU 8i+j.
    public static func bitmask(_ cpus: CPUSet) -> [UInt8] {
        guard let last = cpus.indices.last else { return [] }
        var bytes = [UInt8](repeating: 0, count: last / 8 + 1)
        for cpu in cpus.indices { bytes[cpu / 8] |= 1 << UInt8(cpu % 8) }
        return bytes
    }

    /// The inverse of `bitmask`.
    public static func cpuSet(bitmask bytes: [UInt8]) -> CPUSet {
        var cpus: [Int] = []
        for (index, byte) in bytes.enumerated() {
            for bit in 0..<8 where byte & (1 << UInt8(bit)) != 0 { cpus.append(index * 8 + bit) }
        }
        return CPUSet(cpus)
    }

    /// systemd's fixed-point share for the `…Scale` properties: `UINT32_MAX` is 100 %.
    public static func scale(permyriad: UInt32) -> UInt32 {
        UInt32((UInt64(min(permyriad, 10_000)) * UInt64(UInt32.max) + 5_000) / 10_000)
    }
}
