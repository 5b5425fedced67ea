/// One resource-control key (systemd.resource-control(5)) described once, as systemd's
/// `load-fragment-gperf` table describes it: its name and the unit sections it belongs
/// in, how its text is parsed into which field of `ResourceControl`, the cgroup v2 files
/// it is written to, the systemd D-Bus property it becomes under `CgroupBackend=systemd`,
/// whether `%` specifiers are expanded in it, and whether the governor may change it.
/// Everything else about the key is derived from the row (see `ResourceKeyRow`).
public struct ResourceKey<Value: Sendable>: ResourceKeyRow {
    public let key: String
    public let unitSections: Set<String>
    public let field: WritableKeyPath<ResourceControl, Value?> & Sendable
    let parse: @Sendable (String) -> Result<Value, ValueError>
    let meaning: String
    let syntax: String
    let defaultValue: String
    let parity: SystemdParity
    public let cgroup: CgroupEncoding<Value>
    public let systemd: SystemdPropertyEncoding<Value>
    public let specifiers: ResourceKeys.Specifiers
    public let governed: Bool

    /// A row. `parse` sees non-empty text only: an empty assignment resets the field to
    /// nil (the kernel's default, or the parent's value), as in systemd.
    init(
        _ key: String, in unitSections: Set<String> = ["Service", "Slice"],
        _ field: WritableKeyPath<ResourceControl, Value?> & Sendable,
        parse: @escaping @Sendable (String) -> Result<Value, ValueError>,
        _ meaning: String, syntax: String, default defaultValue: String, systemd parity: SystemdParity = .same,
        cgroup: CgroupEncoding<Value>, dbus: SystemdPropertyEncoding<Value>,
        specifiers: ResourceKeys.Specifiers = .expanded, governed: Bool = false
    ) {
        self.key = key
        self.unitSections = unitSections
        self.field = field
        self.parse = parse
        self.meaning = meaning
        self.syntax = syntax
        self.defaultValue = defaultValue
        self.parity = parity
        self.cgroup = cgroup
        self.systemd = dbus
        self.specifiers = specifiers
        self.governed = governed
    }

    /// The reference entry; what the key maps to is said by its encodings.
    public var doc: KeyDoc {
        var mapsTo = "\(cgroup.summary); D-Bus \(systemd.name)"
        if governed { mapsTo += "; the governor may change it in an overload and puts it back after" }
        return KeyDoc(meaning, syntax: syntax, default: defaultValue, mapsTo: mapsTo, systemd: parity)
    }

    public var cgroupFiles: [String] { cgroup.files }
    public var systemdPropertyName: String { systemd.name }
    public var systemdSignature: String { systemd.signature }

    public func rule<Model>(in section: String, of part: WritableKeyPath<Model, ResourceControl> & Sendable) -> KeyRule<Model>? {
        guard unitSections.contains(section) else { return nil }
        return KeyRule<ResourceControl>.value(key, in: [section], field, doc, parse: parse).lifted(part)
    }

    public func writes(for resources: ResourceControl, host: HostFacts?) -> [CgroupWrite] {
        resources[keyPath: field].map { cgroup.encode($0, resources, host) } ?? []
    }

    /// The cgroup writes for `value` on its own, as if the unit set nothing else (the
    /// governor's `EmergencyCPUWeight=`).
    public func writes(of value: Value, host: HostFacts? = nil) -> [CgroupWrite] {
        var resources = ResourceControl()
        resources[keyPath: field] = value
        return writes(for: resources, host: host)
    }

    public func property(for resources: ResourceControl, host: HostFacts?) -> SystemdProperty? {
        resources[keyPath: field].map { systemd.encode($0, host) }
    }

    public func name(of write: CgroupWrite) -> String? {
        cgroup.files.contains(write.file) ? cgroup.name(write, key) : nil
    }

    public func reset(ofProperty name: String) -> SystemdProperty? {
        name == systemd.name || name == systemd.scaleName ? SystemdProperty(systemd.name, systemd.unset) : nil
    }
}
