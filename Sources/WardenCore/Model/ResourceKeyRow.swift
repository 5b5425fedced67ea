/// A row of `ResourceKeys` seen without its value type: what the tables derived from the
/// rows read (the parser's rules, `CgroupPlan`, `SystemdUnitPlan`, the reverse map from a
/// cgroup file to its key, the verbatim keys, the governed D-Bus properties).
public protocol ResourceKeyRow: Sendable {
    /// systemd's name, `CPUQuota`.
    var key: String { get }
    /// The unit sections the key belongs in, one per unit type: `[Service]`, `[Slice]`.
    var unitSections: Set<String> { get }
    var doc: KeyDoc { get }
    var specifiers: ResourceKeys.Specifiers { get }
    /// Whether the governor may change the setting in an overload (and put it back).
    var governed: Bool { get }
    /// The cgroup v2 interface files the key writes.
    var cgroupFiles: [String] { get }
    /// The systemd D-Bus property and its D-Bus type (`CPUQuotaPerSecUSec`, `t`).
    var systemdPropertyName: String { get }
    var systemdSignature: String { get }

    /// The parser's rule for `section`, storing into `part` of a whole unit's model;
    /// nil when the key does not belong in that section.
    func rule<Model>(in section: String, of part: WritableKeyPath<Model, ResourceControl> & Sendable) -> KeyRule<Model>?
    /// The cgroup writes for the key's value in `resources`; none when it is not set.
    func writes(for resources: ResourceControl, host: HostFacts?) -> [CgroupWrite]
    /// The D-Bus property for the key's value in `resources`; nil when it is not set.
    func property(for resources: ResourceControl, host: HostFacts?) -> SystemdProperty?
    /// The operator's name for `write` when it is this key's (`CPUWeight=idle`), else nil.
    func name(of write: CgroupWrite) -> String?
    /// What puts the property `name` (the key's own, or its `…Scale`) back to systemd's
    /// unset value; nil when `name` is not this key's.
    func reset(ofProperty name: String) -> SystemdProperty?
}
