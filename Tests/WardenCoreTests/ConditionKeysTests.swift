import Testing
@testable import WardenCore

/// The `Condition…=`/`Assert…=` lines of a unit file, as the loader reads them.
@Suite struct ConditionKeysTests {
    @Test func linesAccumulateAndAnEmptyAssignmentResetsItsList() throws {
        var tree = Tree()
        tree.unit(
            "a.service",
            service(
                "", unit: """
                    ConditionPathExists=/a
                    AssertPathExists=/x
                    ConditionKernelCommandLine=|quiet
                    ConditionHost=
                    ConditionPathExists=|/b
                    ConditionVirtualization=!container
                    AssertPathExists=
                    AssertUser=root
                    """))
        let result = tree.load()
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        let a = try #require(result.configuration?.services.first)
        // The empty ConditionHost= emptied every condition before it, of any kind.
        #expect(a.conditions.map(\.description) == ["ConditionPathExists=|/b", "ConditionVirtualization=!container"])
        #expect(a.asserts.map(\.description) == ["AssertUser=root"])
        #expect(a.conditions[0].isTriggering && !a.conditions[0].isNegated)
        #expect(a.conditions[1].isNegated && !a.conditions[1].isTriggering)
        #expect(a.serviceCommands.checksConditions)
    }

    @Test func specifiersAreExpandedInConditions() throws {
        var tree = Tree()
        tree.unit("getty@.service", service("", unit: "ConditionPathExists=/dev/%I"))
        tree.unit("a.service", service("", unit: "Wants=getty@tty9.service"))
        let result = tree.load()
        let getty = result.configuration?.services.first { $0.name.description == "getty@tty9.service" }
        #expect(getty?.conditions.first?.test == .path(.exists, "/dev/tty9"), "\(result.diagnostics)")
    }

    @Test func aConditionOnASliceIsReadPastWithAWarning() {
        var tree = Tree()
        tree.unit("trading.slice", "[Unit]\nConditionPathExists=/srv\n[Slice]\nCPUWeight=100\n")
        tree.unit("a.service", service("Slice=trading.slice"))
        let result = tree.load()
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        #expect(result.warnings.contains { $0.key == "ConditionPathExists" && $0.message.contains("not enforced") })
    }

    @Test func noConditionKeyIsListedAsNotEnforced() {
        let rows = SystemdCompatibility.rows()
        for key in ConditionKind.allKeys {
            #expect(rows.first { $0.section == "Unit" && $0.key == key }?.treatment == .evaluated, "\(key)")
        }
        #expect(rows.first { $0.section == "Service" && $0.key == "ExecCondition" }?.treatment == .enforced)
    }

    @Test func aGuardedMissingProgramIsNoError() throws {
        var tree = Tree()
        tree.unit(
            "rc-local.service",
            "[Unit]\nConditionFileIsExecutable=/etc/rc.local\n[Service]\nType=oneshot\nExecStart=/etc/rc.local start\n")
        tree.unit(
            "quotaon.service", "[Unit]\nConditionPathExists=/sbin/quotaon\n[Service]\nType=oneshot\nExecStart=/sbin/quotaon -aug\n")
        // Negated, triggering, or about another path: no guard.
        tree.unit("neg.service", "[Unit]\nConditionPathExists=!/sbin/x\n[Service]\nExecStart=/sbin/x\n")
        tree.unit("trig.service", "[Unit]\nConditionPathExists=|/sbin/y\n[Service]\nExecStart=/sbin/y\n")
        tree.unit("other.service", "[Unit]\nConditionPathExists=/sbin/other\n[Service]\nExecStart=/sbin/z\n")
        let result = tree.load()
        #expect(Set(result.errors.map(\.location.file)) == ["/u/neg.service", "/u/trig.service", "/u/other.service"])
    }

    @Test func conditionsUnmetOnTheGivenHostAreNotedAndExcuseAMissingProgram() throws {
        var files = ["/etc/warden/warden.conf": "[Warden]\nUnitDirectories=/u\n"]
        files["/u/elsewhere.service"] = "[Unit]\nConditionVirtualization=!container\n[Service]\nExecStart=/sbin/missing\n"
        files["/u/volatile.service"] = "[Unit]\nAssertPathExists=/etc/initrd-release\n[Service]\nExecStart=/usr/bin/true\n"
        files["/u/encrypted.service"] = "[Unit]\nConditionPathIsEncrypted=/var\n[Service]\nExecStart=/usr/bin/true\n"
        let loader = ConfigurationLoader(
            fileSystem: InMemoryFileSystem(files: files, executables: ["/usr/bin/true"]),
            specifiers: SpecifierContext(hostname: "testhost"), executableSearchPath: ["/usr/bin"],
            conditionFacts: FixtureFacts())
        let result = loader.load(configPath: "/etc/warden/warden.conf")
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        #expect(
            result.notes.map(\.description).contains(
                "/u/elsewhere.service:2: note: ConditionVirtualization: would be skipped here: ConditionVirtualization=!container is not met"),
            "\(result.diagnostics)")
        #expect(
            result.warnings.map(\.description).contains(
                "/u/volatile.service:2: warning: AssertPathExists: would fail to start here: AssertPathExists=/etc/initrd-release is not met"))
        #expect(
            result.notes.map(\.description).contains(
                "/u/encrypted.service:2: note: ConditionPathIsEncrypted: cannot be evaluated here, treated as met: ConditionPathIsEncrypted=/var"))
    }
}
