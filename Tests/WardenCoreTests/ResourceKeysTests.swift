import Testing
@testable import WardenCore

/// The resource-key table: every row parses, plans, becomes its D-Bus property and maps
/// back from its cgroup file, through nothing but its row.
@Suite struct ResourceKeysTests {
    static let host = HostFacts(onlineCPUs: CPUSet(0...15), physicalMemoryBytes: 8 << 30, pidMax: 4_194_304)

    func resources(_ line: String) throws -> ResourceControl {
        var tree = Tree()
        tree.unit("a.service", service(line))
        let result = tree.load(host: Self.host)
        return try #require(result.configuration?.services.first, "\(result.diagnostics)").resources
    }

    /// One line of a unit file → its cgroup writes → its D-Bus properties, for every row.
    static let rows: [(line: String, writes: [CgroupWrite], properties: [SystemdProperty])] = [
        ("AllowedCPUs=0-1,9", [CgroupWrite("cpuset.cpus", "0-1,9")], [SystemdProperty("AllowedCPUs", .bytes([0x03, 0x02]))]),
        ("AllowedMemoryNodes=0", [CgroupWrite("cpuset.mems", "0")], [SystemdProperty("AllowedMemoryNodes", .bytes([0x01]))]),
        ("CPUWeight=500", [CgroupWrite("cpu.weight", "500")], [SystemdProperty("CPUWeight", .uint64(500))]),
        ("CPUWeight=idle", [CgroupWrite("cpu.idle", "1")], [SystemdProperty("CPUWeight", .uint64(0))]),
        ("CPUQuota=20%", [CgroupWrite("cpu.max", "20000 100000")], [SystemdProperty("CPUQuotaPerSecUSec", .uint64(200_000))]),
        ("CPUQuotaPeriodSec=10ms", [CgroupWrite("cpu.max", "max 10000")], [SystemdProperty("CPUQuotaPeriodUSec", .uint64(10_000))]),
        ("IOWeight=1", [CgroupWrite("io.weight", "default 1")], [SystemdProperty("IOWeight", .uint64(1))]),
        ("IOWeight=10000", [CgroupWrite("io.weight", "default 10000")], [SystemdProperty("IOWeight", .uint64(10_000))]),
        ("MemoryMin=64M", [CgroupWrite("memory.min", "67108864")], [SystemdProperty("MemoryMin", .uint64(64 << 20))]),
        ("MemoryLow=10%", [CgroupWrite("memory.low", "858992640")], [SystemdProperty("MemoryLow", .uint64(858_992_640))]),
        ("MemoryHigh=infinity", [CgroupWrite("memory.high", "max")], [SystemdProperty("MemoryHigh", .uint64(.max))]),
        ("MemoryMax=4G", [CgroupWrite("memory.max", "4294967296")], [SystemdProperty("MemoryMax", .uint64(4 << 30))]),
        ("MemorySwapMax=0", [CgroupWrite("memory.swap.max", "0")], [SystemdProperty("MemorySwapMax", .uint64(0))]),
        ("MemoryZSwapMax=64M", [CgroupWrite("memory.zswap.max", "67108864")], [SystemdProperty("MemoryZSwapMax", .uint64(67_108_864))]),
        ("TasksMax=512", [CgroupWrite("pids.max", "512")], [SystemdProperty("TasksMax", .uint64(512))]),
    ]

    @Test(arguments: rows.indices)
    func lineBecomesItsWritesAndProperties(index: Int) throws {
        let row = Self.rows[index]
        let resources = try resources(row.line)
        #expect(CgroupPlan.writes(for: resources, host: Self.host) == row.writes, "\(row.line)")
        #expect(SystemdUnitPlan.resourceProperties(resources, host: Self.host) == row.properties, "\(row.line)")
        let key = String(row.line.prefix { $0 != "=" })
        for write in row.writes {
            #expect(CgroupSettingName.key(for: write).hasPrefix(key + "="), "\(write) maps back to \(CgroupSettingName.key(for: write))")
        }
    }

    /// Every row is tested above, and appears once.
    @Test func everyRowIsCoveredOnce() {
        let keys = ResourceKeys.all.map(\.key)
        #expect(Set(keys).count == keys.count)
        #expect(Set(Self.rows.map { String($0.line.prefix { $0 != "=" }) }) == Set(keys))
    }

    @Test func everyRowIsAKeyOfBothUnitTypesAndResets() throws {
        let serviceKeys = Set(ServiceConfig.rules.filter { $0.sections == ["Service"] }.map(\.key))
        let sliceKeys = Set(SliceConfig.rules.filter { $0.sections == ["Slice"] }.map(\.key))
        for row in ResourceKeys.all {
            #expect(serviceKeys.contains(row.key) && sliceKeys.contains(row.key), "\(row.key)")
            #expect(SystemdUnitPlan.defaultValue(of: row.systemdPropertyName)?.name == row.systemdPropertyName)
            #expect(row.doc.mapsTo.hasPrefix(row.cgroupFiles[0]), "\(row.key): \(row.doc.mapsTo)")
            #expect(row.doc.mapsTo.contains("D-Bus \(row.systemdPropertyName)"), "\(row.key): \(row.doc.mapsTo)")
        }
        // An empty assignment resets: a later `Key=` undoes an earlier value.
        for (line, _, _) in Self.rows {
            let key = String(line.prefix { $0 != "=" })
            #expect(CgroupPlan.writes(for: try resources(line + "\n" + key + "="), host: Self.host).isEmpty, "\(key)=")
        }
    }

    @Test func percentagesAreVerbatimAndTheGovernorsKeysAreNamed() {
        #expect(
            ResourceKeys.verbatimKeys
                == ["CPUQuota", "MemoryMin", "MemoryLow", "MemoryHigh", "MemoryMax", "MemorySwapMax", "MemoryZSwapMax", "TasksMax"])
        #expect(UnitLoader.defaultVerbatimKeys.isSuperset(of: ResourceKeys.verbatimKeys))
        #expect(UnitLoader.defaultVerbatimKeys.isSuperset(of: ["ManagedOOMMemoryPressureLimit", "DefaultMemoryLow", "DefaultMemoryMin"]))
        #expect(ResourceKeys.governed.map(\.key) == ["CPUWeight", "CPUQuota", "MemoryHigh"])
        #expect(GovernorTarget.observedFiles == ["cpu.weight", "cpu.idle", "cpu.max", "memory.high", "cgroup.freeze"])
        #expect(GovernorTarget.systemdProperties == ["CPUQuotaPerSecUSec", "CPUWeight"])
        #expect(ResourceKeys.controllers == ["cpu", "cpuset", "io", "memory", "pids"])
    }

    /// A key Warden keeps verbatim is one systemd parses without specifiers too.
    @Test func verbatimRowsAreVerbatimInSystemd() {
        for row in ResourceKeys.all where row.specifiers == .verbatim && SystemdOnlyKeys.isSystemdKey(row.key, section: "Service") {
            #expect(SystemdOnlyKeys.verbatimKeys.contains(row.key), "\(row.key)")
        }
    }

    /// The demonstration row: `IOWeight=` is one row and the encoders it names.
    @Test(arguments: [
        ("IOWeight=300", IOWeight?.some(IOWeight(value: 300)), nil),
        ("IOWeight=1\nIOWeight=", nil, nil),
        ("IOWeight=0", nil, "'0' is not an IO weight"),
        ("IOWeight=10001", nil, "from 1 to 10000"),
        ("IOWeight=50%", nil, "'50%' is not an IO weight"),
        ("IOWeight=idle", nil, "'idle' is not an IO weight"),
    ] as [(String, IOWeight?, String?)])
    func ioWeightParses(line: String, weight: IOWeight?, error: String?) throws {
        var tree = Tree()
        tree.unit("a.service", service(line))
        let result = tree.load(host: Self.host)
        if let error {
            let found = try #require(result.errors.first, "\(line) was accepted")
            #expect(found.key == "IOWeight" && found.location.line == 6 && found.message.contains(error), "\(found)")
        } else {
            #expect(result.errors.isEmpty, "\(result.errors)")
            #expect(result.configuration?.services.first?.resources.ioWeight == weight)
        }
    }

    @Test func ioWeightNeedsTheIOControllerAndSaysSoWhenItIsMissing() throws {
        var tree = Tree()
        tree.unit("disk.slice", "[Slice]\nIOWeight=50\n")
        tree.unit("backup.service", service("Slice=disk.slice\nIOWeight=20"))
        let configuration = try #require(tree.load(host: Self.host).configuration)
        let plan = CgroupPlan.plan(for: configuration, host: Self.host)
        let backup = try #require(plan.first { $0.unit == "backup.service" })
        #expect(backup.writes == [CgroupWrite("io.weight", "default 20")])
        #expect(backup.controllers == ["cpu", "io"])
        #expect(plan.first { $0.unit == "disk.slice" }?.writes == [CgroupWrite("io.weight", "default 50")])
        let withoutIO = CgroupAvailability(hierarchy: .usable, availableControllers: ["cpu", "memory", "pids"])
        #expect(
            CgroupEnforcement.messages(CgroupEnforcement.unenforced(plan: plan, availability: withoutIO))
                == ["IOWeight= on disk.slice, IOWeight= on backup.service: io controller not available"])
    }

    @Test func ioWeightOnTheBusResetsToSystemdsUnset() {
        #expect(ResourceKeys.ioWeight.systemd.property(IOWeight(value: 300), host: nil) == SystemdProperty("IOWeight", .uint64(300)))
        #expect(ResourceKeys.ioWeight.systemd.property(nil, host: nil) == SystemdProperty("IOWeight", .uint64(.max)))
        #expect(ResourceKeys.ioWeight.systemd.signature == "t")
        #expect(
            SystemdUnitPlan.propertyChanges(
                from: [SystemdProperty("IOWeight", .uint64(300))], to: [])
                == [SystemdProperty("IOWeight", .uint64(.max))])
        #expect(ResourceKeys.ioWeight.doc.mapsTo == "io.weight = default N; D-Bus IOWeight")
    }

    @Test(arguments: [
        (CgroupWrite("io.weight", "default 5"), "IOWeight="), (CgroupWrite("cpu.idle", "1"), "CPUWeight=idle"),
        (CgroupWrite("cpu.max", "max 100000"), "CPUQuotaPeriodSec="), (CgroupWrite("cpu.max", "5000 10000"), "CPUQuota="),
        (CgroupWrite("memory.min", "0"), "MemoryMin="), (CgroupWrite("cgroup.freeze", "1"), "cgroup.freeze"),
    ])
    func filesMapBackToTheirRows(write: CgroupWrite, key: String) {
        #expect(CgroupSettingName.key(for: write) == key)
    }

    /// `warden status` shows the limit that is written: one resolution, in whole pages.
    @Test(arguments: [
        ("MemoryMax=33.33%", HostFacts(physicalMemoryBytes: 1_000_000_000)),
        ("MemoryHigh=10%", HostFacts(physicalMemoryBytes: 3 << 30 + 12_345, pageSizeBytes: 65_536)),
    ])
    func statusAndWriterResolveTheSame(line: String, host: HostFacts) throws {
        let resources = try resources(line)
        let limit = try #require(resources.memoryMax ?? resources.memoryHigh)
        let bytes = try #require(limit.resolved(on: host)?.value)
        #expect(bytes % host.pageSizeBytes == 0)
        #expect(CgroupPlan.writes(for: resources, host: host).map(\.value) == [String(bytes)])
        #expect(SystemdUnitPlan.resourceProperties(resources, host: host).map(\.value) == [.uint64(bytes)])
    }
}
