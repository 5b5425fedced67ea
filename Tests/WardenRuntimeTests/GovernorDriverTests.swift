import Glibc
import Logging
import Synchronization
import Testing
import WardenCore
@testable import WardenLinux
@testable import WardenRuntime

/// A clock the test moves by hand.
final class GovernorTestClock: Sendable {
    let usec = Mutex<UInt64>(1_000_000_000)
    var now: MonotonicInstant { MonotonicInstant(usec: usec.withLock { $0 }) }
    func advance(_ span: TimeSpan) { usec.withLock { $0 += span.usec } }
}

/// Samples the test sets: the protected group's CPU pressure, nothing else.
final class ScriptedSampleSource: GovernorSampleSource {
    var cpuPressurePercent = 0
    /// The protected group's cumulative `some total=` CPU stall.
    var cpuStallTotalUSec: UInt64 = 0
    var taken = 0
    /// The trigger events the driver gave the last sample (those start a fresh CPU-use window).
    var lastFired: [FiredTrigger] = []
    /// Host PSI wake-ups the driver passed on.
    var wakeUps = 0
    func pressureWokeUp() { wakeUps += 1 }
    var followUpAt: MonotonicInstant?
    var longestCPUUseSpan: TimeSpan?
    func useLongestCPUUseSpan(_ span: TimeSpan) { longestCPUUseSpan = span }
    /// What the throttle targets used (nil: not read).
    var targetsCPUUsage: TargetsCPUUsage?
    /// The names of the throttle targets the driver told before the last sample.
    var throttleTargets: [String] = []
    func useThrottleTargets(_ targets: [GovernorTarget]) { throttleTargets = targets.map(\.name) }

    func sample(at now: MonotonicInstant, firedTriggers: [FiredTrigger]) -> (GovernorSample, [GovernorReadError]) {
        taken += 1
        lastFired = firedTriggers
        return (
            GovernorSample(
                at: now, firedTriggers: firedTriggers,
                protectedCPU: PressureReading(someAvg10: Percentage(percent: cpuPressurePercent), someTotalUSec: cpuStallTotalUSec),
                targetsCPUUsage: targetsCPUUsage), []
        )
    }

    func triggerPath(_ resource: PressureResource) -> String? { nil }
    func wakeUpPath(_ resource: PressureResource) -> String? { nil }
}

/// A configuration (critical slice with the executor, batch slice with a backtest) over a
/// plain directory tree standing in for Warden's cgroup subtree; never /sys/fs/cgroup.
final class GovernorBed {
    let root: String
    var cgroupRoot: String { root + "/cg" }
    var stateDirectory: String { root + "/state" }
    let capture = LogCapture()
    let clock = GovernorTestClock()
    let source = ScriptedSampleSource()
    var configuration: Configuration
    let loop: EventLoop

    static let groups = ["critical.slice", "critical.slice/exec.service", "batch.slice", "batch.slice/backtest.service"]

    init(governor: String = "") throws {
        var template = Array("/tmp/warden-gov-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        root = String(cString: made!)
        for directory in ["units", "state", "cg"] { mkdir(root + "/" + directory, 0o755) }
        writeText(root + "/units/critical.slice", "[Slice]\n[X-Warden]\nPriority=critical\n")
        writeText(root + "/units/batch.slice", "[Slice]\n[X-Warden]\nPriority=batch\n")
        writeText(root + "/units/exec.service", "[Service]\nExecStart=/bin/sleep 1000\nSlice=critical.slice\n")
        writeText(root + "/units/backtest.service", "[Service]\nExecStart=/bin/sleep 1000\nSlice=batch.slice\n")
        configuration = try Self.load(root: root, governor: governor)
        loop = try EventLoop()
        for group in Self.groups { makeGroup(group, cpuMax: "max 100000", weight: "100") }
    }

    static func load(root: String, governor: String) throws -> Configuration {
        writeText(root + "/warden.conf", "[Warden]\nUnitDirectories=units\nStateDirectory=state\n[Governor]\n" + governor)
        let loader = ConfigurationLoader(fileSystem: LocalFileSystem(), specifiers: SpecifierContext(hostname: "test"))
        let result = loader.load(configPath: root + "/warden.conf")
        guard let configuration = result.configuration else {
            throw HarnessError(description: result.diagnostics.map(\.description).joined(separator: "\n"))
        }
        return configuration
    }

    /// A group directory with the files the governor observes, as a fresh group has them.
    func makeGroup(_ path: String, cpuMax: String, weight: String) {
        mkdir(cgroupRoot + "/" + path, 0o755)
        let files = ["cpu.max": cpuMax, "cpu.weight": weight, "cpu.idle": "0", "cgroup.freeze": "0", "memory.high": "max"]
        for (file, value) in files { writeText(cgroupRoot + "/" + path + "/" + file, value + "\n") }
    }

    func file(_ group: String, _ name: String) -> String {
        trimmedText(readText(cgroupRoot + "/" + group + "/" + name))
    }

    func driver(beforeAction: ((GovernorAction) -> Void)? = nil) throws -> GovernorDriver {
        let manager = try CgroupManager(rootPath: cgroupRoot, options: CgroupManager.Options(requireCgroup2: false))
        let effects = GovernorEffects(manager: manager, slices: nil, slicesUnavailableReason: "not a systemd host (test)")
        effects.beforeAction = beforeAction
        return driver(effects: effects)
    }

    /// A driver of the bed's configuration over `effects`, with the bed's clock and log,
    /// and no wake-ups of its own; `source` is what its records name as their writer.
    func driver(effects: GovernorEffects, source recordSource: String = "daemon") -> GovernorDriver {
        let capture = capture
        let clock = clock
        let configuration = configuration
        return GovernorDriver(
            configuration: { configuration }, effects: effects, source: source,
            options: GovernorDriverOptions(
                stateDirectory: stateDirectory, automaticWakeups: false, source: recordSource, clock: { clock.now },
                bootID: "boot-1"),
            logger: Logger(label: "test") { _ in CapturingLogHandler(capture: capture) })
    }

    /// A driver of the bed (`driver()`), started on the bed's loop.
    func startedDriver() throws -> GovernorDriver {
        let driver = try driver()
        driver.start(on: loop)
        return driver
    }

    /// A started driver that one look at the protected group's CPU pressure (40 %, over
    /// the default critical 25 %) has taken to tier critical.
    func throttledDriver() throws -> GovernorDriver {
        let driver = try startedDriver()
        source.cpuPressurePercent = 40
        driver.evaluate()
        return driver
    }

    var stateText: String { readText(stateDirectory + "/" + GovernorStateFile.fileName) }

    deinit {
        loop.shutdown()
        removeTree(root)
    }
}

/// Removes a test's own temp tree (never called on anything outside /tmp/warden-gov-*).
func removeTree(_ path: String) {
    precondition(path.hasPrefix("/tmp/warden-gov-"))
    for name in LocalFileSystem().listDirectory(path) ?? [] {
        let child = path + "/" + name
        var info = stat()
        if lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { removeTree(child) } else { unlink(child) }
    }
    rmdir(path)
}

@Suite("Governor driver on a fake cgroup tree")
struct GovernorDriverTests {
    @Test func criticalPressureThrottlesOnlyTheBatchGroupAndPersistsFirst() throws {
        let bed = try GovernorBed()
        var checkedBeforeWrite = 0
        let driver = try bed.driver { action in
            // The state file must already record the change when the write happens.
            if case .apply(_, _, let writes) = action {
                for write in writes {
                    #expect(bed.stateText.contains("\"\(write.file)\" \"\(write.value)\""), "state not saved before \(write.file)")
                    checkedBeforeWrite += 1
                }
            }
        }
        driver.start(on: bed.loop)
        #expect(driver.state.tier == .normal)
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        #expect(bed.file("batch.slice", "cpu.max") == "50000 100000")
        #expect(bed.file("batch.slice", "cpu.weight") == "1")
        // The critical group is never throttled, only its weight raised (in the critical
        // slice and in its component); the backtest is covered by its slice.
        #expect(bed.file("critical.slice", "cpu.max") == "max 100000")
        #expect(bed.file("critical.slice/exec.service", "cpu.max") == "max 100000")
        #expect(bed.file("critical.slice", "cpu.weight") == "10000")
        #expect(bed.file("critical.slice/exec.service", "cpu.weight") == "10000")
        #expect(bed.file("batch.slice/backtest.service", "cpu.max") == "max 100000")
        #expect(checkedBeforeWrite == 4)
        #expect(bed.capture.firstIndex("governor: tier critical (from normal; signals)") != nil)
    }

    /// Critical pressure while the throttle targets use next to no CPU: nothing is written,
    /// and the log says so once per episode (and `status` while it lasts); a contender then
    /// raises the tier at once.
    @Test func pressureWithoutAContenderIsSaidOnceAndThrottlesNothing() throws {
        let bed = try GovernorBed()
        let driver = try bed.startedDriver()
        bed.source.cpuPressurePercent = 40
        bed.source.targetsCPUUsage = .measured(Percentage(hundredths: 20))
        let line = "governor: cpu-pressure 40% avg10 (critical at 25%), but the throttle targets used 0.2% of a CPU (a contender uses 10%): nothing to throttle; tier normal kept"
        for _ in 0..<3 {
            driver.evaluate()
            bed.clock.advance(.seconds(1))
        }
        #expect(bed.source.throttleTargets == ["batch.slice"])
        #expect(driver.state.tier == .normal)
        #expect(bed.file("batch.slice", "cpu.max") == "max 100000")
        #expect(bed.capture.lines.filter { $0.contains(line) }.count == 1)
        #expect(driver.status().notes.contains { line.hasSuffix($0) })
        // A new episode after a cooldown without one is said again.
        bed.clock.advance(.seconds(120))
        #expect(!driver.status().notes.contains { line.hasSuffix($0) })
        driver.evaluate()
        #expect(bed.capture.lines.filter { $0.contains(line) }.count == 2)
        bed.source.targetsCPUUsage = .measured(Percentage(percent: 100))
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        #expect(bed.file("batch.slice", "cpu.max") == "50000 100000")
    }

    /// A trigger event alone is no evidence: one with no stall behind it changes nothing;
    /// one the stall total bears out over the second reading escalates.
    @Test func aTriggerEventCountsOnlyWhenTheStallTotalBearsItOut() throws {
        let bed = try GovernorBed()
        let driver = try bed.startedDriver()
        bed.source.cpuStallTotalUSec = 5_000_000
        driver.evaluate()
        bed.clock.advance(.seconds(60))
        // An idle host: the event fires, the total does not move.
        driver.fired(FiredTrigger(resource: .cpu, level: .critical))
        #expect(driver.state.tier == .normal)
        let followUp = try #require(driver.nextEvaluation())
        #expect(followUp <= bed.clock.now.advanced(by: TimeSpan(usec: 250_000)), "the second reading comes a quarter window later")
        bed.clock.advance(TimeSpan(usec: 250_000))
        bed.source.cpuStallTotalUSec += 2_000
        driver.evaluate()
        #expect(driver.state.tier == .normal, "0.8 % stall over the span does not bear out a critical event")
        #expect(bed.capture.firstIndex("the stall total did not bear it out") != nil)
        #expect(!bed.stateText.contains("\nchange "))
        // A real overload: the stall grows at 60 % of the time from the event on.
        bed.clock.advance(.seconds(60))
        driver.fired(FiredTrigger(resource: .cpu, level: .critical))
        #expect(driver.state.tier == .normal)
        bed.clock.advance(TimeSpan(usec: 250_000))
        bed.source.cpuStallTotalUSec += 150_000
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        #expect(bed.file("batch.slice", "cpu.max") == "50000 100000")
    }

    /// The sampler's follow-up (CPU use judged just after a trigger) comes before the
    /// regular interval, in automatic mode below the critical tier only.
    @Test func aFollowUpSampleComesBeforeTheInterval() throws {
        let bed = try GovernorBed()
        let driver = try bed.startedDriver()
        // No triggers in this bed: the regular interval in tier normal.
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: .seconds(1)))
        driver.evaluate()
        #expect(bed.source.longestCPUUseSpan == .seconds(2), "the span of this configuration, told before the sample")
        bed.source.followUpAt = bed.clock.now.advanced(by: TimeSpan(usec: 260_000))
        #expect(driver.nextEvaluation() == bed.source.followUpAt)
        // Critical already: no extra looks, only the interval.
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: .seconds(1)))
        bed.source.cpuPressurePercent = 0
        _ = driver.manualOn(ManualEmergencyRequest(), requestedBy: "test")
        #expect(driver.state.mode.isManual)
        #expect(driver.nextEvaluation() != bed.source.followUpAt, "manual mode takes no samples")
    }

    /// A rise to warning is looked at again as soon as CPU use can be read, for one trigger
    /// window; a warning that holds past it, or one stepped down to, keeps the interval.
    @Test func aRiseToWarningIsFollowedClosely() throws {
        let bed = try GovernorBed()
        let driver = try bed.startedDriver()
        let soon = GovernorSampler.shortestCPUUseSpan
        bed.source.cpuPressurePercent = 15
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: soon))
        bed.clock.advance(soon)
        driver.evaluate()
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: soon))
        bed.clock.advance(.seconds(1))
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: .seconds(1)), "a warning that holds: the interval")
        // Critical, then calm for a cooldown: the step down to warning is no rise.
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        bed.source.cpuPressurePercent = 1
        driver.evaluate()
        bed.clock.advance(.seconds(61))
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: .seconds(1)))
    }

    /// A warning that holds is sampled every interval, and nothing else: an event of the
    /// warning trigger (which cannot raise it) is judged by the sample due, over the span
    /// since its checkpoint, with no second reading and no fresh CPU-use window of its own.
    /// A critical event still gets both.
    @Test func aHeldWarningLooksOnlyForWhatCouldRaiseIt() throws {
        let bed = try GovernorBed()
        let driver = try bed.startedDriver()
        bed.source.cpuPressurePercent = 15
        bed.source.cpuStallTotalUSec = 1_000_000
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        bed.clock.advance(.seconds(2))
        driver.evaluate()
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: .seconds(1)))
        // The sample comes a little late, as it does on a busy host: the checkpoint is
        // then older than a window, and a second reading would be due a quarter window on.
        driver.timer = EventLoop.TimerID(rawValue: 1)
        driver.fired(FiredTrigger(resource: .cpu, level: .warning))
        bed.clock.advance(TimeSpan(usec: 1_200_000))
        bed.source.cpuStallTotalUSec += 150_000
        driver.timer = nil
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        #expect(bed.source.lastFired.isEmpty, "no fresh CPU-use window for an event that cannot raise the tier")
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: .seconds(1)), "no second reading of its own")
        // The next sample judges the event over the second since its checkpoint.
        bed.clock.advance(.seconds(1))
        bed.source.cpuStallTotalUSec += 150_000
        driver.evaluate()
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: .seconds(1)))
        // A critical event could raise it: a fresh window, and the evidence's second reading.
        bed.clock.advance(.seconds(2))
        driver.fired(FiredTrigger(resource: .cpu, level: .critical))
        #expect(bed.source.lastFired == [FiredTrigger(resource: .cpu, level: .critical)])
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: TimeSpan(usec: 250_000)))
    }

    /// Below the critical tier a host PSI wake-up is a look that asks for a fresh CPU-use
    /// window (an overload that begins while a warning holds is judged on the moments after
    /// it); once critical it is none.
    @Test func aHostWakeUpBelowCriticalIsALook() throws {
        let bed = try GovernorBed()
        let driver = try bed.startedDriver()
        driver.hostPressureWokeUp()
        #expect(bed.source.wakeUps == 1 && bed.source.taken == 1)
        bed.source.cpuPressurePercent = 15
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        driver.hostPressureWokeUp()
        #expect(bed.source.wakeUps == 2 && bed.source.taken == 3)
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        driver.hostPressureWokeUp()
        #expect(bed.source.wakeUps == 2 && bed.source.taken == 4, "no look once critical")
    }

    /// The evidence's second reading and the CPU-use follow-up, 10 ms apart, are one look.
    @Test func nearFollowUpsAreOneLook() throws {
        let bed = try GovernorBed()
        let driver = try bed.startedDriver()
        bed.source.cpuStallTotalUSec = 1_000_000
        driver.evaluate()
        bed.clock.advance(.seconds(60))
        bed.source.followUpAt = bed.clock.now.advanced(by: TimeSpan(usec: 260_000))
        driver.fired(FiredTrigger(resource: .cpu, level: .critical))
        #expect(driver.state.tier == .normal)
        #expect(driver.nextEvaluation() == bed.clock.now.advanced(by: TimeSpan(usec: 260_000)))
    }

    @Test func cooldownRestoresTheExactPreviousValues() throws {
        let bed = try GovernorBed()
        bed.makeGroup("batch.slice", cpuMax: "200000 100000", weight: "250")
        let driver = try bed.throttledDriver()
        #expect(bed.file("batch.slice", "cpu.max") == "50000 100000")
        bed.source.cpuPressurePercent = 1
        driver.evaluate()  // calm starts
        bed.clock.advance(.seconds(30))
        driver.evaluate()
        #expect(driver.state.tier == .critical, "stepped down before the cooldown")
        bed.clock.advance(.seconds(31))
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        #expect(bed.file("batch.slice", "cpu.max") == "200000 100000")
        #expect(bed.file("batch.slice", "cpu.weight") == "250")
        #expect(!bed.stateText.contains("\nchange "))
    }

    @Test func aValueChangedBySomeoneElseIsReportedNotOverwritten() throws {
        let bed = try GovernorBed()
        let driver = try bed.throttledDriver()
        writeText(bed.cgroupRoot + "/batch.slice/cpu.weight", "42\n")
        #expect(driver.status().conflicts.map(\.file) == ["cpu.weight"])
        bed.source.cpuPressurePercent = 1
        driver.evaluate()
        bed.clock.advance(.seconds(61))
        driver.evaluate()
        #expect(bed.file("batch.slice", "cpu.weight") == "42")
        #expect(bed.file("batch.slice", "cpu.max") == "max 100000")
        let status = driver.status()
        #expect(status.conflicts.count == 1)
        #expect(status.conflicts.first?.found == "42")
        #expect(bed.capture.firstIndex("conflicts: batch.slice cpu.weight is '42'") != nil)
    }

    @Test(arguments: [true, false])
    func aNewDriverResumesOrRestoresAfterACrash(enabled: Bool) throws {
        let bed = try GovernorBed()
        do {
            let crashed = try bed.driver()
            crashed.start(on: bed.loop)
            bed.source.cpuPressurePercent = 40
            crashed.evaluate()
            // No shutDown(): the process died with the throttle in place.
        }
        #expect(bed.file("batch.slice", "cpu.max") == "50000 100000")
        #expect(bed.stateText.contains("tier critical"))
        if !enabled { bed.configuration = try GovernorBed.load(root: bed.root, governor: "Enabled=no\n") }
        bed.source.cpuPressurePercent = 1
        let next = try bed.driver()
        next.start(on: bed.loop)
        if enabled {
            #expect(next.state.tier == .critical)
            #expect(bed.file("batch.slice", "cpu.max") == "50000 100000")
            bed.clock.advance(.seconds(61))
            next.evaluate()
            #expect(next.state.tier == .warning)
        } else {
            #expect(next.state.tier == .normal)
            #expect(bed.capture.firstIndex("Enabled=no; restoring") != nil)
        }
        #expect(bed.file("batch.slice", "cpu.max") == "max 100000")
        #expect(bed.file("batch.slice", "cpu.weight") == "100")
        #expect(!bed.stateText.contains("\nchange "))
    }

    @Test func manualModeThrottlesTheNamedTargetUntilOff() throws {
        let bed = try GovernorBed(governor: "Enabled=no\n")
        let driver = try bed.startedDriver()
        let on = driver.manualOn(
            ManualEmergencyRequest(cpuQuota: CPUQuota(perSecondUSec: 200_000), targets: ["backtest"]), requestedBy: "test")
        let status = try on.get()
        #expect(status.mode == "manual")
        #expect(status.changes.map(\.target) == ["backtest.service", "backtest.service"])
        #expect(bed.file("batch.slice/backtest.service", "cpu.max") == "20000 100000")
        #expect(bed.file("batch.slice", "cpu.max") == "max 100000")
        if case .failure(let error) = driver.manualOn(ManualEmergencyRequest(targets: ["exec"]), requestedBy: "test") {
            #expect(error.code == .refused)
        } else {
            Issue.record("a critical component was accepted")
        }
        if case .failure(let error) = driver.manualOn(ManualEmergencyRequest(targets: ["nothing"]), requestedBy: "test") {
            #expect(error.code == .unknownUnit)
        } else {
            Issue.record("an unknown target was accepted")
        }
        let off = try driver.manualOff(requestedBy: "test").get()
        #expect(off.status.mode == "automatic")
        #expect(off.status.changes.isEmpty)
        #expect(bed.file("batch.slice/backtest.service", "cpu.max") == "max 100000")
    }

    @Test func manualModeExpiresAtItsDeadline() throws {
        let bed = try GovernorBed(governor: "Enabled=no\n")
        let driver = try bed.startedDriver()
        _ = try driver.manualOn(ManualEmergencyRequest(freezeBatch: true, duration: .seconds(600)), requestedBy: "test").get()
        #expect(bed.file("batch.slice", "cgroup.freeze") == "1")
        let early = try driver.manualOff(requestedBy: "timer", expiredOnly: true).get()
        #expect(early.status.mode == "manual")
        bed.clock.advance(.seconds(600))
        _ = try driver.manualOff(requestedBy: "timer", expiredOnly: true).get()
        #expect(driver.state.mode == .automatic)
        #expect(bed.file("batch.slice", "cgroup.freeze") == "0")
        #expect(bed.file("batch.slice", "cpu.max") == "max 100000")
    }

    @Test func aRecreatedGroupIsThrottledAfresh() throws {
        let bed = try GovernorBed()
        let driver = try bed.throttledDriver()
        // The runtime removed and recreated the group (a restart): fresh values again.
        rename(bed.cgroupRoot + "/batch.slice", bed.cgroupRoot + "/old-batch")
        bed.makeGroup("batch.slice", cpuMax: "max 100000", weight: "100")
        for group in ["batch.slice/backtest.service"] { bed.makeGroup(group, cpuMax: "max 100000", weight: "100") }
        driver.evaluate()
        #expect(bed.capture.firstIndex("batch.slice cpu.max: its group was created again") != nil)
        // Applied afresh. (The write lands through the manager's open descriptor; in
        // Warden the runtime removes groups through that same manager, which then opens
        // the new one. Here the test swapped the directory behind its back.)
        let applies = bed.capture.lines.filter { $0.contains("applied: batch.slice cpu.max: 'max 100000' → '50000 100000'") }
        #expect(applies.count == 2)
        #expect(driver.state.changes.filter { $0.target == "batch.slice" }.count == 2)
    }

    @Test func shutDownRestoresEverything() throws {
        let bed = try GovernorBed()
        let driver = try bed.throttledDriver()
        driver.shutDown()
        #expect(bed.file("batch.slice", "cpu.max") == "max 100000")
        #expect(bed.stateText.contains("tier normal"))
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        #expect(bed.file("batch.slice", "cpu.max") == "max 100000", "a stood-down governor acted")
    }
}
