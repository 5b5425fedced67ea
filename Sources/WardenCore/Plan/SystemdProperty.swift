/// A property value in a systemd D-Bus call (`StartTransientUnit`'s and
/// `SetUnitProperties`' `a(sv)`, a `Properties.Get` reply), by its D-Bus type.
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

    /// systemd's "unset" for the `t` resource properties: `USEC_INFINITY`,
    /// `CGROUP_LIMIT_MAX` and `CGROUP_WEIGHT_INVALID` are all `UINT64_MAX`.
    public static let unsetUInt64 = UInt64.max

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

    /// The value as `systemctl show` spells it raw: `infinity` for the unset `t`, a
    /// bitmask as the CPU list it stands for.
    public var text: String {
        switch self {
        case .string(let s): s
        case .boolean(let b): b ? "yes" : "no"
        case .uint32(let v): String(v)
        case .uint64(let v): v == Self.unsetUInt64 ? "infinity" : String(v)
        case .uint32Array(let values): values.map(String.init).joined(separator: " ")
        case .bytes(let bytes): CPUSet(systemdBitmask: bytes).description
        }
    }
}

/// One `(sv)` pair of a unit: a systemd D-Bus property name and its value.
public struct SystemdProperty: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: SystemdPropertyValue

    public init(_ name: String, _ value: SystemdPropertyValue) {
        self.name = name
        self.value = value
    }

    /// `NAME=value`, for messages.
    public var description: String { name + "=" + value.text }
}

extension CPUSet {
    /// The set as systemd's `cpu_set_to_dbus()` sends it (`AllowedCPUs`,
    /// `AllowedMemoryNodes`): byte i, bit j is CPU 8i+j; the empty set is no bytes.
    public var systemdBitmask: [UInt8] {
        guard let last = indices.last else { return [] }
        var bytes = [UInt8](repeating: 0, count: last / 8 + 1)
        for cpu in indices { bytes[cpu / 8] |= 1 << UInt8(cpu % 8) }
        return bytes
    }

    /// The set a systemd bitmask stands for.
    public init(systemdBitmask bytes: [UInt8]) {
        var cpus: [Int] = []
        for (index, byte) in bytes.enumerated() {
            for bit in 0..<8 where byte & (1 << UInt8(bit)) != 0 { cpus.append(index * 8 + bit) }
        }
        self.init(cpus)
    }
}
