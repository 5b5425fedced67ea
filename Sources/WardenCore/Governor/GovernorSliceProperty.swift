/// The runtime properties the governor sets on a `ThrottleSlices=` slice (D-Bus
/// `SetUnitProperties`, runtime), and how their values are written in its records, its
/// state file and `warden emergency status`: the number systemd reports on the bus, with
/// systemd's "unset" (`UINT64_MAX`) and a weight's `idle` (0) as `systemctl show` spells them.
///
/// | property | records | on the bus |
/// |---|---|---|
/// | `CPUQuotaPerSecUSec` | `500000`, `infinity` (no quota) | the number, `UINT64_MAX` |
/// | `CPUWeight` | `1`, `idle`, `[not set]` | the number, 0 (`CGROUP_WEIGHT_IDLE`), `UINT64_MAX` (`CGROUP_WEIGHT_INVALID`) |
///
/// A quota alone leaves the slice its weight: between the throttle's periods it competes
/// at that weight with the slice the critical work is in (`make bench-governor`,
/// scenario `outside`), so the governor lowers both, as it does `cpu.max` and
/// `cpu.weight` of a batch group.
public enum GovernorSliceProperty: CaseIterable, Hashable, Sendable {
    case cpuQuota
    case cpuWeight

    /// The D-Bus property, as the `ResourceKeys` row names it.
    public var name: String {
        switch self {
        case .cpuQuota: ResourceKeys.cpuQuota.systemdPropertyName
        case .cpuWeight: ResourceKeys.cpuWeight.systemdPropertyName
        }
    }

    /// The property of that D-Bus name; nil for one the governor does not set on a slice.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// How the records spell systemd's unset, as `systemctl show` does.
    public var unsetText: String {
        switch self {
        case .cpuQuota: "infinity"
        case .cpuWeight: "[not set]"
        }
    }

    /// The record's text for a value read from the bus.
    public func text(_ value: UInt64) -> String {
        if value == SystemdPropertyValue.unsetUInt64 { return unsetText }
        if self == .cpuWeight && value == Self.idleWeight { return "idle" }
        return String(value)
    }

    /// `CPUWeight=idle` on the bus (systemd 250+ sets `cpu.idle` for it).
    static let idleWeight: UInt64 = 0

    /// The bus value of a record's text (`UINT64_MAX` for unset); nil when the text is not
    /// in the property's notation. The unset is read in either spelling and as the number.
    public func value(_ text: String) -> UInt64? {
        let t = GovernorRestore.trimmed(text)
        if t == "infinity" || t == "[not set]" { return SystemdPropertyValue.unsetUInt64 }
        if self == .cpuWeight && t == "idle" { return Self.idleWeight }
        guard let value = UInt64(t) else { return nil }
        switch self {
        case .cpuQuota:
            return value
        case .cpuWeight:
            // systemd takes 1…10000, 0 (`idle`) and the unset, nothing else.
            return value <= 10_000 || value == SystemdPropertyValue.unsetUInt64 ? value : nil
        }
    }

    /// The property that sets `text` (a record's value); nil when the text is not one.
    public func property(_ text: String) -> SystemdProperty? {
        value(text).map { SystemdProperty(name, .uint64($0)) }
    }

    /// The record's text of what the governor sets for a throttle.
    static func written(quota: CPUQuota) -> String {
        Self.cpuQuota.text(ResourceKeys.cpuQuota.systemd.property(quota, host: nil).uint64Value)
    }

    static func written(weight: CPUWeight) -> String {
        Self.cpuWeight.text(ResourceKeys.cpuWeight.systemd.property(weight, host: nil).uint64Value)
    }

    /// How much CPU a value allows, for `GovernorValues.isTighter`: no quota allows
    /// everything; an unset weight is systemd's default, `CPUWeight=100` (the weight it
    /// writes to `cpu.weight` then), and `idle` less than any weight.
    func allowance(_ text: String) -> UInt64? {
        guard let value = value(text) else { return nil }
        switch self {
        case .cpuQuota: return value
        case .cpuWeight: return value == SystemdPropertyValue.unsetUInt64 ? CPUWeight.defaultWeight : value
        }
    }

    /// The record's text of a property the governor sets (what reading it back gives);
    /// nil for any other property.
    public static func text(of property: SystemdProperty) -> String? {
        guard let known = GovernorSliceProperty(name: property.name), case .uint64(let value) = property.value else { return nil }
        return known.text(value)
    }

    /// `CPUWeight=[not set]`, `CPUQuotaPerSecUSec=500000`: a property as the records spell it.
    public static func describe(_ property: SystemdProperty) -> String {
        text(of: property).map { property.name + "=" + $0 } ?? property.description
    }
}

extension SystemdProperty {
    /// The number of a `t` property; the unset for any other type (never the case for the
    /// rows the governor uses).
    fileprivate var uint64Value: UInt64 {
        if case .uint64(let value) = value { return value }
        return SystemdPropertyValue.unsetUInt64
    }
}
