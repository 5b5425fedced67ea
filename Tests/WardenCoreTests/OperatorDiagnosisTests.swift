import Testing
import WardenCore

@Suite struct OperatorVerdictTests {
    static let defaults = DiagnoseThresholds()

    /// Load average × 100, CPUs, verdict: the runbooks' optimal < 1.0, warning 1.0–2.0, critical > 2.0 per CPU.
    static let loadCases: [(Int, Int, Verdict)] = [
        (99, 1, .optimal), (100, 1, .warning), (150, 1, .warning), (200, 1, .warning), (201, 1, .critical),
        (199, 2, .optimal), (200, 2, .warning), (400, 2, .warning), (401, 2, .critical), (512, 2, .critical),
        (0, 4, .optimal), (799, 4, .warning), (801, 4, .critical),
    ]

    @Test(arguments: loadCases)
    func loadPerCPU(_ hundredths: Int, _ cpus: Int, _ expected: Verdict) {
        let snapshot = HostSnapshot(cpuCount: cpus, loadAverageHundredths: [hundredths, 0, 0])
        #expect(Diagnosis.analyze(snapshot, thresholds: Self.defaults).load?.verdict == expected)
    }

    /// Used percent (of 10,000 units), verdict: warning from 70 %, critical above 85 %.
    static let memoryCases: [(UInt64, Verdict)] = [
        (6_999, .optimal), (7_000, .warning), (8_500, .warning), (8_501, .critical), (10_000, .critical),
    ]

    @Test(arguments: memoryCases)
    func memory(_ usedUnits: UInt64, _ expected: Verdict) {
        let m = MemoryInfo(memTotalBytes: 10_000, memAvailableBytes: 10_000 - usedUnits, swapTotalBytes: 0, swapFreeBytes: 0)
        #expect(Diagnosis.analyze(HostSnapshot(memory: m), thresholds: Self.defaults).memory?.verdict == expected)
    }

    static let swapCases: [(UInt64, Verdict)] = [(0, .optimal), (500 * 1024 * 1024, .optimal), (500 * 1024 * 1024 + 1, .warning)]

    @Test(arguments: swapCases)
    func swapAbove500MiB(_ used: UInt64, _ expected: Verdict) {
        let m = MemoryInfo(memTotalBytes: 1 << 34, memAvailableBytes: 1 << 34, swapTotalBytes: 1 << 32, swapFreeBytes: (1 << 32) - used)
        #expect(Diagnosis.analyze(HostSnapshot(memory: m), thresholds: Self.defaults).memory?.swapVerdict == expected)
    }

    @Test func governorSettingsOverrideTheDefaults() {
        var governor = GovernorSettings()
        governor.loadPerCPUWarningHundredths = 50
        governor.loadPerCPUCriticalHundredths = 80
        governor.memoryWarningPercent = 50
        let t = DiagnoseThresholds(governor: governor)
        let snapshot = HostSnapshot(
            cpuCount: 1, loadAverageHundredths: [81, 0, 0],
            memory: MemoryInfo(memTotalBytes: 100, memAvailableBytes: 45, swapTotalBytes: 0, swapFreeBytes: 0))
        let report = Diagnosis.analyze(snapshot, thresholds: t)
        #expect(report.load?.verdict == .critical)
        #expect(report.load?.criticalPerCPU == 0.8)
        #expect(report.memory?.verdict == .warning)
        #expect(DiagnoseThresholds().memoryCriticalPercent == 85)
    }

    static let pressureCases: [(String, PressureFigures?)] = [
        ("some avg10=31.20 avg60=20.00 avg300=10.00 total=1\nfull avg10=0.50 avg60=0.00 avg300=0.00 total=0\n",
         PressureFigures(someAvg10: 31.2, someAvg60: 20, someAvg300: 10, fullAvg10: 0.5)),
        ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", PressureFigures(someAvg10: 0, someAvg60: 0, someAvg300: 0, fullAvg10: nil)),
        ("garbage\n", nil),
        ("", nil),
    ]

    @Test(arguments: pressureCases)
    func pressureParsing(_ text: String, _ expected: PressureFigures?) {
        #expect(PressureFigures.parse(text) == expected)
    }
}

@Suite struct OperatorRecommendationTests {
    static func usage(_ pid: Int32, _ cmd: String, cpu: Double, placement: ProcessPlacement = .outside, rss: UInt64 = 1 << 20)
        -> ProcessUsage
    {
        ProcessUsage(
            pid: pid, user: "alice", cpuPercent: cpu, rssBytes: rss, commandLine: cmd, cgroup: "/user.slice", placement: placement,
            slice: placement == .tradingSlice ? "trading.slice" : nil)
    }

    static func messages(_ snapshot: HostSnapshot) -> [String] {
        Diagnosis.analyze(snapshot, thresholds: DiagnoseThresholds()).recommendations.map(\.description)
    }

    @Test func aHogOutsideTheTradingSlicesIsNamedWithWhatToRun() {
        let snapshot = HostSnapshot(topByCPU: [
            Self.usage(12345, "code --type=renderer", cpu: 125.2),
            Self.usage(200, "/opt/bot/bin/bot", cpu: 180, placement: .tradingSlice),
            Self.usage(300, "warden run", cpu: 150, placement: .warden),
            Self.usage(400, "firefox", cpu: 60),
            Self.usage(500, "sshd", cpu: 49.9),
        ])
        #expect(
            Self.messages(snapshot) == [
                "CRITICAL: pid 12345 'code --type=renderer' uses 125 % CPU outside any trading slice — run: warden emergency on",
                "WARNING: pid 400 'firefox' uses 60 % CPU outside any trading slice — lower it: renice -n 19 -p 400, or stop it",
            ])
    }

    @Test func duplicatesAreCountedWithTheSupervisedCopy() {
        let copies = ComponentCopies(
            component: "order-executor.service", policy: .refuse, match: .executableAndArguments,
            supervised: [scanned(1)], duplicates: [scanned(2)])
        #expect(
            Self.messages(HostSnapshot(components: [copies])) == [
                "WARNING: 2 copies of order-executor.service running (PIDs 1, 2) — run: warden duplicates --kill"
            ])
    }

    /// No configuration: groups of the same program and arguments, and the command that
    /// stops the newer ones names the group.
    @Test func sameCommandGroupsWithoutConfigurationSayHowToStopThem() {
        let group = ComponentCopies(
            component: "sleep 12345678", policy: .warn, match: .executableAndArguments, supervised: [scanned(1)],
            duplicates: [scanned(2)])
        var snapshot = HostSnapshot(components: [group])
        snapshot.componentsAreSameCommandGroups = true
        #expect(
            Self.messages(snapshot) == [
                "WARNING: 2 processes run the same program with the same arguments (PIDs 1, 2, sleep 12345678) — if they are copies of one program, run: warden duplicates --kill --command '\(scanned(2).commandLine)'"
            ])
        let report = Diagnosis.analyze(snapshot, thresholds: DiagnoseThresholds())
        #expect(report.sameCommandGroups)
        let text = report.renderText(color: false)
        #expect(text.contains("Same program, same arguments (no Warden configuration)"))
        #expect(text.contains("sleep 12345678  1       2"), "\(text)")
    }

    static let loneCases: [(DuplicatePolicy, String)] = [
        (.refuse, "Duplicates=refuse blocks Warden's start of it"),
        (.kill, "Duplicates=kill makes Warden kill it at start"),
        (.adopt, "Duplicates=adopt makes Warden take it over at start"),
        (.warn, "Duplicates=warn lets Warden start a second copy"),
    ]

    @Test(arguments: loneCases)
    func aLoneCopyOutsideWardenSaysWhatTheStartWillDo(_ policy: DuplicatePolicy, _ consequence: String) {
        let copies = ComponentCopies(component: "bot.service", policy: policy, match: .executable, supervised: [], duplicates: [scanned(77)])
        #expect(
            Self.messages(HostSnapshot(components: [copies])) == [
                "WARNING: 1 copy of bot.service running outside Warden (PID 77); \(consequence) — run: warden duplicates --kill"
            ])
    }

    @Test func aSupervisedCopyAloneIsFine() {
        let copies = ComponentCopies(component: "bot.service", policy: .refuse, match: .executable, supervised: [scanned(1)], duplicates: [])
        #expect(Self.messages(HostSnapshot(components: [copies])).isEmpty)
    }

    static let governorCases: [([String], [String])] = [
        (["performance", "performance"], []),
        (["powersave", "powersave"], ["WARNING: CPU governor is powersave — set performance for latency-critical work"]),
        (["performance", "schedutil", "powersave"],
         ["WARNING: CPU governor is schedutil, powersave — set performance for latency-critical work"]),
    ]

    @Test(arguments: governorCases)
    func cpuGovernor(_ governors: [String], _ expected: [String]) {
        #expect(Self.messages(HostSnapshot(cpuGovernors: governors)) == expected)
    }

    @Test func noCpufreqIsNotAProblem() {
        let report = Diagnosis.analyze(HostSnapshot(cpuGovernors: nil), thresholds: DiagnoseThresholds())
        #expect(report.recommendations.isEmpty)
        #expect(report.cpuFrequency.available == false)
        #expect(report.renderText(color: false).contains("CPU governor not available"))
    }

    @Test func failedUnitsAndSystemdAbsence() {
        let failed = HostSnapshot(failedUnits: .listed(["cups.service", "bot.service"]))
        #expect(
            Self.messages(failed) == [
                "WARNING: 2 failed systemd units (cups.service, bot.service) — inspect: systemctl status NAME; clear: systemctl reset-failed"
            ])
        let none = Diagnosis.analyze(HostSnapshot(failedUnits: .systemdNotRunning), thresholds: DiagnoseThresholds())
        #expect(none.systemd.status == "systemd-not-running")
        #expect(none.renderText(color: false).contains("systemd      systemd not running here"))
    }

    @Test func loadMemorySwapAndPressureTogetherCriticalFirst() {
        let snapshot = HostSnapshot(
            cpuCount: 2, loadAverageHundredths: [512, 340, 201],
            memory: MemoryInfo(
                memTotalBytes: 8_000_000 * 1024, memAvailableBytes: 1_000_000 * 1024, swapTotalBytes: 2_000_000 * 1024,
                swapFreeBytes: 1_200_000 * 1024),
            pressure: PressureSnapshot(
                cpu: PressureFigures(someAvg10: 12, someAvg60: 0, someAvg300: 0, fullAvg10: nil),
                memory: PressureFigures(someAvg10: 10, someAvg60: 0, someAvg300: 0, fullAvg10: 1),
                io: PressureFigures(someAvg10: 29.9, someAvg60: 0, someAvg300: 0, fullAvg10: 0)),
            topByMemory: [Self.usage(2300, "/opt/trading/bin/market-data --feed binance", cpu: 1, rss: 808 * 1024 * 1024)])
        #expect(
            Self.messages(snapshot) == [
                "CRITICAL: load 5.12 on 2 CPUs is 2.56 per CPU (critical above 2.00) — stop or throttle the top CPU users listed; run: warden emergency on",
                "CRITICAL: memory 88 % used (critical above 85 %); largest: pid 2300 '/opt/trading/bin/market-data --feed bin…' 808.0 MiB — set MemoryHigh=/MemoryMax= on it or stop it",
                "CRITICAL: memory pressure 10.0 % (some, avg10), critical from 10 % — tasks stall on reclaim; lower MemoryHigh= of batch components or stop the top memory users",
                "WARNING: 781.3 MiB of swap in use (warning above 500.0 MiB); largest: pid 2300 '/opt/trading/bin/market-data --feed bin…' 808.0 MiB — swapped-out pages cost latency; free memory or lower MemorySwapMax= of the stack",
                "WARNING: CPU pressure 12.0 % (some, avg10), warning from 10 % — tasks wait for CPU; check the top CPU users listed",
            ])
        #expect(Diagnosis.analyze(snapshot, thresholds: DiagnoseThresholds()).verdict == .critical)
    }

    @Test func aQuietHostHasNoRecommendations() {
        let snapshot = HostSnapshot(
            uptimeSeconds: 90_061, cpuCount: 2, loadAverageHundredths: [10, 5, 1],
            memory: MemoryInfo(memTotalBytes: 1 << 33, memAvailableBytes: 1 << 32, swapTotalBytes: 0, swapFreeBytes: 0),
            pressure: nil, cpuGovernors: ["performance", "performance"], failedUnits: .listed([]), processCount: 42,
            scanMilliseconds: 3.25)
        let report = Diagnosis.analyze(snapshot, thresholds: DiagnoseThresholds())
        #expect(report.verdict == .optimal)
        #expect(
            report.renderText(color: false) == """
                Host         up 1 d 1 h, 2 CPUs, 42 processes (scan 3.3 ms)
                Load         0.10 0.05 0.01 (0.05 per CPU)                 optimal
                Memory       4.0 GiB of 8.0 GiB used (50 %)                optimal
                Swap         none configured                               optimal
                PSI          PSI not available
                CPU governor performance (2 CPUs)
                systemd      no failed units

                Top processes by CPU
                  PID  USER  CPU%  RSS  WHERE  COMMAND

                Top processes by memory
                  PID  USER  CPU%  RSS  WHERE  COMMAND

                Recommendations
                  none: optimal

                """)
    }

    @Test func colourOnlyWhenAsked() {
        let snapshot = HostSnapshot(cpuCount: 1, loadAverageHundredths: [300, 0, 0])
        let report = Diagnosis.analyze(snapshot, thresholds: DiagnoseThresholds())
        #expect(!report.renderText(color: false).contains("\u{1B}["))
        #expect(report.renderText(color: true).contains("\u{1B}[31mcritical\u{1B}[0m"))
        #expect(report.renderText(color: true).contains("\u{1B}[31mCRITICAL\u{1B}[0m: load"))
    }
}

@Suite struct OperatorPlacementAndUsageTests {
    static let placementCases: [(Int32, String, ProcessPlacement, String?)] = [
        (5, "/warden.service/bot.service", .warden, nil),
        (6, "/system.slice/warden.service/trading.slice/trading-critical.slice/bot.service", .tradingSlice, "trading-critical.slice"),
        (7, "/trading.slice/x.scope", .tradingSlice, "trading.slice"),
        (8, "/user.slice/user-1000.slice/app.slice/code.scope", .outside, nil),
        (9, "/trading.slice.bak/x", .outside, nil),
    ]

    @Test(arguments: placementCases)
    func placement(_ pid: Int32, _ cgroup: String, _ expected: ProcessPlacement, _ slice: String?) {
        let result = ProcessPlacement.classify(
            pid: pid, cgroup: cgroup, wardenPIDs: [5], tradingSlices: ["trading.slice", "trading-critical.slice"])
        #expect(result.placement == expected)
        #expect(result.slice == slice)
    }

    @Test func cpuShareComparesOnlyTheSameProcess() {
        let before = [scanned(10, start: 100, cpuTicks: 1000), scanned(11, start: 100, cpuTicks: 50)]
        let after = [
            scanned(10, start: 100, cpuTicks: 1050),
            // PID 11 was recycled: its ticks count from zero, not from the old process's 50.
            scanned(11, start: 900, cpuTicks: 20),
        ]
        let shares = CPUUsage.percentages(before: before, after: after, elapsedSeconds: 0.5, ticksPerSecond: 100)
        #expect(shares[10] == 100)
        #expect(shares[11] == 40)
    }

    @Test func lifetimeShareIsCpuTimeOverElapsed() {
        let p = scanned(1234, start: 9_000_000, cpuTicks: 5000)
        #expect(CPUUsage.lifetimePercent(p, uptimeSeconds: 100_000, ticksPerSecond: 100) == 0.5)
        #expect(CPUUsage.lifetimePercent(p, uptimeSeconds: 10, ticksPerSecond: 100) == 0)
    }

    static let byteCases: [(UInt64, String)] = [
        (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (12_582_912, "12.0 MiB"), (4 << 30, "4.0 GiB"),
    ]

    @Test(arguments: byteCases)
    func bytes(_ n: UInt64, _ text: String) {
        #expect(OperatorText.bytes(n) == text)
    }

    static let fixedCases: [(Double, Int, String)] = [
        (2.345, 2, "2.35"), (0.0, 1, "0.0"), (-1.25, 1, "-1.3"), (125.2, 0, "125"), (0.04, 1, "0.0"), (9.999, 2, "10.00"),
    ]

    @Test(arguments: fixedCases)
    func fixed(_ x: Double, _ decimals: Int, _ text: String) {
        #expect(OperatorText.fixed(x, decimals: decimals) == text)
    }

    @Test func tableAlignsAndTrimsTrailingSpace() {
        let text = OperatorText.table(
            [OperatorText.Column("A"), OperatorText.Column("NUM", rightAligned: true), OperatorText.Column("TEXT")],
            [["x", "1", "free text"], ["long-name", "1234", ""]])
        #expect(text == "A           NUM  TEXT\nx             1  free text\nlong-name  1234\n")
    }
}
