import Testing
import WardenCore

@Suite struct ConditionEvaluatorTests {
    /// One line each: the key, its value, whether it holds on `FixtureFacts()`.
    static let checks: [(String, String, Bool)] = [
        ("ConditionArchitecture", "x86-64", true),
        ("ConditionArchitecture", "arm64", false),
        ("ConditionArchitecture", "native", true),
        ("ConditionArchitecture", "!x86-64", false),
        ("ConditionFirmware", "uefi", true),
        ("ConditionFirmware", "device-tree", false),
        ("ConditionFirmware", "smbios-field(bios_version $= 1.16*)", true),
        ("ConditionFirmware", "smbios-field(bios_version >= 1.17)", false),
        ("ConditionFirmware", "smbios-field(bios_version = 1.16.2-debian)", true),
        ("ConditionVirtualization", "yes", true),
        ("ConditionVirtualization", "no", false),
        ("ConditionVirtualization", "container", true),
        ("ConditionVirtualization", "!container", false),
        ("ConditionVirtualization", "vm", false),  // the container is the innermost
        ("ConditionVirtualization", "docker", true),
        ("ConditionVirtualization", "kvm", false),
        ("ConditionVirtualization", "private-users", false),
        ("ConditionHost", "trading-01", true),
        ("ConditionHost", "trading-*", true),
        ("ConditionHost", "TRADING-0?", true),
        ("ConditionHost", "backtest-*", false),
        ("ConditionHost", "0123456789abcdef0123456789abcdef", true),
        ("ConditionHost", "01234567-89ab-cdef-0123-456789abcdef", true),
        ("ConditionHost", "ffffffffffffffffffffffffffffffff", false),
        ("ConditionKernelCommandLine", "quiet", true),
        ("ConditionKernelCommandLine", "root", true),
        ("ConditionKernelCommandLine", "root=/dev/sda1", true),
        ("ConditionKernelCommandLine", "root=/dev/sdb1", false),
        ("ConditionKernelCommandLine", "modules-load", true),
        ("ConditionKernelCommandLine", "modules_load", false),
        ("ConditionKernelCommandLine", "qui", false),
        ("ConditionKernelCommandLine", "!splash", true),
        ("ConditionKernelVersion", ">=5.10", true),
        ("ConditionKernelVersion", ">= 5.10", true),
        ("ConditionKernelVersion", "<6.1", false),
        ("ConditionKernelVersion", "<6.1.1", true),
        ("ConditionKernelVersion", "6.1.*", true),
        ("ConditionKernelVersion", "$=6.2*", false),
        ("ConditionKernelVersion", "!$=6.2*", true),
        ("ConditionKernelVersion", "=6.1.0-18-amd64", true),
        ("ConditionKernelVersion", "!=6.1.0-18-amd64", false),
        ("ConditionKernelVersion", ">=5.10 <6.2", true),
        ("ConditionKernelVersion", ">=5.10 <6.0", false),
        ("ConditionCredential", "token", true),
        ("ConditionCredential", "password", false),
        ("ConditionEnvironment", "LANG", true),
        ("ConditionEnvironment", "LANG=C.UTF-8", true),
        ("ConditionEnvironment", "LANG=C", false),
        ("ConditionEnvironment", "LAN", false),
        ("ConditionEnvironment", "!container", true),
        ("ConditionSecurity", "apparmor", true),
        ("ConditionSecurity", "selinux", false),
        ("ConditionSecurity", "uefi-secureboot", false),
        ("ConditionSecurity", "tpm2", false),
        ("ConditionCapability", "CAP_SYS_ADMIN", true),
        ("ConditionCapability", "CAP_SYS_MODULE", false),
        ("ConditionCapability", "!CAP_SYS_MODULE", true),
        ("ConditionACPower", "true", true),
        ("ConditionACPower", "false", false),
        ("ConditionNeedsUpdate", "/etc", true),
        ("ConditionNeedsUpdate", "/var", false),
        ("ConditionFirstBoot", "yes", false),
        ("ConditionFirstBoot", "no", true),
        ("ConditionPathExists", "/sbin/quotaon", true),
        ("ConditionPathExists", "/sbin/quotacheck", false),
        ("ConditionPathExists", "!/run/ostree-booted", true),
        ("ConditionPathExistsGlob", "/usr/lib/modules-load.*", true),
        ("ConditionPathExistsGlob", "/nowhere/*", false),
        ("ConditionPathIsDirectory", "/etc/modules-load.d", true),
        ("ConditionPathIsDirectory", "/etc/rc.local", false),
        ("ConditionPathIsSymbolicLink", "/bin", true),
        ("ConditionPathIsSymbolicLink", "/etc/rc.local", false),
        ("ConditionPathIsMountPoint", "/proc", true),
        ("ConditionPathIsMountPoint", "/etc/modules-load.d", false),
        ("ConditionPathIsReadWrite", "/etc/rc.local", true),
        ("ConditionPathIsReadWrite", "/sys", false),
        ("ConditionDirectoryNotEmpty", "/usr/lib/modules-load.d", true),
        ("ConditionDirectoryNotEmpty", "/etc/modules-load.d", false),
        ("ConditionFileNotEmpty", "/sbin/quotaon", true),
        ("ConditionFileNotEmpty", "/etc/rc.local", false),
        ("ConditionFileIsExecutable", "/sbin/quotaon", true),
        ("ConditionFileIsExecutable", "/etc/rc.local", false),
        ("ConditionUser", "root", true),
        ("ConditionUser", "0", true),
        ("ConditionUser", "@system", true),
        ("ConditionUser", "trader", false),
        ("ConditionUser", "1000", false),
        ("ConditionGroup", "adm", true),
        ("ConditionGroup", "4", true),
        ("ConditionGroup", "users", false),
        ("ConditionGroup", "nosuchgroup", false),
        ("ConditionControlGroupController", "v2", true),
        ("ConditionControlGroupController", "v1", false),
        ("ConditionControlGroupController", "cpu memory", true),
        ("ConditionControlGroupController", "cpuacct", true),
        ("ConditionControlGroupController", "cpu io", false),
        ("ConditionControlGroupController", "frobnicator", true),
        ("ConditionControlGroupController", "memory frobnicator", true),
        ("ConditionMemory", ">=1G", true),
        ("ConditionMemory", "1G", true),
        ("ConditionMemory", "<4G", false),
        ("ConditionMemory", "=4G", true),
        ("ConditionMemory", "!=4G", false),
        ("ConditionCPUs", ">=2", true),
        ("ConditionCPUs", ">2", false),
        ("ConditionCPUs", "2", true),
        ("ConditionCPUs", "<>2", false),
        ("ConditionCPUFeature", "sse4_2", true),
        ("ConditionCPUFeature", "pclmul", true),
        ("ConditionCPUFeature", "avx", false),
        ("ConditionOSRelease", "ID=debian", true),
        ("ConditionOSRelease", "ID!=debian", false),
        ("ConditionOSRelease", "VERSION_ID>=11", true),
        ("ConditionOSRelease", "VERSION_ID<12", false),
        ("ConditionOSRelease", "PRETTY_NAME$=Debian*", true),
        ("ConditionOSRelease", "VARIANT_ID!=server", true),
        ("ConditionOSRelease", "ID=debian VERSION_ID=11", false),
        ("ConditionMemoryPressure", "10%", true),  // full avg300 0.50%
        ("ConditionMemoryPressure", "1%/10sec", false),  // full avg10 2.00%
        ("ConditionCPUPressure", "20%/1min", true),  // no full line: some avg60 20.00%
        ("ConditionCPUPressure", "19.99%/1min", false),
        ("ConditionIOPressure", "1%", true),  // no PSI for io: holds
        ("AssertPathExists", "/sbin/quotaon", true),
        ("AssertPathExists", "/nowhere", false),
    ]

    @Test(arguments: checks)
    func check(_ key: String, _ value: String, _ holds: Bool) throws {
        let condition = try UnitCondition.parse(key: key, value: value).get()
        let evaluator = ConditionEvaluator(facts: FixtureFacts())
        let list = [condition]
        let verdict =
            condition.isAssert
            ? evaluator.evaluate(conditions: [], asserts: list) : evaluator.evaluate(conditions: list, asserts: [])
        #expect((verdict.outcome == .met) == holds, "\(key)=\(value)")
        #expect(verdict.unevaluated.isEmpty)
    }

    /// The combination rules of systemd.unit(5): regular lines all hold, at least one
    /// triggering line holds when there are any, `!` inverts, asserts only after conditions.
    static let combinations: [(lines: [(String, String)], expected: String)] = [
        ([], "met"),
        ([("ConditionPathExists", "/sbin/quotaon"), ("ConditionPathExists", "/dev/tty0")], "met"),
        (
            [("ConditionPathExists", "/sbin/quotaon"), ("ConditionFileIsExecutable", "/etc/rc.local")],
            "start condition unmet: ConditionFileIsExecutable=/etc/rc.local"
        ),
        // The first failing regular line is named.
        (
            [("ConditionPathExists", "/a"), ("ConditionPathExists", "/b")],
            "start condition unmet: ConditionPathExists=/a"
        ),
        // Triggering: one of them suffices.
        (
            [("ConditionPathExists", "|/a"), ("ConditionDirectoryNotEmpty", "|/usr/lib/modules-load.d")], "met"
        ),
        (
            [("ConditionPathExists", "|/a"), ("ConditionKernelCommandLine", "|rd.modules_load")],
            "start condition unmet: none of ConditionPathExists=|/a, ConditionKernelCommandLine=|rd.modules_load"
        ),
        // A triggering line holding does not excuse a failing regular one.
        (
            [("ConditionPathExists", "|/sbin/quotaon"), ("ConditionPathExists", "/a")],
            "start condition unmet: ConditionPathExists=/a"
        ),
        // | then !: a negated triggering line.
        ([("ConditionPathExists", "|!/a"), ("ConditionPathExists", "|/b")], "met"),
        ([("ConditionPathExists", "| ! /sbin/quotaon")], "start condition unmet: ConditionPathExists=|!/sbin/quotaon"),
        // Asserts after conditions: an unmet condition wins.
        (
            [("ConditionPathExists", "/a"), ("AssertPathExists", "/b")],
            "start condition unmet: ConditionPathExists=/a"
        ),
        ([("AssertPathExists", "/b")], "start assertion failed: AssertPathExists=/b"),
        (
            [("AssertPathExists", "|/a"), ("AssertPathExists", "|/b")],
            "start assertion failed: none of AssertPathExists=|/a, AssertPathExists=|/b"
        ),
        ([("AssertPathExists", "|/a"), ("AssertPathExists", "|/sbin/quotaon")], "met"),
    ]

    @Test(arguments: combinations)
    func combination(_ lines: [(String, String)], _ expected: String) {
        let all = conditionLines(lines)
        #expect(all.count == lines.count)
        let verdict = ConditionEvaluator(facts: FixtureFacts())
            .evaluate(conditions: all.filter { !$0.isAssert }, asserts: all.filter(\.isAssert))
        #expect((verdict.reason ?? "met") == expected)
    }

    @Test func uncheckableLinesCountAsMetAndAreNamed() {
        let lines = conditionLines([
            ("ConditionPathIsEncrypted", "/var"), ("ConditionSecurity", "audit"),
            ("ConditionMemoryPressure", "trading.slice:20%"), ("ConditionPathExists", "/sbin/quotaon"),
        ])
        let verdict = ConditionEvaluator(facts: FixtureFacts()).evaluate(conditions: lines, asserts: [])
        #expect(verdict.outcome == .met)
        #expect(
            verdict.unevaluated.map(\.description) == [
                "ConditionPathIsEncrypted=/var", "ConditionSecurity=audit", "ConditionMemoryPressure=trading.slice:20%",
            ])
        // Negated, they still count as met: "cannot tell" never skips a unit.
        let negated = conditionLines([("ConditionPathIsEncrypted", "!/var")])
        #expect(ConditionEvaluator(facts: FixtureFacts()).evaluate(conditions: negated, asserts: []).outcome == .met)
    }

    @Test func kernelCommandLineOverridesFirstBootAndNeedsUpdate() throws {
        var facts = FixtureFacts()
        facts.kernelCommandLine += " systemd.condition-first-boot=yes systemd.condition-needs-update=no"
        let evaluator = ConditionEvaluator(facts: facts)
        #expect(evaluator.check(try ConditionTest.parse(.firstBoot, "yes").get()) == true)
        #expect(evaluator.check(try ConditionTest.parse(.needsUpdate, "/etc").get()) == false)
    }

    @Test func virtualMachineWithoutContainer() throws {
        var facts = FixtureFacts()
        facts.virtualization = DetectedVirtualization(virtualMachine: "kvm")
        let evaluator = ConditionEvaluator(facts: facts)
        for (value, expected) in [("vm", true), ("kvm", true), ("container", false), ("qemu", false), ("yes", true)] {
            #expect(evaluator.check(try ConditionTest.parse(.virtualization, value).get()) == expected, "\(value)")
        }
    }

    @Test func bpfControllersNeedTheUnifiedHierarchy() throws {
        let test = try ConditionTest.parse(.controlGroupController, "memory bpf-firewall").get()
        var facts = FixtureFacts()
        #expect(ConditionEvaluator(facts: facts).check(test) == nil)
        facts.cgroupVersion = 1
        #expect(ConditionEvaluator(facts: facts).check(test) == false)
        facts.cgroupVersion = 2
        facts.cgroupControllers = ["cpu"]
        #expect(ConditionEvaluator(facts: facts).check(test) == false)
    }

    @Test func cpuFeaturesAreFalseOffX86() throws {
        var facts = FixtureFacts()
        facts.machine = "aarch64"
        #expect(ConditionEvaluator(facts: facts).check(try ConditionTest.parse(.cpuFeature, "sse4_2").get()) == false)
        #expect(ConditionEvaluator(facts: facts).check(try ConditionTest.parse(.architecture, "arm64").get()) == true)
    }
}

@Suite struct ConditionSyntaxTests {
    static let invalid: [(String, String, String)] = [
        ("ConditionKernelVersion", "=>5.10", "does not start with a valid operator"),
        ("ConditionKernelVersion", "<", "is not followed by a version"),
        ("ConditionKernelVersion", "!!5.10", "does not start with a valid operator"),
        ("ConditionKernelVersion", "=<5.10", "does not start with a valid operator"),
        ("ConditionArchitecture", "amd64", "expected one of x86"),
        ("ConditionVirtualization", "virtualbox", "expected a boolean, vm, container"),
        ("ConditionSecurity", "grsecurity", "expected one of selinux"),
        ("ConditionCapability", "CAP_FLY", "expected a capability name"),
        ("ConditionACPower", "maybe", "expected a boolean"),
        ("ConditionFirstBoot", "perhaps", "expected a boolean"),
        ("ConditionNeedsUpdate", "/usr", "expected /etc or /var"),
        ("ConditionPathExists", "etc/rc.local", "expected an absolute path"),
        ("ConditionPathExistsGlob", "*.conf", "expected an absolute path glob"),
        ("ConditionFileIsExecutable", "!rc.local", "expected an absolute path"),
        ("ConditionMemory", ">=lots", "expected [OP]SIZE"),
        ("ConditionMemory", "=>1G", "expected an operator"),
        ("ConditionCPUs", ">=two", "expected [OP]COUNT"),
        ("ConditionCPUs", "$=2", "expected an operator"),
        ("ConditionCPUFeature", "sse5", "expected one of fpu"),
        ("ConditionOSRelease", "debian", "is not KEY OP VALUE"),
        ("ConditionOSRelease", "=debian", "is not KEY OP VALUE"),
        ("ConditionOSRelease", "VARIANT_ID=", "has no value after its operator"),
        ("ConditionMemoryPressure", "20", "expected [SLICE:]N%"),
        ("ConditionMemoryPressure", "20%/2min", "expected [SLICE:]N%"),
        ("ConditionMemoryPressure", "101%", "expected [SLICE:]N%"),
        ("ConditionCPUPressure", "trading:20%", "expected [SLICE:]N%"),
        ("ConditionFirmware", "bios", "expected uefi"),
        ("ConditionFirmware", "smbios-field(bios_version)", "expected uefi"),
        ("ConditionUser", "bad:user", "expected user name"),
        ("ConditionGroup", "", "no argument"),
        ("ConditionControlGroupController", "  ", "no argument"),
        ("ConditionCredential", "a/b", "expected a credential name"),
        ("ConditionPathExists", "|!", "no argument"),
    ]

    @Test(arguments: invalid)
    func rejects(_ key: String, _ value: String, _ fragment: String) {
        switch UnitCondition.parse(key: key, value: value) {
        case .success(let parsed): Issue.record("\(key)=\(value) parsed as \(parsed)")
        case .failure(let error): #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test func everySystemd252KeyIsKnownAndFirmwareHasNoAssert() {
        #expect(ConditionKind.allKeys.count == 65)
        #expect(ConditionKind.parse(key: "AssertFirmware") == nil)
        #expect(ConditionKind.parse(key: "ConditionFirmware")?.kind == .firmware)
        #expect(ConditionKind.parse(key: "AssertCPUs")?.assert == true)
        #expect(ConditionKind.parse(key: "ConditionNull") == nil)
    }

    static let versions: [(String, String, Int)] = [
        ("6.1.0", "6.1.0", 0), ("6.1", "6.1.0", -1), ("6.10", "6.9", 1), ("5.10.0-18-amd64", "5.10", 1),
        ("6.0~rc1", "6.0", -1), ("6.0-1", "6.0.1", -1), ("1.0a", "1.0", 1), ("1.0a", "1.0b", -1),
        ("00123", "123", 0), ("2.0", "10", -1), ("1.0^patch", "1.0", 1), ("1.0^", "1.0.1", -1), ("abc", "1", -1),
    ]

    @Test(arguments: versions)
    func versionOrder(_ a: String, _ b: String, _ expected: Int) {
        #expect(VersionOrder.compare(a, b) == expected, "\(a) vs \(b)")
        #expect(VersionOrder.compare(b, a) == -expected, "\(b) vs \(a)")
    }

    static let globs: [(String, String, Bool)] = [
        ("*", "anything/at all", true), ("trading-*", "trading-01", true), ("trading-?", "trading-01", false),
        ("[a-c]x", "bx", true), ("[!a-c]x", "bx", false), ("[^a-c]x", "dx", true), ("\\*", "*", true),
        ("\\*", "a", false), ("a*b*c", "axxbyyc", true), ("a*b*c", "axxbyy", false), ("[", "[", true),
        ("6.1.*", "6.1.0-18-amd64", true), ("", "", true), ("", "a", false),
    ]

    @Test(arguments: globs)
    func glob(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(ShellGlob.matches(pattern, text) == expected, "\(pattern) ~ \(text)")
    }

    @Test func osReleaseFile() {
        let fields = OSReleaseFile.parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME='Debian'\nVERSION_ID=\"12\"\n# comment\nID=debian\nHOME_URL=\"https://x/\\\"q\\\"\"\n")
        #expect(fields["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)")
        #expect(fields["NAME"] == "Debian")
        #expect(fields["VERSION_ID"] == "12")
        #expect(fields["ID"] == "debian")
        #expect(fields["HOME_URL"] == "https://x/\"q\"")
    }

    @Test func pressureFile() {
        let averages = PressureAverages.parse(
            "some avg10=1.50 avg60=0.25 avg300=12.00 total=123\nfull avg10=0.5 avg60=0.00 avg300=0.00 total=4\n")
        #expect(averages?.some == [10: 150, 60: 25, 300: 1200])
        #expect(averages?.full == [10: 50, 60: 0, 300: 0])
        #expect(PressureAverages.parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")?.full == nil)
    }
}
