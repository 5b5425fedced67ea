import Glibc
import Testing
import WardenCore
@testable import WardenLinux

enum GovernorFixtures {
    static let root = DocumentationTests.repositoryRoot + "/Tests/fixtures/governor"
}

@Suite struct GovernorReaderTests {
    let host = HostSignalReader(procRoot: GovernorFixtures.root + "/host/proc")
    let oldHost = HostSignalReader(procRoot: GovernorFixtures.root + "/host-oldpsi/proc")
    let noPSIHost = HostSignalReader(procRoot: GovernorFixtures.root + "/host-nopsi/proc")

    @Test func loadAveragePerCPU() throws {
        // "6.42 6.86 6.88 7/167 5292" on 2 CPUs.
        #expect(try host.loadPerCPUHundredths(onlineCPUs: 2).get() == 321)
        #expect(try host.loadPerCPUHundredths(onlineCPUs: 1).get() == 642)
    }

    @Test func memoryUseAndSwap() throws {
        let info = try host.memoryInfo().get()
        #expect(info.memTotalBytes == 24_683_656 * 1024)
        #expect(info.memAvailableBytes == 23_534_272 * 1024)
        #expect(info.used == Percentage(hundredths: 465))  // (24683656-23534272)/24683656 = 4.65 %
        #expect(info.swapUsedBytes == 0)
        let swapping = try oldHost.memoryInfo().get()
        #expect(swapping.swapUsedBytes == (2_097_148 - 1_286_144) * 1024)
        #expect(swapping.used == Percentage(hundredths: 8599))
    }

    @Test func cpuBusyBetweenTwoReadings() throws {
        let earlier = try host.cpuTimes().get()
        let later = try host.cpuTimes(file: "stat.later").get()
        #expect(earlier.user == 556_655 && earlier.steal == 2599)
        // 163 user + 38 system ticks, no idle: the build host was saturated.
        #expect(later.busy(since: earlier) == Percentage(percent: 100))
        #expect(earlier.busy(since: earlier) == nil)
        #expect(earlier.busy(since: later) == nil)
        let half = CPUTimes(user: 50, nice: 0, system: 0, idle: 40, iowait: 10, irq: 0, softirq: 0, steal: 0)
        #expect(half.busy(since: CPUTimes(user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0)) == Percentage(percent: 50))
    }

    @Test func hostPressureFiles() throws {
        #expect(try host.pressure(.cpu).get() == PressureReading(someAvg10: Percentage(hundredths: 9825), fullAvg10: .zero, someTotalUSec: 2_526_894_457))
        #expect(try host.pressure(.memory).get() == PressureReading(someAvg10: .zero, fullAvg10: .zero, someTotalUSec: 0))
        #expect(try host.pressure(.io).get() == PressureReading(someAvg10: Percentage(hundredths: 19), fullAvg10: .zero, someTotalUSec: 34_033_388))
        // Before Linux 5.13 the host-wide cpu file has no full line.
        #expect(try oldHost.pressure(.cpu).get() == PressureReading(someAvg10: Percentage(hundredths: 9825), fullAvg10: nil, someTotalUSec: 2_526_894_457))
        guard case .failure(let error) = noPSIHost.pressure(.cpu) else {
            Issue.record("a kernel without PSI gave a reading")
            return
        }
        #expect(error.errno == ENOENT)
        #expect(error.description.hasPrefix("reading \(GovernorFixtures.root)/host-nopsi/proc/pressure/cpu: "))
    }

    static let malformedPressure: [(String, String)] = [
        ("", "no 'some' line"),
        ("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", "no 'some' line"),
        ("some avg60=1.00 total=3\n", "expected 'some|full avg10="),
        ("some avg10=1.234 avg60=0.00\n", "expected 'some|full avg10="),
        ("some avg10=x avg60=0.00 avg300=0.00 total=0\n", "not a number"),
        ("partial avg10=1.00 avg60=0.00 avg300=0.00 total=0\n", "expected 'some' or 'full'"),
    ]

    @Test(arguments: malformedPressure)
    func malformedPressureIsAnErrorNamingTheFile(text: String, reason: String) {
        guard case .failure(let error) = PressureFile.parse(text, path: "/x/cpu.pressure") else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(error.path == "/x/cpu.pressure")
        #expect(error.reason.contains(reason), "\(error)")
    }

    @Test func cgroupPressureAndObservedValues() throws {
        let reader = GovernorCgroupReader(cgroupRoot: GovernorFixtures.root + "/cgroup")
        let protected = try reader.pressure(.cpu, ofGroup: "trading.slice/trading-critical.slice").get()
        #expect(protected.someAvg10 == Percentage(hundredths: 9825))
        #expect(try reader.pressure(.memory, ofGroup: "trading.slice/trading-critical.slice").get().fullAvg10 == .zero)
        let targets = reader.observe([
            GovernorTarget(name: "batch.slice", path: "batch.slice", priority: .batch, current: ["stale": "x"]),
            GovernorTarget(name: "gone.slice", path: "gone.slice", priority: .batch),
            GovernorTarget(name: "system.slice", kind: .systemdSlice, path: "system.slice", priority: .normal, current: ["CPUQuotaPerSecUSec": "infinity"]),
        ])
        #expect(targets[0].current == [
            "cpu.max": "max 100000\n", "cpu.weight": "100\n", "cpu.idle": "0\n", "cgroup.freeze": "0\n", "memory.high": "max\n",
        ])
        #expect(targets[0].memoryCurrentBytes == 1 << 30)
        #expect(targets[1].current.isEmpty && targets[1].memoryCurrentBytes == nil)
        #expect(targets[2].current == ["CPUQuotaPerSecUSec": "infinity"])
    }

    @Test func aSampleFromTheFixturesDrivesTheGovernor() throws {
        let reader = GovernorCgroupReader(cgroupRoot: GovernorFixtures.root + "/cgroup")
        let memory = try host.memoryInfo().get()
        let sample = GovernorSample(
            at: MonotonicInstant(usec: 1_000_000),
            protectedCPU: try reader.pressure(.cpu, ofGroup: "trading.slice/trading-critical.slice").get(),
            loadPerCPUHundredths: try host.loadPerCPUHundredths(onlineCPUs: 2).get(), memoryUsed: memory.used,
            swapUsedBytes: memory.swapUsedBytes,
            cpuBusy: try host.cpuTimes(file: "stat.later").get().busy(since: host.cpuTimes().get()))
        let targets = reader.observe([GovernorTarget(name: "batch.slice", path: "batch.slice", priority: .batch)])
        let decision = Governor.decide(state: .initial(at: .zero), sample: sample, targets: targets, settings: GovernorSettings())
        #expect(decision.state.tier == .critical)
        #expect(decision.actions.first == .apply(target: "batch.slice", path: "batch.slice", writes: [
            CgroupWrite("cpu.max", "50000 100000"), CgroupWrite("cpu.weight", "1"),
        ]))
        #expect(decision.state.changes.map(\.previous) == ["max 100000", "100"])
    }
}

@Suite struct GovernorAlertTests {
    struct Failing: GovernorAlertSink {
        var name: String { "failing" }
        func deliver(_ alert: GovernorAlert) -> Result<Void, GovernorAlertDeliveryError> {
            .failure(GovernorAlertDeliveryError(sink: name, reason: "refused"))
        }
    }

    /// Blocks until released: a webhook whose server hangs.
    final class Hanging: GovernorAlertSink, @unchecked Sendable {
        let release = TestSignal()
        let entered = TestSignal()
        var name: String { "hanging" }
        func deliver(_ alert: GovernorAlert) -> Result<Void, GovernorAlertDeliveryError> {
            entered.post()
            _ = release.wait(seconds: 30)
            return .success(())
        }
    }

    final class Failures: @unchecked Sendable {
        var items: [GovernorAlertDeliveryError] = []
    }

    static let alert = GovernorAlert(
        rule: "tier-critical", at: .zero, from: .normal, to: .critical, readings: [],
        text: "Warden governor normal → critical (signals); \"quoted\"\n\tnext\u{1}")

    @Test func aHangingSinkNeverBlocksPosting() {
        let hanging = Hanging()
        let dispatcher = GovernorAlertDispatcher(sinks: [hanging], maximumPending: 3)
        #expect(dispatcher.post(Self.alert))
        #expect(hanging.entered.wait())
        // One in the sink, two waiting: the next is dropped, at once.
        #expect(dispatcher.post(Self.alert))
        #expect(dispatcher.post(Self.alert))
        #expect(!dispatcher.post(Self.alert))
        #expect(dispatcher.dropped == 1)
        for _ in 0..<3 { hanging.release.post() }
        dispatcher.drain()
        #expect(dispatcher.post(Self.alert))
        hanging.release.post()
        dispatcher.drain()
    }

    @Test func failuresAreReportedAndTheOtherSinksStillGetTheAlert() {
        let failures = Failures()
        let delivered = TestSignal()
        struct Counting: GovernorAlertSink {
            let signal: TestSignal
            var name: String { "counting" }
            func deliver(_ alert: GovernorAlert) -> Result<Void, GovernorAlertDeliveryError> {
                signal.post()
                return .success(())
            }
        }
        let dispatcher = GovernorAlertDispatcher(sinks: [Failing(), Counting(signal: delivered)]) { failures.items.append($0) }
        dispatcher.post(Self.alert)
        dispatcher.drain()
        #expect(delivered.wait(seconds: 1))
        #expect(failures.items.map(\.description) == ["alert sink failing: refused"])
    }

    @Test func webhookPayloadIsSlackAndDiscordJSON() {
        #expect(WebhookAlerts.payload(Self.alert) == #"{"text":"Warden governor normal → critical (signals); \"quoted\"\n\tnext\u0001","content":"Warden governor normal → critical (signals); \"quoted\"\n\tnext\u0001"}"#)
        var settings = GovernorSettings()
        #expect(WebhookAlerts.sinks(settings, logger: .init(label: "test")).map(\.name) == ["log"])
        settings.alertWebhooks = ["https://hooks.slack.com/services/T0/B0/secret"]
        // The token in the path never reaches a log line through the sink's name.
        #expect(
            WebhookAlerts.sinks(settings, logger: .init(label: "test")).map(\.name) == ["log", "webhook https://hooks.slack.com/…"])
    }

    @Test func theLogSinkDelivers() {
        let sink = LogAlertSink(logger: .init(label: "test"))
        #expect((try? sink.deliver(Self.alert).get()) != nil)
    }
}

@Suite struct GovernorSamplerTests {
    @Test func aSampleOfTheFixtureHost() {
        var sampler = GovernorSampler(
            host: HostSignalReader(procRoot: GovernorFixtures.root + "/host/proc"),
            cgroups: GovernorCgroupReader(cgroupRoot: GovernorFixtures.root + "/cgroup"),
            protectedGroup: "trading.slice/trading-critical.slice", onlineCPUs: 2)
        #expect(sampler.pressurePath(.cpu) == GovernorFixtures.root + "/cgroup/trading.slice/trading-critical.slice/cpu.pressure")
        let (first, errors) = sampler.sample(at: .zero, firedTriggers: [FiredTrigger(resource: .cpu, level: .critical)])
        #expect(errors.isEmpty)
        #expect(first.protectedCPU?.someAvg10 == Percentage(hundredths: 9825))
        #expect(first.loadPerCPUHundredths == 321)
        #expect(first.cpuBusy == nil)  // needs two readings
        #expect(first.firedTriggers.count == 1)
        let (second, _) = sampler.sample(at: MonotonicInstant(usec: 1))
        #expect(second.cpuBusy == nil)  // same fixture twice: no tick passed
    }

    /// One busy tick in a window of a few must not read as 100 %: too short a window
    /// gives no reading and keeps its baseline, so the next sample spans the longer time.
    @Test func cpuUseIsJudgedOnlyOverEnoughTicks() {
        let proc = SeededCgroupTree()  // a temporary directory standing in for /proc
        var sampler = GovernorSampler(
            host: HostSignalReader(procRoot: proc.root), cgroups: nil, protectedGroup: nil, onlineCPUs: 2)
        proc.write("stat", "cpu  1000 0 0 1000 0 0 0 0 0 0\n")
        #expect(sampler.sample(at: .zero).0.cpuBusy == nil)  // the baseline
        proc.write("stat", "cpu  1010 0 0 1000 0 0 0 0 0 0\n")  // 10 ticks, all busy
        #expect(sampler.sample(at: MonotonicInstant(usec: 50_000)).0.cpuBusy == nil)
        proc.write("stat", "cpu  1010 0 0 1090 0 0 0 0 0 0\n")  // 100 ticks since the baseline, 10 busy
        #expect(sampler.sample(at: MonotonicInstant(usec: 500_000)).0.cpuBusy == Percentage(hundredths: 1000))
    }

    /// A trigger after a calm spell: CPU use since the last sample, minutes ago, would read a
    /// few per cent. The stale baseline gives no reading; a fresh one is taken and the
    /// sample a quarter of a second later judges the overload alone.
    @Test func aStaleBaselineIsReplacedAndReadSoonAfter() {
        let (proc, fresh) = Self.twoCPUSampler()
        var sampler = fresh
        #expect(sampler.sample(at: .zero).0.cpuBusy == nil)
        #expect(sampler.cpuUseReadableAt == MonotonicInstant(usec: GovernorSampler.shortestCPUUseSpan.usec))
        proc.write("stat", "cpu  1100 0 0 1900 0 0 0 0 0 0\n")  // 1000 ticks, 10 % busy, over 1 s
        #expect(sampler.sample(at: MonotonicInstant(usec: 1_000_000)).0.cpuBusy == Percentage(hundredths: 1000))
        #expect(sampler.cpuUseReadableAt == nil)
        // Ten minutes of calm, then the overload: the reading would be diluted to about 10 %.
        proc.write("stat", "cpu  13100 0 0 109900 0 0 0 0 0 0\n")
        #expect(sampler.sample(at: MonotonicInstant(usec: 601_000_000)).0.cpuBusy == nil)
        let due = try! #require(sampler.cpuUseReadableAt)
        #expect(due == MonotonicInstant(usec: 601_000_000).advanced(by: GovernorSampler.shortestCPUUseSpan))
        proc.write("stat", "cpu  13160 0 0 109900 0 0 0 0 0 0\n")  // 60 ticks, all busy
        #expect(sampler.sample(at: due).0.cpuBusy == Percentage(percent: 100))
        #expect(sampler.cpuUseReadableAt == nil)
    }

    /// A trigger shortly after a quiet sample: its own reading still spans the quiet time
    /// (here 50 %); the follow-up judges only the moments since the trigger.
    @Test func aTriggerStartsAFreshBaselineForItsFollowUp() {
        let (proc, fresh) = Self.twoCPUSampler()
        var sampler = fresh
        _ = sampler.sample(at: .zero)
        proc.write("stat", "cpu  1000 0 0 1100 0 0 0 0 0 0\n")  // 0.5 s quiet
        #expect(sampler.sample(at: MonotonicInstant(usec: 500_000)).0.cpuBusy == Percentage(percent: 0))
        #expect(sampler.cpuUseReadableAt == nil)  // no trigger, no follow-up
        proc.write("stat", "cpu  1100 0 0 1200 0 0 0 0 0 0\n")  // 0.5 s quiet, 0.5 s overload
        let trigger = MonotonicInstant(usec: 1_500_000)
        let (triggered, _) = sampler.sample(at: trigger, firedTriggers: [FiredTrigger(resource: .cpu, level: .warning)])
        #expect(triggered.cpuBusy == Percentage(percent: 50))
        let due = try! #require(sampler.cpuUseReadableAt)
        #expect(due == trigger.advanced(by: GovernorSampler.shortestCPUUseSpan))
        proc.write("stat", "cpu  1160 0 0 1200 0 0 0 0 0 0\n")
        #expect(sampler.sample(at: due).0.cpuBusy == Percentage(percent: 100))
        #expect(sampler.cpuUseReadableAt == nil)
    }

    /// A follow-up a few ticks short looks again once the missing ticks are due, instead of
    /// leaving the judgement to the next regular sample a second later.
    @Test func aShortFollowUpLooksAgainForTheMissingTicks() {
        let (proc, fresh) = Self.twoCPUSampler()
        var sampler = fresh
        _ = sampler.sample(at: .zero, firedTriggers: [FiredTrigger(resource: .cpu, level: .warning)])
        let due = try! #require(sampler.cpuUseReadableAt)
        proc.write("stat", "cpu  1040 0 0 1000 0 0 0 0 0 0\n")  // 40 of the 50 ticks
        #expect(sampler.sample(at: due).0.cpuBusy == nil)
        let hz = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        // 10 ticks missing on 2 CPUs: 5 each, and one for the tick a reading may be short.
        #expect(sampler.cpuUseReadableAt == due.advanced(by: TimeSpan(usec: 6 * 1_000_000 / hz)))
        proc.write("stat", "cpu  1052 0 0 1000 0 0 0 0 0 0\n")
        #expect(sampler.sample(at: sampler.cpuUseReadableAt!).0.cpuBusy == Percentage(percent: 100))
        #expect(sampler.cpuUseReadableAt == nil)
    }

    @Test func aFollowUpThatNeverGetsItsTicksGivesUp() {
        let (proc, fresh) = Self.twoCPUSampler()
        var sampler = fresh
        _ = sampler.sample(at: .zero, firedTriggers: [FiredTrigger(resource: .cpu, level: .warning)])
        #expect(sampler.sample(at: MonotonicInstant(usec: 300_000)).0.cpuBusy == nil)
        #expect(sampler.cpuUseReadableAt != nil)
        #expect(sampler.sample(at: MonotonicInstant(usec: 3_000_000)).0.cpuBusy == nil)
        #expect(sampler.cpuUseReadableAt == nil)
    }

    /// A host PSI wake-up is no fired trigger (no evidence in the sample) but starts a fresh
    /// CPU-use window with a follow-up all the same.
    @Test func aPressureWakeUpStartsAFreshWindowToo() {
        let (proc, fresh) = Self.twoCPUSampler()
        var sampler = fresh
        _ = sampler.sample(at: .zero)
        proc.write("stat", "cpu  1100 0 0 1100 0 0 0 0 0 0\n")
        _ = sampler.sample(at: MonotonicInstant(usec: 1_000_000))
        #expect(sampler.cpuUseReadableAt == nil)
        sampler.freshCPUWindowRequested = true
        proc.write("stat", "cpu  1150 0 0 1150 0 0 0 0 0 0\n")
        let (woken, _) = sampler.sample(at: MonotonicInstant(usec: 1_500_000))
        #expect(woken.firedTriggers.isEmpty)
        #expect(woken.cpuBusy == Percentage(percent: 50))
        #expect(sampler.cpuUseReadableAt == MonotonicInstant(usec: 1_500_000).advanced(by: GovernorSampler.shortestCPUUseSpan))
        #expect(!sampler.freshCPUWindowRequested)
    }

    @Test func theLongestSpanIsTwoWindowsOrTwoIntervals() {
        var settings = GovernorSettings()
        #expect(GovernorThresholds(settings).longestCPUUseSpan == .seconds(2))
        settings.pressureWindowSec = .seconds(5)
        #expect(GovernorThresholds(settings).longestCPUUseSpan == .seconds(10))
        settings.sampleIntervalSec = .seconds(8)
        #expect(GovernorThresholds(settings).longestCPUUseSpan == .seconds(16))
    }

    /// A temporary directory standing in for /proc with a 2-CPU /proc/stat at 1000 busy,
    /// 1000 idle ticks, and a sampler over it that judges CPU use over at most 2 s.
    static func twoCPUSampler() -> (SeededCgroupTree, GovernorSampler) {
        let proc = SeededCgroupTree()
        proc.write("stat", "cpu  1000 0 0 1000 0 0 0 0 0 0\n")
        let sampler = GovernorSampler(
            host: HostSignalReader(procRoot: proc.root), cgroups: nil, protectedGroup: nil, onlineCPUs: 2,
            longestCPUUseSpan: .seconds(2))
        return (proc, sampler)
    }

    /// Without a subtree of its own, the pressure judged is that of the group Warden and
    /// its components run in (a container's root group), not the host's /proc/pressure.
    @Test func withoutASubtreeTheOwnGroupsPressureIsJudged() {
        let own = SeededCgroupTree()
        own.write("cpu.pressure", "some avg10=42.00 avg60=10.00 avg300=1.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
        var sampler = GovernorSampler(
            host: HostSignalReader(procRoot: GovernorFixtures.root + "/host/proc"), cgroups: nil, protectedGroup: nil,
            onlineCPUs: 2)
        sampler.ownGroupDirectory = own.root
        #expect(sampler.pressurePath(.cpu) == own.root + "/cpu.pressure")
        let (sample, errors) = sampler.sample(at: .zero)
        #expect(sample.protectedCPU?.someAvg10 == Percentage(hundredths: 4200))
        // The group has no memory.pressure here: reported, not replaced by the host's.
        #expect(errors.map(\.path) == [own.root + "/memory.pressure", own.root + "/io.pressure"])
        // A subtree of its own wins: the protected group is judged.
        sampler.cgroups = GovernorCgroupReader(cgroupRoot: GovernorFixtures.root + "/cgroup")
        sampler.protectedGroup = "trading.slice/trading-critical.slice"
        #expect(sampler.pressurePath(.cpu) == GovernorFixtures.root + "/cgroup/trading.slice/trading-critical.slice/cpu.pressure")
    }

    @Test func brokenFilesAreReportedAndTheRestIsRead() {
        var sampler = GovernorSampler(
            host: HostSignalReader(procRoot: GovernorFixtures.root + "/host-nopsi/proc"), cgroups: nil, protectedGroup: nil,
            onlineCPUs: 2)
        #expect(sampler.pressurePath(.io) == GovernorFixtures.root + "/host-nopsi/proc/pressure/io")
        let (sample, errors) = sampler.sample(at: .zero)
        #expect(errors.map(\.errno) == [ENOENT, ENOENT, ENOENT])
        #expect(sample.protectedCPU == nil && sample.memoryUsed != nil && sample.loadPerCPUHundredths == 321)
    }

    /// The runbooks' collection cost was "< 25 ms for complete metrics collection": print ours.
    @Test func samplingAndDecidingCostIsPrinted() throws {
        var sampler = GovernorSampler(host: HostSignalReader(), cgroups: nil, protectedGroup: nil, onlineCPUs: 2)
        var durations: [UInt64] = []
        var decideDurations: [UInt64] = []
        var state = GovernorState.initial(at: .zero)
        let targets = (0..<50).map {
            GovernorTarget(name: "g\($0).slice", path: "g\($0).slice", priority: $0 % 3 == 0 ? .batch : .normal,
                           current: ["cpu.max": "max 100000", "cpu.weight": "100", "cgroup.freeze": "0", "memory.high": "max"])
        }
        for i in 0..<200 {
            let start = EventLoop.monotonicNanoseconds()
            let (sample, _) = sampler.sample(at: MonotonicInstant(usec: UInt64(i) * 1_000_000))
            let read = EventLoop.monotonicNanoseconds()
            state = Governor.decide(state: state, sample: sample, targets: targets, settings: GovernorSettings()).state
            let end = EventLoop.monotonicNanoseconds()
            durations.append(read - start)
            decideDurations.append(end - read)
        }
        durations.sort()
        decideDurations.sort()
        print("governor sample of /proc (6 files): median \(durations[100] / 1000) µs, max \(durations.last! / 1000) µs; "
            + "decide with 50 targets: median \(decideDurations[100] / 1000) µs, max \(decideDurations.last! / 1000) µs")
        #expect(durations.count == 200)
    }
}
