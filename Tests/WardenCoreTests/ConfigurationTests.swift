import Testing
@testable import WardenCore

/// Builds an in-memory configuration tree: /etc/warden/warden.conf and units in /u.
struct Tree {
    var files: [String: String] = [:]
    var executables: Set<String> = ["/usr/bin/sleep", "/usr/bin/true", "/opt/demo/warden-demo"]

    mutating func unit(_ name: String, _ text: String) { files["/u/" + name] = text }

    func load(host: HostFacts? = HostFacts(onlineCPUs: CPUSet(0...1), physicalMemoryBytes: 8 << 30, pidMax: 4_194_304))
        -> ConfigurationLoader.Result
    {
        var files = files
        if files["/etc/warden/warden.conf"] == nil {
            files["/etc/warden/warden.conf"] = "[Warden]\nUnitDirectories=/u\n"
        }
        let loader = ConfigurationLoader(
            fileSystem: InMemoryFileSystem(files: files, executables: executables),
            specifiers: SpecifierContext(hostname: "testhost"), host: host,
            executableSearchPath: ["/usr/bin", "/opt/demo"])
        return loader.load(configPath: "/etc/warden/warden.conf")
    }
}

func service(_ body: String, unit: String = "") -> String {
    "[Unit]\nDescription=test\n\(unit)\n[Service]\nExecStart=/usr/bin/sleep 100\n\(body)\n"
}

extension ConfigurationLoader.Result {
    var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
    var notes: [Diagnostic] { diagnostics.filter { $0.severity == .note } }
}

@Suite struct ServiceKeyTableTests {
    /// Every [Service]/[X-Warden] key: a valid value, and an invalid one whose error must
    /// name the file, the line of the key and the key.
    static let cases: [(key: String, section: String, valid: String, invalid: String?)] = [
        ("Type", "Service", "notify", "forking-ish"),
        ("Restart", "Service", "on-failure", "sometimes"),
        ("RestartSec", "Service", "250ms", "soon"),
        ("RestartSteps", "Service", "5", "-1"),
        ("RestartMaxDelaySec", "Service", "1min", "x"),
        ("RestartPreventExitStatus", "Service", "2 SIGKILL", "300"),
        ("SuccessExitStatus", "Service", "75 SIGUSR1", "SIGNOPE"),
        ("TimeoutStartSec", "Service", "1min 30s", "forever-ish"),
        ("TimeoutStopSec", "Service", "infinity", "1parsec"),
        ("WatchdogSec", "Service", "5s", "5 apples"),
        ("KillSignal", "Service", "SIGINT", "SIGFOO"),
        ("KillMode", "Service", "mixed", "everything"),
        ("FinalKillSignal", "Service", "9", "999"),
        ("SendSIGKILL", "Service", "no", "perhaps"),
        ("User", "Service", "nobody", "root:x"),
        ("Group", "Service", "nogroup", "a/b"),
        ("SupplementaryGroups", "Service", "adm audio", "bad:group"),
        ("WorkingDirectory", "Service", "/srv/trading", "relative/dir"),
        ("Environment", "Service", "A=1 \"B=two words\"", "=novalue"),
        ("EnvironmentFile", "Service", "-/etc/default/trading", "relative.env"),
        ("UMask", "Service", "0027", "0999"),
        ("Nice", "Service", "-10", "20"),
        ("CPUAffinity", "Service", "0-1", "3-1"),
        ("CPUSchedulingPolicy", "Service", "fifo", "realtime"),
        ("CPUSchedulingPriority", "Service", "50", "100"),
        ("OOMScoreAdjust", "Service", "-500", "-1001"),
        ("LimitNOFILE", "Service", "1024:65536", "lots"),
        ("LimitMEMLOCK", "Service", "infinity", "12Q"),
        ("LimitCORE", "Service", "0", "-5"),
        ("LimitNPROC", "Service", "4096", "x:y"),
        ("AmbientCapabilities", "Service", "CAP_NET_BIND_SERVICE", "CAP_FLY"),
        ("CapabilityBoundingSet", "Service", "CAP_NET_BIND_SERVICE CAP_SYS_NICE", "NOT_A_CAP"),
        ("NoNewPrivileges", "Service", "yes", "maybe"),
        ("StandardOutput", "Service", "append:/var/log/x.log", "file:relative"),
        ("StandardError", "Service", "null", "socket-ish"),
        ("Slice", "Service", "trading.slice", "trading"),
        ("CPUQuota", "Service", "150%", "150"),
        ("CPUQuotaPeriodSec", "Service", "10ms", "fast"),
        ("CPUWeight", "Service", "500", "0"),
        ("AllowedCPUs", "Service", "0-1", "a-b"),
        ("AllowedMemoryNodes", "Service", "0", "x"),
        ("MemoryMin", "Service", "64M", "64Q"),
        ("MemoryLow", "Service", "10%", "110%"),
        ("MemoryHigh", "Service", "3G", "-1G"),
        ("MemoryMax", "Service", "4G", "four gigs"),
        ("MemorySwapMax", "Service", "0", "lots"),
        ("MemoryZSwapMax", "Service", "64M", "lots"),
        ("TimeoutSec", "Service", "30s", "soon"),
        ("SyslogIdentifier", "Service", "redis", "two words"),
        ("TasksMax", "Service", "512", "-1"),
        ("IOWeight", "Service", "200", "0"),
        ("Priority", "X-Warden", "critical", "urgent"),
        ("Duplicates", "X-Warden", "refuse", "ignore"),
        ("DuplicateMatch", "X-Warden", "executable", "by-magic"),
        ("HealthCheck", "X-Warden", "tcp:127.0.0.1:9000", "tcp:127.0.0.1:99999"),
        ("HealthCheckFailures", "X-Warden", "3", "0"),
        ("HealthCheckTimeoutSec", "X-Warden", "5s", "0"),
        ("CleanupSignal", "X-Warden", "SIGUSR1", "SIGNONE"),
        ("EmergencyCPUQuota", "X-Warden", "25%", "25"),
        ("StartLimitBurst", "Unit", "10", "-3"),
        ("StartLimitIntervalSec", "Unit", "30s", "x"),
        ("Description", "Unit", "Order executor", nil),
        ("After", "Unit", "network.target", "bad name!"),
        ("Wants", "Unit", "network-online.target", "bad name!"),
    ]

    static func unitText(section: String, line: String) -> String {
        // ExecStart first, then the key under test on a known line (line 4).
        "[Service]\nExecStart=/usr/bin/sleep 100\n[\(section)]\n\(line)\n"
    }

    @Test(arguments: cases.map(\.key))
    func validValueIsAccepted(key: String) {
        let c = Self.cases.first { $0.key == key }!
        var tree = Tree()
        tree.unit("a.service", Self.unitText(section: c.section, line: "\(c.key)=\(c.valid)"))
        let result = tree.load()
        #expect(result.errors.isEmpty, "\(key)=\(c.valid): \(result.errors)")
        #expect(result.configuration?.services.first?.keyLocations[key]?.line == 4)
    }

    @Test(arguments: cases.filter { $0.invalid != nil }.map(\.key))
    func invalidValueIsAPositionedError(key: String) {
        let c = Self.cases.first { $0.key == key }!
        var tree = Tree()
        tree.unit("a.service", Self.unitText(section: c.section, line: "\(c.key)=\(c.invalid!)"))
        let result = tree.load()
        #expect(result.configuration == nil)
        let error = result.errors.first
        #expect(error?.location == SourceLocation(file: "/u/a.service", line: 4), "\(result.diagnostics)")
        #expect(error?.key == key)
        #expect(error?.description.hasPrefix("/u/a.service:4: \(key): ") == true)
    }

    @Test func valuesLandInTheirFields() throws {
        var tree = Tree()
        tree.unit(
            "exec.service",
            service(
                """
                Type=notify
                Restart=on-failure
                RestartSec=250ms
                CPUQuota=150%
                MemoryMax=4G
                AllowedCPUs=0-1
                Nice=-10
                LimitNOFILE=65536
                Environment=A=1 "B=two words"
                Environment=C=3
                KillSignal=SIGINT
                [X-Warden]
                Priority=critical
                CleanupSignal=SIGUSR1
                """))
        let result = tree.load()
        let s = try #require(result.configuration?.service(named: "exec.service"), "\(result.diagnostics)")
        #expect(s.type == .notify)
        #expect(s.restart == .onFailure)
        #expect(s.restartSec == .milliseconds(250))
        #expect(s.resources.cpuQuota?.perSecondUSec == 1_500_000)
        #expect(s.resources.memoryMax == .bytes(4 << 30))
        #expect(s.resources.allowedCPUs == CPUSet(0...1))
        #expect(s.nice == -10)
        #expect(s.resourceLimits[.openFiles] == ResourceLimit(soft: 65536, hard: 65536))
        #expect(s.environment.map(\.name) == ["A", "B", "C"])
        #expect(s.environment[1].value == "two words")
        #expect(s.killSignal?.rawValue == 2)
        #expect(s.priority == .critical)
        #expect(s.cleanupSignal?.rawValue == 10)
    }

    @Test func emptyAssignmentResetsListsAndValues() throws {
        var tree = Tree()
        tree.unit(
            "a.service",
            service(
                "Environment=A=1\nEnvironment=\nEnvironment=B=2\nCPUQuota=50%\nCPUQuota=",
                unit: "After=network.target\nAfter=\nAfter=b.service"))
        tree.unit("b.service", service(""))
        let s = try #require(tree.load().configuration?.service(named: "a.service"))
        #expect(s.environment.map(\.name) == ["B"])
        #expect(s.after == ["b.service"])
        #expect(s.resources.cpuQuota == nil)
    }
}

@Suite struct ConfigurationCheckTests {
    @Test func misspeltKeyGetsSuggestion() {
        var tree = Tree()
        tree.unit("a.service", service("CPUQuata=50%"))
        let error = tree.load().errors.first
        #expect(error?.key == "CPUQuata")
        #expect(error?.message.contains("did you mean CPUQuota?") == true)
        #expect(error?.location.line == 6)
    }

    @Test func unknownWardenKeyIsAnErrorAndSystemdKeyAWarning() {
        var tree = Tree()
        tree.unit("a.service", service("PrivateTmp=yes\n[X-Warden]\nPriorty=critical\nBogus=1"))
        let result = tree.load()
        #expect(result.warnings.contains { $0.key == "PrivateTmp" && $0.message.contains("not enforced") })
        #expect(result.errors.contains { $0.key == "Priorty" && $0.message.contains("did you mean Priority?") })
        #expect(result.errors.contains { $0.key == "Bogus" })
        #expect(result.configuration == nil)
    }

    @Test func keyInWrongSectionNamesTheRightOne() {
        var tree = Tree()
        tree.unit("a.service", service("", unit: "CPUQuota=50%"))
        let error = tree.load().errors.first
        #expect(error?.key == "CPUQuota")
        #expect(error?.message.contains("[Service]") == true)
    }

    @Test func unknownSectionIsAnErrorOtherToolsSectionsAndInstallAreIgnored() {
        var tree = Tree()
        tree.unit("a.service", service("[Servce]\nNice=1\n[Install]\nWantedBy=multi-user.target\n[X-Other]\nFoo=bar"))
        let result = tree.load()
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.message.contains("did you mean [Service]?") == true)
    }

    @Test func referencesHardSoftAndWellKnown() {
        var tree = Tree()
        tree.unit(
            "a.service",
            service("", unit: "Requires=missing.service\nWants=gone.service\nAfter=network-online.target multi-user.target"))
        let result = tree.load()
        #expect(result.errors.map(\.key) == ["Requires"])
        #expect(result.warnings.map(\.key) == ["Wants"])
    }

    @Test func misspeltReferenceSuggestsConfiguredUnit() {
        var tree = Tree()
        tree.unit("market-data.service", service(""))
        tree.unit("a.service", service("", unit: "Requires=market-date.service"))
        #expect(tree.load().errors.first?.message.contains("did you mean market-data.service?") == true)
    }

    @Test func unknownSliceIsCreatedWithANoteAndAncestors() throws {
        var tree = Tree()
        tree.unit("a.service", service("Slice=trading-critical.slice"))
        let result = tree.load()
        #expect(result.errors.isEmpty)
        #expect(result.notes.first?.key == "Slice")
        let slices = try #require(result.configuration).slices.map(\.name.description)
        #expect(slices == ["trading-critical.slice", "trading.slice"])
    }

    @Test func memoryHighAboveMemoryMax() {
        var tree = Tree()
        tree.unit("a.service", service("MemoryHigh=5G\nMemoryMax=4G"))
        let error = tree.load().errors.first
        #expect(error?.key == "MemoryHigh")
        #expect(error?.message.contains("MemoryMax") == true)
    }

    @Test func memoryHighInPercentAgainstBytesUsesHostMemory() {
        var tree = Tree()
        tree.unit("a.service", service("MemoryHigh=75%\nMemoryMax=4G"))
        // 75% of the 8 GiB test host is 6 GiB, above 4 GiB.
        #expect(tree.load().errors.first?.key == "MemoryHigh")
        #expect(tree.load(host: nil).errors.isEmpty)
    }

    @Test func cpusOutsideTheHost() {
        var tree = Tree()
        tree.unit("a.service", service("AllowedCPUs=0-3\nCPUAffinity=5"))
        let keys = tree.load().errors.map(\.key)
        #expect(keys.contains("AllowedCPUs"))
        #expect(keys.contains("CPUAffinity"))
        #expect(tree.load(host: nil).errors.isEmpty)
    }

    @Test func missingExecStartAndUnrunnableCommands() {
        var tree = Tree()
        tree.unit("a.service", "[Service]\nType=simple\n")
        tree.unit("b.service", "[Service]\nExecStart=/no/such/binary\nExecStopPost=-/no/such/hook\n")
        tree.unit("c.service", "[Service]\nExecStart=warden-demo feed\nExecStartPre=nonexistent-tool\n")
        tree.unit("d.service", "[Service]\nExecStart=/usr/bin/sleep 1\nExecStart=/usr/bin/sleep 2\n")
        let result = tree.load()
        #expect(result.errors.contains { $0.location.file == "/u/a.service" && $0.key == "ExecStart" })
        #expect(result.errors.contains { $0.location == SourceLocation(file: "/u/b.service", line: 2) })
        #expect(result.warnings.contains { $0.location == SourceLocation(file: "/u/b.service", line: 3) })
        #expect(!result.diagnostics.contains { $0.location == SourceLocation(file: "/u/c.service", line: 2) })
        #expect(result.errors.contains { $0.location == SourceLocation(file: "/u/c.service", line: 3) })
        #expect(result.errors.contains { $0.location == SourceLocation(file: "/u/d.service", line: 3) })
    }

    @Test func oneshotMayHaveSeveralCommands() {
        var tree = Tree()
        tree.unit("d.service", "[Service]\nType=oneshot\nExecStart=/usr/bin/true\nExecStart=/usr/bin/true\n")
        #expect(tree.load().errors.isEmpty)
    }

    @Test func orderingCycleIsNamed() {
        var tree = Tree()
        tree.unit("a.service", service("", unit: "After=b.service"))
        tree.unit("b.service", service("", unit: "After=c.service"))
        tree.unit("c.service", service("", unit: "After=a.service"))
        let error = tree.load().errors.first
        #expect(error?.message.contains("ordering cycle") == true)
        #expect(error?.message.contains("a.service") == true && error?.message.contains("c.service") == true)
    }

    @Test func templateInstancePulledInByWants() throws {
        var tree = Tree()
        tree.unit("feed@.service", "[Service]\nExecStart=/usr/bin/sleep %i\n")
        tree.unit("a.service", service("", unit: "Wants=feed@7.service"))
        let result = tree.load()
        let feed = try #require(result.configuration?.service(named: "feed@7.service"), "\(result.diagnostics)")
        #expect(feed.execStart.first?.command.arguments == ["/usr/bin/sleep", "7"])
        #expect(result.configuration?.services.count == 2)
    }

    @Test func governorThresholdsMustBeOrdered() {
        var tree = Tree()
        tree.files["/etc/warden/warden.conf"] = "[Warden]\nUnitDirectories=/u\n[Governor]\nMemoryWarning=90%\nMemoryCritical=85%\n"
        tree.unit("a.service", service(""))
        let error = tree.load().errors.first
        #expect(error?.key == "MemoryWarning")
        #expect(error?.location == SourceLocation(file: "/etc/warden/warden.conf", line: 4))
    }

    @Test func settingsAreRead() throws {
        var tree = Tree()
        tree.files["/etc/warden/warden.conf"] = """
            [Warden]
            UnitDirectories=/u
            StateDirectory=/tmp/state
            MetricsListen=127.0.0.1:9464
            ShutdownBudgetSec=30s
            [Governor]
            LoadPerCPUCritical=2.5
            EmergencyCPUQuota=40%
            ThrottleSlices=system.slice
            """
        tree.unit("a.service", service(""))
        let settings = try #require(tree.load().configuration?.settings)
        #expect(settings.stateDirectory == "/tmp/state")
        #expect(settings.metricsListen == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(settings.shutdownBudgetSec == .seconds(30))
        #expect(settings.governor.loadPerCPUCriticalHundredths == 250)
        #expect(settings.governor.emergencyCPUQuota?.perSecondUSec == 400_000)
        #expect(settings.governor.throttleSlices == ["system.slice"])
    }

    static let criticalWeights: [(String, UInt64?, String?)] = [
        ("500", 500, nil),
        ("10000", 10_000, nil),
        ("idle", nil, "'idle' is not a CPU weight to raise critical groups to; expected a number from 1 to 10000"),
        ("0", nil, "'0' is not a CPU weight to raise critical groups to; expected a number from 1 to 10000"),
        ("10001", nil, "'10001' is not a CPU weight to raise critical groups to; expected a number from 1 to 10000"),
    ]

    @Test(arguments: criticalWeights)
    func criticalCPUWeightIsAWeightToRaiseTo(text: String, weight: UInt64?, error: String?) {
        var tree = Tree()
        tree.files["/etc/warden/warden.conf"] = "[Warden]\nUnitDirectories=/u\n[Governor]\nCriticalCPUWeight=\(text)\n"
        tree.unit("a.service", service(""))
        let result = tree.load()
        #expect(result.configuration?.settings.governor.criticalCPUWeight == weight)
        if let error {
            let found = result.errors.first
            #expect(found?.key == "CriticalCPUWeight")
            #expect(found?.location == SourceLocation(file: "/etc/warden/warden.conf", line: 4))
            #expect(found?.message.contains(error) == true, "\(String(describing: found?.message))")
        } else {
            #expect(result.errors.isEmpty)
        }
    }

    @Test func relativeUnitDirectoryIsRelativeToTheConfigFile() {
        var tree = Tree()
        tree.files["/etc/warden/warden.conf"] = "[Warden]\nUnitDirectories=units\n"
        tree.files["/etc/warden/units/a.service"] = service("")
        #expect(tree.load().configuration?.services.count == 1)
    }

    @Test func missingUnitDirectoryIsAnError() {
        var tree = Tree()
        tree.files["/etc/warden/warden.conf"] = "[Warden]\nUnitDirectories=/nowhere\n"
        #expect(tree.load().errors.first?.location.file == "/nowhere")
    }

    @Test func allProblemsAreReportedInOneRun() {
        var tree = Tree()
        tree.unit("a.service", service("CPUQuota=lots\nNice=99\nMemoryMax=huge"))
        tree.unit("b.service", service("Restart=sometimes"))
        #expect(tree.load().errors.count == 4)
    }
}

@Suite struct ParsingPrimitivesTests {
    @Test(arguments: [
        ("1.0", 100), ("2", 200), ("2.5", 250), ("0.75", 75), ("1.05", 105),
    ])
    func hundredths(text: String, expected: Int) throws {
        #expect(try PlainValue.hundredths(text).get() == expected)
    }

    @Test(arguments: ["", "x", "1.", "1.234", "-1", ".5"])
    func badHundredths(text: String) {
        #expect(throws: ValueError.self) { try PlainValue.hundredths(text).get() }
    }

    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464), ("[::1]:80", "::1", 80), ("localhost:1", "localhost", 1),
    ])
    func listenAddress(text: String, host: String, port: Int) throws {
        let address = try ListenAddress.parse(text).get()
        #expect(address.host == host && address.port == UInt16(port))
    }

    @Test(arguments: ["9464", ":80", "host:", "host:0", "host:70000", "[::1]80"])
    func badListenAddress(text: String) {
        #expect(throws: ValueError.self) { try ListenAddress.parse(text).get() }
    }

    @Test(arguments: [
        ("trading-critical.slice", "trading.slice"), ("trading.slice", "-.slice"), ("a-b-c.slice", "a-b.slice"),
    ])
    func sliceParent(name: String, parent: String) {
        #expect(SliceConfig.parent(of: name) == parent)
    }
}

@Suite struct PathTests {
    @Test(arguments: [
        ("config/demo/../../units", "units"), ("/etc/warden/./units", "/etc/warden/units"), ("a/b/..", "a"),
        ("../x", "../x"), ("/../x", "/x"), (".", "."), ("a//b/", "a/b"),
    ])
    func normalizes(path: String, expected: String) {
        #expect(normalizedPath(path) == expected)
    }

    @Test func documentationIsAcceptedSilently() {
        var tree = Tree()
        tree.unit("a.service", service("", unit: "Documentation=man:foo(1) https://example.org"))
        #expect(tree.load().diagnostics.isEmpty)
    }

    @Test func missingExecStartPointsAtTheServiceSection() {
        var tree = Tree()
        tree.unit("a.service", "[Unit]\nDescription=x\n\n[Service]\nType=simple\n")
        #expect(
            tree.load().errors.first?.description
                == "/u/a.service:4: ExecStart: missing; expected the command that runs the component (a service needs ExecStart=, ExecStop= or SuccessAction=)")
    }
}

@Suite struct ShutdownBudgetTests {
    @Test func theDefaultFitsInsideAContainerRuntimesGracePeriodAsPID1() {
        var settings = WardenSettings(location: SourceLocation(file: "warden.conf", line: 0))
        #expect(settings.effectiveShutdownBudget(isPID1: false) == .seconds(90))
        #expect(settings.effectiveShutdownBudget(isPID1: true) == .seconds(25))
        settings.shutdownBudgetSec = .seconds(7)
        #expect(settings.effectiveShutdownBudget(isPID1: true) == .seconds(7))
        #expect(settings.effectiveShutdownBudget(isPID1: false) == .seconds(7))
    }
}
