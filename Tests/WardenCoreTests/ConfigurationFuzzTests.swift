import Testing
@testable import WardenCore

/// Thousands of mutated unit directories through the whole pipeline (parser, key tables,
/// value parsers, cross-checks, plan): never a crash, and always either a configuration
/// (with no errors) or errors that point into a file.
@Suite struct ConfigurationFuzzTests {
    static let stack: [String: String] = [
        "market-data.service": """
            [Unit]
            Description=feed
            [Service]
            Type=simple
            ExecStart=/usr/bin/sleep 100
            Restart=on-failure
            RestartSec=500ms
            Slice=trading-critical.slice
            CPUWeight=500
            MemoryMax=1G
            Nice=-5
            [X-Warden]
            Priority=critical
            """,
        "order-executor.service": """
            [Unit]
            Requires=market-data.service
            After=market-data.service network.target
            StartLimitBurst=5
            [Service]
            Type=notify
            ExecStartPre=-/usr/bin/true
            ExecStart=/usr/bin/sleep 100
            ExecStopPost=/usr/bin/true $SERVICE_RESULT
            WatchdogSec=5s
            TimeoutStopSec=10s
            CPUQuota=150%
            AllowedCPUs=0-1
            MemoryHigh=3G
            MemoryMax=4G
            LimitNOFILE=1024:65536
            AmbientCapabilities=CAP_SYS_NICE
            Environment="A=1 2" B=3
            [X-Warden]
            CleanupSignal=SIGUSR1
            Duplicates=refuse
            HealthCheck=tcp:127.0.0.1:9000
            """,
        "trading.slice": "[Slice]\nCPUWeight=500\nMemoryLow=5G\n",
        "trading-batch.slice": "[Slice]\nCPUQuota=100%\nMemoryHigh=1536M\n[X-Warden]\nPriority=batch\n",
        "feed@.service": "[Service]\nExecStart=/usr/bin/sleep %i\n",
    ]

    @Test func mutatedStacksNeverCrash() {
        var rng = SeededGenerator(seed: 0x5741_5244_454E)
        var valid = 0
        var invalid = 0
        for _ in 0..<1500 {
            var files: [String: String] = ["/etc/warden/warden.conf": "[Warden]\nUnitDirectories=/u\n[Governor]\nCooldownSec=60s\n"]
            for (name, text) in Self.stack {
                let mutated = Int.random(in: 0..<3, using: &rng) == 0 ? ParserFuzzTests.mutate(text, &rng) : text
                files["/u/" + name] = mutated
            }
            if Int.random(in: 0..<4, using: &rng) == 0 {
                files["/etc/warden/warden.conf"] = ParserFuzzTests.mutate(files["/etc/warden/warden.conf"]!, &rng)
            }
            let loader = ConfigurationLoader(
                fileSystem: InMemoryFileSystem(files: files, executables: ["/usr/bin/sleep", "/usr/bin/true"]),
                specifiers: SpecifierContext(hostname: "fuzz"),
                host: HostFacts(onlineCPUs: CPUSet(0...1), physicalMemoryBytes: 8 << 30, pidMax: 32768),
                executableSearchPath: ["/usr/bin"])
            let result = loader.load(configPath: "/etc/warden/warden.conf")
            if let configuration = result.configuration {
                valid += 1
                #expect(!result.diagnostics.hasErrors)
                // The plan of every accepted configuration can be built and printed.
                _ = ConfigurationPlan(configuration: configuration, host: nil).renderText()
            } else {
                invalid += 1
                #expect(result.diagnostics.hasErrors)
            }
            for diagnostic in result.diagnostics {
                guard let text = files[diagnostic.location.file] else { continue }
                #expect(diagnostic.location.line <= ParserFuzzTests.unitLineCount(text), "\(diagnostic)")
            }
        }
        // Both outcomes must actually occur, or the mutations are not reaching the model.
        #expect(valid > 100 && invalid > 100, "valid \(valid), invalid \(invalid)")
    }
}
