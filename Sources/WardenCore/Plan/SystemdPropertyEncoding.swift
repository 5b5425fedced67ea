/// How a resource key's value becomes the systemd D-Bus property that
/// `systemd-run -p KEY=VALUE` would send (`CPUQuota=20%` → `CPUQuotaPerSecUSec=200000`).
/// A `ResourceKeys` row holds one; `SystemdUnitPlan`, its resets, and the governor's
/// reads and writes of systemd's own slices (`SystemdBus`) are derived from them.
public struct SystemdPropertyEncoding<Value: Sendable>: Sendable {
    /// The D-Bus property, `CPUQuotaPerSecUSec`.
    public let name: String
    /// Its D-Bus type as systemd reads and reports it: `t` or `ay`.
    public let signature: String
    /// systemd's value when the key is not set: what a reset sends.
    public let unset: SystemdPropertyValue
    /// The `…Scale` property (`u`, a share of `UINT32_MAX`) a percentage is sent as when
    /// the host is not known, for systemd to resolve itself.
    public let scaleName: String?
    let encode: @Sendable (Value, HostFacts?) -> SystemdProperty

    /// The property for `value`, the unset value for nil.
    public func property(_ value: Value?, host: HostFacts?) -> SystemdProperty {
        value.map { encode($0, host) } ?? SystemdProperty(name, unset)
    }

    /// A `t` property; systemd's unset is `UINT64_MAX` unless said otherwise.
    public static func uint64(
        _ name: String, unset: UInt64 = SystemdPropertyValue.unsetUInt64, _ number: @escaping @Sendable (Value) -> UInt64
    ) -> SystemdPropertyEncoding {
        SystemdPropertyEncoding(
            name: name, signature: "t", unset: .uint64(unset), scaleName: nil,
            encode: { value, _ in SystemdProperty(name, .uint64(number(value))) })
    }

    /// systemd's fixed-point share for the `…Scale` properties: `UINT32_MAX` is 100 %.
    public static func scale(permyriad: UInt32) -> UInt32 {
        UInt32((UInt64(min(permyriad, 10_000)) * UInt64(UInt32.max) + 5_000) / 10_000)
    }
}

extension SystemdPropertyEncoding where Value == CPUSet {
    /// `AllowedCPUs`, `AllowedMemoryNodes` (`ay`): the bitmask of `cpu_set_to_dbus()`;
    /// no bytes is "not set".
    public static func bitmask(_ name: String) -> SystemdPropertyEncoding {
        SystemdPropertyEncoding(
            name: name, signature: "ay", unset: .bytes([]), scaleName: nil,
            encode: { cpus, _ in SystemdProperty(name, .bytes(cpus.systemdBitmask)) })
    }
}

extension SystemdPropertyEncoding where Value == MemoryLimit {
    /// `MemoryMax` and the other memory properties (`t`, bytes), resolved as the cgroup
    /// writer resolves them; `MemoryMaxScale` when the host's memory is unknown.
    /// `unset` is 0 for the protections (`MemoryMin`, `MemoryLow`).
    public static func memory(_ name: String, unset: UInt64 = SystemdPropertyValue.unsetUInt64) -> SystemdPropertyEncoding {
        let scaleName = name + "Scale"
        return SystemdPropertyEncoding(
            name: name, signature: "t", unset: .uint64(unset), scaleName: scaleName,
            encode: { limit, host in
                if case .percentOfPhysical(let permyriad) = limit, host?.physicalMemoryBytes == nil {
                    return SystemdProperty(scaleName, .uint32(scale(permyriad: permyriad)))
                }
                return SystemdProperty(name, .uint64(limit.resolved(on: host)?.value ?? SystemdPropertyValue.unsetUInt64))
            })
    }
}

extension SystemdPropertyEncoding where Value == TasksMax {
    /// `TasksMax` (`t`), resolved as `pids.max` is; `TasksMaxScale` when pid_max is unknown.
    public static let tasksMax = SystemdPropertyEncoding(
        name: "TasksMax", signature: "t", unset: .uint64(SystemdPropertyValue.unsetUInt64), scaleName: "TasksMaxScale",
        encode: { tasks, host in
            if case .percentOfSystem(let permyriad) = tasks, host?.pidMax == nil {
                return SystemdProperty("TasksMaxScale", .uint32(scale(permyriad: permyriad)))
            }
            return SystemdProperty("TasksMax", .uint64(tasks.resolved(on: host)?.value ?? SystemdPropertyValue.unsetUInt64))
        })
}
