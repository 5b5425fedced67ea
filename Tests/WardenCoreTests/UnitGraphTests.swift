import Testing
@testable import WardenCore

/// Aliases, enabled template instances, masked units, targets and the unit types Warden
/// cannot have, loaded the way systemd 252 reads a unit directory.
@Suite struct UnitGraphTests {
    struct Units {
        var files: [String: String] = ["/etc/warden/warden.conf": "[Warden]\nUnitDirectories=/u\n"]
        var links: [String: String] = [:]

        mutating func unit(_ name: String, _ text: String) { files["/u/" + name] = text }
        mutating func link(_ name: String, _ target: String) { links["/u/" + name] = target }

        func load() -> ConfigurationLoader.Result {
            let loader = ConfigurationLoader(
                fileSystem: InMemoryFileSystem(files: files, executables: ["/usr/bin/sleep"], links: links),
                specifiers: SpecifierContext(hostname: "testhost"), executableSearchPath: ["/usr/bin"])
            return loader.load(configPath: "/etc/warden/warden.conf")
        }
    }

    static func graph(_ result: ConfigurationLoader.Result) throws -> DependencyGraph {
        DependencyGraph(configuration: try #require(result.configuration))
    }

    // MARK: Aliases

    /// A link to another unit file of the same type, relative or absolute, is a second
    /// name of that unit: one component, and the name works in dependencies and lookups.
    @Test(arguments: ["redis-server.service", "/lib/systemd/system/redis-server.service", "./redis-server.service"])
    func aliasLinkIsANameNotASecondUnit(target: String) throws {
        var u = Units()
        u.unit("redis-server.service", service(""))
        u.link("redis.service", target)
        u.unit("app.service", service("", unit: "Requires=redis.service\nAfter=redis.service"))
        let result = u.load()
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        #expect(result.warnings.isEmpty, "\(result.diagnostics)")
        let configuration = try #require(result.configuration)
        #expect(configuration.services.map(\.name.description) == ["app.service", "redis-server.service"])
        #expect(configuration.aliases == ["redis.service": "redis-server.service"])
        #expect(configuration.service(named: "redis.service")?.name.description == "redis-server.service")
        #expect(configuration.service(named: "redis")?.name.description == "redis-server.service")
        #expect(configuration.canonicalName("redis.service") == "redis-server.service")
        let app = try #require(configuration.service(named: "app"))
        #expect(app.requires == ["redis-server.service"])
        #expect(try Self.graph(result).startsAfter["app.service"] == ["redis-server.service"])
    }

    @Test func installAliasNamesTheUnit() throws {
        var u = Units()
        u.unit("redis-server.service", service("") + "[Install]\nAlias=redis.service\nWantedBy=multi-user.target\n")
        u.unit("app.service", service("", unit: "After=redis.service"))
        let result = u.load()
        #expect(result.errors.isEmpty && result.warnings.isEmpty, "\(result.diagnostics)")
        let configuration = try #require(result.configuration)
        #expect(configuration.aliases["redis.service"] == "redis-server.service")
        #expect(configuration.service(named: "app")?.after == ["redis-server.service"])
    }

    /// An alias that is another unit's name is an error naming both files.
    @Test func aliasEqualToAnotherUnitIsAnError() throws {
        var u = Units()
        u.unit("a.service", service("") + "[Install]\nAlias=b.service\n")
        u.unit("b.service", service(""))
        let result = u.load()
        let error = try #require(result.errors.first)
        #expect(error.location.file == "/u/a.service")
        #expect(error.key == "Alias")
        #expect(error.message.contains("/u/b.service"))
    }

    /// exit.target, halt.target, reboot.target … all offer Alias=ctrl-alt-del.target;
    /// the link in the directory is the one enabled, and no conflict.
    @Test func linkChoosesAmongUnitsOfferingOneAlias() throws {
        var u = Units()
        u.unit("reboot.target", "[Unit]\nDescription=Reboot\n[Install]\nAlias=ctrl-alt-del.target\n")
        u.unit("halt.target", "[Unit]\nDescription=Halt\n[Install]\nAlias=ctrl-alt-del.target\n")
        u.link("ctrl-alt-del.target", "reboot.target")
        let result = u.load()
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        #expect(result.configuration?.aliases == ["ctrl-alt-del.target": "reboot.target"])
    }

    @Test func twoUnitsClaimingOneAliasIsAnError() throws {
        var u = Units()
        u.unit("a.service", service("") + "[Install]\nAlias=x.service\n")
        u.unit("b.service", service("") + "[Install]\nAlias=x.service\n")
        let error = try #require(u.load().errors.first)
        #expect(error.location.file == "/u/b.service")
        #expect(error.message.contains("x.service is already a name of a.service (/u/a.service)"))
    }

    @Test(arguments: [
        ("Alias=b.socket", "must end in .service"),
        ("Alias=b@.service", "template"),
        ("Alias=bad name.service", "invalid unit name"),
        ("Wantedby=x.target", "did you mean WantedBy?"),
    ])
    func badInstallKeysAreErrors(line: String, expected: String) throws {
        var u = Units()
        u.unit("a.service", service("") + "[Install]\n\(line)\n")
        let result = u.load()
        let error = try #require(result.errors.first, "\(result.diagnostics)")
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location.line == 8)
    }

    @Test func aliasIsSuggested() throws {
        var u = Units()
        u.unit("redis-server.service", service("") + "[Install]\nAlias=redis.service\n")
        u.unit("app.service", service("", unit: "Requires=rediss.service"))
        let error = try #require(u.load().errors.first)
        #expect(error.message.contains("did you mean redis.service?") || error.message.contains("did you mean redis-server.service?"))
    }

    // MARK: Templates and instances

    /// `systemctl enable getty@tty1.service` leaves
    /// `multi-user.target.wants/getty@tty1.service → ../getty@.service`: the instance runs,
    /// with `%i` expanded, and multi-user.target wants it.
    @Test func instanceEnabledByAWantsLinkIsAComponent() throws {
        var u = Units()
        u.unit("getty@.service", "[Service]\nExecStart=/usr/bin/sleep %i\n")
        u.link("multi-user.target.wants/getty@tty1.service", "/lib/systemd/system/getty@.service")
        u.link("getty@tty2.service", "getty@.service")
        let result = u.load()
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        let configuration = try #require(result.configuration)
        #expect(configuration.services.map(\.name.description) == ["getty@tty1.service", "getty@tty2.service"])
        #expect(configuration.services.first?.execStart.first?.command.arguments == ["/usr/bin/sleep", "tty1"])
        let target = try #require(configuration.targets.first { $0.name.description == "multi-user.target" })
        #expect(target.wants == ["getty@tty1.service"])
        #expect(configuration.aliases.isEmpty)
    }

    @Test func defaultInstanceIsAComponent() throws {
        var u = Units()
        u.unit("worker@.service", "[Service]\nExecStart=/usr/bin/sleep %i\n[Install]\nDefaultInstance=7\n")
        let configuration = try #require(u.load().configuration)
        #expect(configuration.services.map(\.name.description) == ["worker@7.service"])
    }

    /// A link in `a.service.wants/` adds `Wants=` to a.service; in `.requires/`, `Requires=`.
    @Test func wantsAndRequiresDirectoriesAddDependencies() throws {
        var u = Units()
        u.unit("a.service", service(""))
        u.unit("b.service", service(""))
        u.unit("c.service", service(""))
        u.link("a.service.wants/b.service", "../b.service")
        u.link("a.service.requires/c.service", "../c.service")
        let configuration = try #require(u.load().configuration)
        #expect(configuration.service(named: "a")?.wants == ["b.service"])
        #expect(configuration.service(named: "a")?.requires == ["c.service"])
    }

    // MARK: Masked units

    @Test func maskedUnitIsNoErrorAndRequiringItFailsTheStart() throws {
        var u = Units()
        u.link("db.service", "/dev/null")
        u.unit("empty.service", "")
        u.unit("app.service", service("", unit: "Requires=db.service\nAfter=db.service"))
        u.unit("side.service", service("", unit: "Wants=empty.service"))
        let result = u.load()
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        #expect(result.warnings.map(\.message) == [
            "db.service is masked: systemd fails the start of app.service for it, and so does Warden: app.service is not started",
        ])
        let configuration = try #require(result.configuration)
        #expect(configuration.masked == ["db.service": "/u/db.service", "empty.service": "/u/empty.service"])
        #expect(configuration.services.map(\.name.description) == ["app.service", "side.service"])

        var planner = StackPlanner(graph: try Self.graph(result))
        var members = configuration.services.map {
            var m = StackMember(name: $0.name.description, priority: .normal, requiredUnits: $0.requiredUnits)
            m.wantsStart = true
            return m
        }
        planner.beginRunning()
        let decisions = planner.orchestrate(&members, queueIsEmpty: true)
        #expect(decisions == [.dependencyMasked(0, dependency: "db.service"), .start(1)])
        #expect(members[0].dependencyFailure == "db.service")
    }

    // MARK: Targets

    /// A special target with no file is known, and reached once every unit ordered
    /// before it (or wanted by it) has started.
    @Test func specialTargetOrdersThroughItsMembers() throws {
        var u = Units()
        u.unit("net.service", service("", unit: "Before=network-online.target") + "[Install]\nWantedBy=network-online.target\n")
        u.unit("dhcp.service", service("") + "[Install]\nWantedBy=network-online.target\n")
        u.unit("app.service", service("", unit: "Wants=network-online.target\nAfter=network-online.target multi-user.target"))
        u.unit("late.service", service("", unit: "After=multi-user.target"))
        let result = u.load()
        #expect(result.errors.isEmpty && result.warnings.isEmpty, "\(result.diagnostics)")
        let graph = try Self.graph(result)
        #expect(graph.startsAfter["app.service"] == ["dhcp.service", "net.service"])
        #expect(graph.startsAfter["late.service"] == [])
        #expect(graph.units["app.service"]?.wants == ["dhcp.service", "net.service"])
        #expect(try graph.startLevels().get() == [["dhcp.service", "late.service", "net.service"], ["app.service"]])
    }

    /// A unit ordered after the target that wants it is not ordered before it too (no cycle).
    @Test func unitOrderedAfterItsOwnTargetMakesNoCycle() throws {
        var u = Units()
        u.unit("a.service", service("", unit: "After=multi-user.target") + "[Install]\nWantedBy=multi-user.target\n")
        u.unit("b.service", service("") + "[Install]\nWantedBy=multi-user.target\n")
        let result = u.load()
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        #expect(try Self.graph(result).startsAfter["a.service"] == ["b.service"])
    }

    @Test func targetFileGroupsUnitsAndChains() throws {
        var u = Units()
        u.unit("stack.target", "[Unit]\nDescription=the stack\nWants=db.service\nAfter=base.target\n[Install]\nWantedBy=multi-user.target\n")
        u.unit("base.target", "[Unit]\nRequires=cfg.service\n")
        u.unit("db.service", service(""))
        u.unit("cfg.service", service(""))
        u.unit("app.service", service("", unit: "Requires=stack.target\nAfter=stack.target"))
        let result = u.load()
        #expect(result.errors.isEmpty && result.warnings.isEmpty, "\(result.diagnostics)")
        let graph = try Self.graph(result)
        #expect(graph.startsAfter["app.service"] == ["cfg.service", "db.service"])
        #expect(graph.units["app.service"]?.wants == ["db.service"])
        let configuration = try #require(result.configuration)
        #expect(configuration.targets.map(\.name.description) == ["base.target", "multi-user.target", "stack.target"])
    }

    @Test func targetTakesOnlyUnitAndInstall() throws {
        var u = Units()
        u.unit("x.target", "[Unit]\nWants=a.service\n[Service]\nExecStart=/usr/bin/sleep 1\n")
        u.unit("a.service", service(""))
        let error = try #require(u.load().errors.first)
        #expect(error.location.file == "/u/x.target")
        #expect(error.message.contains("unknown section [Service]"))
    }

    // MARK: Unit types Warden cannot have

    @Test(arguments: [
        ("Requires=podman.socket", "Requires", "socket activation (.socket units) is not supported by Warden; start podman.service directly or drop the dependency"),
        ("BindsTo=dev-sda.device", "BindsTo", "dev-sda.device: Warden does not track devices"),
        ("Requisite=var-lib.mount", "Requisite", "var-lib.mount: Warden does not mount file systems"),
        ("Requires=backup.timer", "Requires", "start backup.service directly"),
    ])
    func hardDependencyOnUnsupportedTypeIsRefused(line: String, key: String, expected: String) throws {
        var u = Units()
        u.unit("app.service", service("", unit: line))
        let result = u.load()
        let error = try #require(result.errors.first, "\(result.diagnostics)")
        #expect(error.key == key)
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(error.location.line == 3)
    }

    /// rsyslog.service requires syslog.socket, and syslog.service is its alias: its own
    /// socket, dropped with a warning (the daemon opens its sockets itself), so Debian's
    /// unit runs unchanged; app.service's own app.socket likewise.
    @Test(arguments: [
        ("rsyslog.service", "Requires=syslog.socket", "[Install]\nAlias=syslog.service\n", "syslog.socket"),
        ("app.service", "Requires=app.socket", "", "app.socket"),
    ])
    func ownSocketIsDroppedWithAWarning(unit: String, line: String, install: String, socket: String) throws {
        var u = Units()
        u.unit(unit, service("", unit: line) + install)
        let result = u.load()
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        let warning = try #require(result.warnings.first { $0.key == "Requires" })
        #expect(warning.message.hasPrefix("\(socket): socket activation (.socket units) is not supported by Warden; \(unit) starts without it"))
    }

    @Test func softDependencyOnUnsupportedTypeWarnsOncePerName() throws {
        var u = Units()
        u.unit("a.service", service("", unit: "After=dbus.socket syslog.socket\nWants=dbus.socket"))
        u.unit("b.service", service("", unit: "After=dbus.socket"))
        let result = u.load()
        #expect(result.errors.isEmpty)
        #expect(Set(result.warnings.map(\.message)) == [
            "dbus.socket: socket activation (.socket units) is not supported by Warden; the dependency is ignored",
            "syslog.socket: socket activation (.socket units) is not supported by Warden; the dependency is ignored",
        ])
    }
}
