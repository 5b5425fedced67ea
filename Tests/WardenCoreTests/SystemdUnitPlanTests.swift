import Testing
import WardenCore

/// `CgroupBackend=systemd`: unit file keys → the D-Bus properties of the transient units.
@Suite struct SystemdUnitPlanTests {
    static let host = HostFacts(onlineCPUs: CPUSet(0...15), physicalMemoryBytes: 8 << 30, pidMax: 4_194_304)

    /// One `[Service]` resource key at a time, as written in a unit file.
    @Test(arguments: [
        ("CPUQuota=20%", [SystemdProperty("CPUQuotaPerSecUSec", .uint64(200_000))]),
        ("CPUQuota=150%", [SystemdProperty("CPUQuotaPerSecUSec", .uint64(1_500_000))]),
        ("CPUQuotaPeriodSec=10ms", [SystemdProperty("CPUQuotaPeriodUSec", .uint64(10_000))]),
        ("CPUWeight=1000", [SystemdProperty("CPUWeight", .uint64(1000))]),
        ("CPUWeight=idle", [SystemdProperty("CPUWeight", .uint64(0))]),
        ("AllowedCPUs=0-1,9", [SystemdProperty("AllowedCPUs", .bytes([0b0000_0011, 0b0000_0010]))]),
        ("AllowedMemoryNodes=0", [SystemdProperty("AllowedMemoryNodes", .bytes([1]))]),
        ("MemoryMax=64M", [SystemdProperty("MemoryMax", .uint64(64 << 20))]),
        ("MemoryMax=infinity", [SystemdProperty("MemoryMax", .uint64(.max))]),
        ("MemoryMax=50%", [SystemdProperty("MemoryMax", .uint64(4 << 30))]),
        ("MemoryHigh=1536M", [SystemdProperty("MemoryHigh", .uint64(1536 << 20))]),
        ("MemoryLow=5G", [SystemdProperty("MemoryLow", .uint64(5 << 30))]),
        ("MemoryMin=1G", [SystemdProperty("MemoryMin", .uint64(1 << 30))]),
        ("MemorySwapMax=0", [SystemdProperty("MemorySwapMax", .uint64(0))]),
        ("TasksMax=24", [SystemdProperty("TasksMax", .uint64(24))]),
        ("TasksMax=infinity", [SystemdProperty("TasksMax", .uint64(.max))]),
        ("TasksMax=1%", [SystemdProperty("TasksMax", .uint64(41_943))]),
        ("IOWeight=200", [SystemdProperty("IOWeight", .uint64(200))]),
    ])
    func resourceKeyBecomesItsProperty(line: String, expected: [SystemdProperty]) throws {
        let service = try Self.service(line)
        #expect(SystemdUnitPlan.resourceProperties(service.resources, host: Self.host) == expected)
    }

    /// Without host facts percentages go to systemd as its `…Scale` properties.
    @Test(arguments: [
        ("MemoryMax=50%", SystemdProperty("MemoryMaxScale", .uint32(UInt32.max / 2 + 1))),
        ("MemoryHigh=100%", SystemdProperty("MemoryHighScale", .uint32(.max))),
        ("TasksMax=15%", SystemdProperty("TasksMaxScale", .uint32(644_245_094))),
    ])
    func percentagesWithoutHostFactsAreScales(line: String, expected: SystemdProperty) throws {
        let service = try Self.service(line)
        #expect(SystemdUnitPlan.resourceProperties(service.resources, host: nil) == [expected])
    }

    @Test func scopeOfAComponentCarriesSlicePIDsAndLimits() throws {
        let service = try Self.service(
            "Description=Order executor\nSlice=trading-critical.slice\nCPUQuota=20%\nMemoryMax=64M", name: "executor.service")
        let properties = SystemdUnitPlan.scopeProperties(for: service, pids: [4242], host: Self.host)
        #expect(
            properties == [
                SystemdProperty("Description", .string("Order executor (Warden: executor.service)")),
                SystemdProperty("Slice", .string("trading-critical.slice")),
                SystemdProperty("PIDs", .uint32Array([4242])),
                SystemdProperty("Delegate", .boolean(true)),
                SystemdProperty("CollectMode", .string("inactive-or-failed")),
                SystemdProperty("CPUQuotaPerSecUSec", .uint64(200_000)),
                SystemdProperty("MemoryMax", .uint64(64 << 20)),
            ])
        #expect(
            properties.map(\.description).joined(separator: " ")
                == "Description=Order executor (Warden: executor.service) Slice=trading-critical.slice PIDs=4242"
                + " Delegate=yes CollectMode=inactive-or-failed CPUQuotaPerSecUSec=200000 MemoryMax=67108864")
        let plain = try Self.service("", name: "feed.service")
        #expect(SystemdUnitPlan.scopeProperties(for: plain, pids: [7], host: nil).prefix(2) == [
            SystemdProperty("Description", .string("Warden component feed.service")),
            SystemdProperty("Slice", .string("system.slice")),
        ])
    }

    @Test(arguments: [
        ("feed.service", "warden-feed.scope"),
        ("order-executor.service", "warden-order-executor.scope"),
        ("worker@2.service", "warden-worker@2.scope"),
    ])
    func scopeName(unit: String, scope: String) {
        #expect(SystemdUnitPlan.scopeName(for: unit) == scope)
    }

    @Test func sliceBecomesATransientSliceWithItsSettings() throws {
        let fs = InMemoryFileSystem(files: [
            "/u/trading.slice": "[Unit]\nDescription=Trading stack\n[Slice]\nCPUWeight=500\nMemoryLow=5G\n",
            "/u/trading-batch.slice": "[Slice]\nCPUQuota=100%\n",
            "/u/bt.service": "[Service]\nExecStart=/bin/true\nSlice=trading-batch.slice\n",
        ], executables: ["/bin/true"])
        let result = Self.loader(fs).load(configPath: nil, unitDirectories: ["/u"])
        let configuration = try #require(result.configuration, "\(result.diagnostics)")
        let trading = try #require(configuration.slices.first { $0.name.description == "trading.slice" })
        #expect(
            SystemdUnitPlan.sliceProperties(for: trading, host: Self.host) == [
                SystemdProperty("Description", .string("Trading stack (Warden: trading.slice)")),
                SystemdProperty("CPUWeight", .uint64(500)),
                SystemdProperty("MemoryLow", .uint64(5 << 30)),
            ])
        let service = try #require(configuration.services.first)
        #expect(SystemdUnitPlan.sliceChain(for: service, in: configuration) == ["trading.slice", "trading-batch.slice"])
    }

    @Test(arguments: [[], [0], [1, 3], [0, 7, 8, 15, 64]])
    func cpuBitmaskRoundTrips(cpus: [Int]) {
        let set = CPUSet(cpus)
        #expect(CPUSet(systemdBitmask: set.systemdBitmask) == set)
    }

    static func loader(_ fs: InMemoryFileSystem) -> ConfigurationLoader {
        ConfigurationLoader(
            fileSystem: fs, specifiers: SpecifierContext(hostname: "test"), host: host, executableSearchPath: ["/bin"])
    }

    /// A component unit with `body` in `[Service]` (and `Description=` in `[Unit]`).
    static func service(_ body: String, name: String = "c.service") throws -> ServiceConfig {
        var unit = "", service = "ExecStart=/bin/true\n"
        for line in body.split(separator: "\n") {
            if line.hasPrefix("Description=") { unit += line + "\n" } else { service += line + "\n" }
        }
        let fs = InMemoryFileSystem(
            files: ["/u/\(name)": "[Unit]\n\(unit)[Service]\n\(service)"], executables: ["/bin/true"])
        let result = loader(fs).load(configPath: nil, unitDirectories: ["/u"])
        let configuration = try #require(result.configuration, "\(result.diagnostics)")
        return try #require(configuration.services.first)
    }
}

/// A reload's changes to a running unit.
@Suite struct SystemdPropertyChangeTests {
    @Test func changedValuesAndResetsOfRemovedKeys() {
        let old = [
            SystemdProperty("Description", .string("a")), SystemdProperty("CPUWeight", .uint64(300)),
            SystemdProperty("MemoryLow", .uint64(1 << 30)), SystemdProperty("AllowedCPUs", .bytes([1])),
            SystemdProperty("TasksMax", .uint64(24)),
        ]
        let new = [
            SystemdProperty("Description", .string("b")), SystemdProperty("CPUWeight", .uint64(400)),
            SystemdProperty("TasksMax", .uint64(24)), SystemdProperty("CPUQuotaPerSecUSec", .uint64(500_000)),
        ]
        #expect(
            SystemdUnitPlan.propertyChanges(from: old, to: new) == [
                SystemdProperty("CPUWeight", .uint64(400)), SystemdProperty("CPUQuotaPerSecUSec", .uint64(500_000)),
                SystemdProperty("MemoryLow", .uint64(0)), SystemdProperty("AllowedCPUs", .bytes([])),
            ])
        #expect(SystemdUnitPlan.propertyChanges(from: new, to: new).isEmpty)
    }

    @Test(arguments: [
        ("MemoryMaxScale", SystemdProperty("MemoryMax", .uint64(.max))),
        ("MemoryLowScale", SystemdProperty("MemoryLow", .uint64(0))),
        ("TasksMax", SystemdProperty("TasksMax", .uint64(.max))),
        ("CPUWeight", SystemdProperty("CPUWeight", .uint64(.max))),
    ])
    func defaultValue(name: String, expected: SystemdProperty) {
        #expect(SystemdUnitPlan.defaultValue(of: name) == expected)
    }
}
