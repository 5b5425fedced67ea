/// How one of the governor's cgroup writes reaches a group that systemd owns
/// (`CgroupBackend=systemd`: a component's scope, a slice): as the runtime property
/// `systemctl set-property --runtime` would set, or as systemd's own freeze and thaw, so
/// systemd writes the file itself and its view of the unit stays true. The governor
/// decides and compares in cgroup-file values; this is the one place they become
/// systemd's.
public enum GovernorUnitWrite: Hashable, Sendable {
    case property(SystemdProperty)
    /// `FreezeUnit`, `ThawUnit`.
    case freeze
    case thaw

    /// The systemd form of `write`, chosen so that the file systemd then writes holds
    /// exactly `write.value` (what the governor recorded and later compares):
    ///
    /// | file | value | becomes |
    /// |---|---|---|
    /// | `cpu.max` | `max P` | `CPUQuotaPerSecUSec=infinity` |
    /// | `cpu.max` | `Q P` | `CPUQuotaPerSecUSec=⌈Q·10⁶/P⌉`, which systemd turns back into `Q P` with the unit's period |
    /// | `cpu.weight` | `N` | `CPUWeight=N` |
    /// | `memory.high` | `max` / `N` | `MemoryHigh=infinity` / `MemoryHigh=N` |
    /// | `cgroup.freeze` | `1` / `0` | freeze / thaw |
    ///
    /// Any other file, or a value not in those forms, is refused with the reason.
    public static func translating(_ write: CgroupWrite) -> Result<GovernorUnitWrite, GovernorUnitWriteError> {
        let value = write.value.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        func refuse(_ expected: String) -> Result<GovernorUnitWrite, GovernorUnitWriteError> {
            .failure(GovernorUnitWriteError(file: write.file, value: write.value, expected: expected))
        }
        switch write.file {
        case "cpu.max":
            guard value.count == 2, let period = UInt64(value[1]), period > 0 else { return refuse("'max PERIOD' or 'QUOTA PERIOD'") }
            if value[0] == "max" { return .success(.property(quota(nil))) }
            guard let quotaUSec = UInt64(value[0]) else { return refuse("'max PERIOD' or 'QUOTA PERIOD'") }
            let (product, overflow) = quotaUSec.multipliedReportingOverflow(by: 1_000_000)
            let (roundedUp, overflowToo) = product.addingReportingOverflow(period - 1)
            guard !overflow, !overflowToo else { return refuse("a quota below 2^64 / 10^6 µs") }
            return .success(.property(quota(roundedUp / period)))
        case "cpu.weight":
            guard value.count == 1, let weight = UInt64(value[0]), (1...10_000).contains(weight) else { return refuse("a weight 1…10000") }
            return .success(.property(SystemdProperty(ResourceKeys.cpuWeight.systemdPropertyName, .uint64(weight))))
        case "memory.high":
            guard value.count == 1 else { return refuse("'max' or a number of bytes") }
            if value[0] == "max" {
                return .success(.property(SystemdProperty(ResourceKeys.memoryHigh.systemdPropertyName, .uint64(SystemdPropertyValue.unsetUInt64))))
            }
            guard let bytes = UInt64(value[0]) else { return refuse("'max' or a number of bytes") }
            return .success(.property(SystemdProperty(ResourceKeys.memoryHigh.systemdPropertyName, .uint64(bytes))))
        case "cgroup.freeze":
            switch value.first {
            case "1" where value.count == 1: return .success(.freeze)
            case "0" where value.count == 1: return .success(.thaw)
            default: return refuse("0 or 1")
            }
        default:
            return refuse("one of cpu.max, cpu.weight, memory.high, cgroup.freeze (the files systemd has a setting for)")
        }
    }

    private static func quota(_ perSecondUSec: UInt64?) -> SystemdProperty {
        SystemdProperty(ResourceKeys.cpuQuota.systemdPropertyName, .uint64(perSecondUSec ?? SystemdPropertyValue.unsetUInt64))
    }

    /// `CPUQuotaPerSecUSec=500000`, `freeze`.
    public var summary: String {
        switch self {
        case .property(let property): property.description
        case .freeze: "freeze"
        case .thaw: "thaw"
        }
    }
}

/// A governor write that has no systemd equivalent.
public struct GovernorUnitWriteError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var value: String
    public var expected: String

    public var description: String { "\(file) = '\(value)' cannot be set through systemd: expected \(expected)" }
}
