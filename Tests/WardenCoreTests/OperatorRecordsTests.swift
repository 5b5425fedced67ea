import Testing
import WardenCore

@Suite struct OperatorRecordsFileTests {
    static let records = [
        ComponentRecord(
            unit: "feed.service", process: ProcessIdentity(pid: 1234, startTimeTicks: 567_890), cgroup: "/warden.service/trading.slice/feed.service",
            invocationID: "0123456789abcdef0123456789abcdef"),
        ComponentRecord(unit: "a b.service", process: ProcessIdentity(pid: 99, startTimeTicks: 1), cgroup: "/odd path\\x/é", invocationID: "ff"),
        ComponentRecord(unit: "plain.service", process: ProcessIdentity(pid: 2, startTimeTicks: 0), cgroup: nil, invocationID: "00"),
    ]

    @Test func roundTrip() {
        let text = ComponentRecordsFile.render(Self.records)
        let parsed = ComponentRecordsFile.parse(text)
        #expect(parsed.problems.isEmpty)
        #expect(parsed.records == Self.records.sorted { $0.unit < $1.unit })
        #expect(text.hasPrefix("warden-component-records 1\n"))
        #expect(text.contains("feed.service pid=1234 start=567890 invocation=0123456789abcdef0123456789abcdef cgroup=/warden.service/trading.slice/feed.service\n"))
    }

    /// A run not yet ready carries `ready=0`; a line without the word (every ready run, and
    /// every line an older Warden wrote) is of a ready one.
    @Test func readinessIsKeptOnlyWhenNotReady() {
        let waiting = ComponentRecord(
            unit: "bot.service", process: ProcessIdentity(pid: 77, startTimeTicks: 9), cgroup: nil, invocationID: "ab", ready: false)
        let text = ComponentRecordsFile.render([waiting])
        #expect(text == "warden-component-records 1\nbot.service pid=77 start=9 invocation=ab ready=0\n")
        #expect(ComponentRecordsFile.parse(text).records == [waiting])
        let older = ComponentRecordsFile.parse("warden-component-records 1\nbot.service pid=77 start=9 invocation=ab\n")
        #expect(older.records.map(\.ready) == [true])
    }

    /// The settings fingerprint and the intent ride on the process's line; an operator's
    /// stop of a component with no process is a line of its own; a running one's stop
    /// is its record's `intent=stop`.
    @Test func intentSettingsAndOperatorStops() {
        let settings = UnitFingerprint(recorded: "00112233445566778899aabbccddeeff")!
        let records = [
            ComponentRecord(
                unit: "feed.service", process: ProcessIdentity(pid: 10, startTimeTicks: 3), cgroup: nil, invocationID: "ab",
                settings: settings, intent: .restart),
            ComponentRecord(
                unit: "gate.service", process: ProcessIdentity(pid: 11, startTimeTicks: 4), cgroup: nil, invocationID: "cd",
                settings: settings, intent: .stop),
        ]
        let text = ComponentRecordsFile.render(records, stoppedByOperator: ["cron.service", "gate.service"])
        #expect(
            text == "warden-component-records 1\n"
                + "feed.service pid=10 start=3 invocation=ab settings=00112233445566778899aabbccddeeff intent=restart\n"
                + "gate.service pid=11 start=4 invocation=cd settings=00112233445566778899aabbccddeeff intent=stop\n"
                + "cron.service stopped=operator\n")
        let parsed = ComponentRecordsFile.parse(text)
        #expect(parsed.problems.isEmpty)
        #expect(parsed.records == records)
        #expect(parsed.stoppedByOperator == ["cron.service", "gate.service"])
    }

    /// A stop that had started `ExecStop=` says so on the process's line.
    @Test func stopCommandsBegunRidesOnTheLine() {
        let record = ComponentRecord(
            unit: "db.service", process: ProcessIdentity(pid: 12, startTimeTicks: 5), cgroup: nil, invocationID: "ef",
            intent: .stop, stopCommandsBegun: true)
        let text = ComponentRecordsFile.render([record])
        #expect(text == "warden-component-records 1\ndb.service pid=12 start=5 invocation=ef intent=stop exec-stop=begun\n")
        #expect(ComponentRecordsFile.parse(text).records == [record])
        let without = ComponentRecordsFile.parse("warden-component-records 1\ndb.service pid=12 start=5 invocation=ef intent=stop\n")
        #expect(without.records.first?.stopCommandsBegun == false)
    }

    /// Lines an older Warden wrote (no settings, no intent, no stop lines) load as runs
    /// Warden meant to keep, of unknown settings.
    @Test(arguments: [
        "warden-component-records 1\nbot.service pid=77 start=9 invocation=ab\n",
        "warden-component-records 1\nbot.service pid=77 start=9 invocation=ab cgroup=/w/bot.service ready=0\n",
        "warden-component-records 1\nbot.service pid=77 start=9 invocation=ab some-newer-word=1\n",
    ])
    func olderLinesLoad(_ text: String) {
        let parsed = ComponentRecordsFile.parse(text)
        #expect(parsed.problems.isEmpty)
        #expect(parsed.records.count == 1)
        #expect(parsed.records.first?.settings == nil)
        #expect(parsed.records.first?.intent == nil)
        #expect(parsed.stoppedByOperator.isEmpty)
    }

    struct Damaged: CustomTestStringConvertible, Sendable {
        var text: String
        var records: Int
        var problems: Int
        var testDescription: String { text.debugDescription }
    }

    @Test(arguments: [
        Damaged(text: "", records: 0, problems: 0),
        Damaged(text: "warden-component-records 2\nx.service pid=5 start=1 invocation=a\n", records: 0, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service pid=5 start=1\n", records: 0, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service pid=1 start=1 invocation=a\n", records: 0, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service pid=-3 start=1 invocation=a\n", records: 0, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service pid=5 start=z invocation=a\n", records: 0, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service pid=5 start=1 invocation=a\nx.service pid=6 start=1 invocation=b\n", records: 1, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service pid=5 start=1 invocation=a\ntorn", records: 1, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service pid=5 start=1 invocation=a intent=pause\n", records: 0, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service pid=5 start=1 invocation=a settings=xyz\n", records: 0, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service stopped=someone\n", records: 0, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service pid=5 start=1 invocation=a exec-stop=ended\n", records: 0, problems: 1),
        Damaged(text: "warden-component-records 1\nx.service stopped=operator\nx.service stopped=operator\n", records: 0, problems: 1),
    ])
    func damagedLinesAreNeverRecords(_ c: Damaged) {
        let parsed = ComponentRecordsFile.parse(c.text)
        #expect(parsed.records.count == c.records)
        #expect(parsed.problems.count == c.problems)
    }
}

@Suite struct OperatorReadoptionVerdictTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var recordedCgroup: String?
        var observed: ObservedProcess?
        var configured = true
        var root: String?
        var adopt: Bool
        var testDescription: String { name }
    }

    static let start: UInt64 = 1000

    static let cases: [Case] = [
        Case(name: "no cgroups: same start time", observed: ObservedProcess(startTimeTicks: start, cgroup: "/user.slice", isZombie: false), adopt: true),
        Case(name: "PID reused: other start time", observed: ObservedProcess(startTimeTicks: start + 1, cgroup: "/user.slice", isZombie: false), adopt: false),
        Case(name: "gone", observed: nil, adopt: false),
        Case(name: "zombie", observed: ObservedProcess(startTimeTicks: start, cgroup: nil, isZombie: true), adopt: false),
        Case(name: "unit removed", observed: ObservedProcess(startTimeTicks: start, cgroup: nil, isZombie: false), configured: false, adopt: false),
        Case(
            name: "cgroups: in the recorded group", recordedCgroup: "/w/app.slice/bot.service",
            observed: ObservedProcess(startTimeTicks: start, cgroup: "/w/app.slice/bot.service", isZombie: false), root: "/w", adopt: true),
        Case(
            name: "cgroups: moved out of the recorded group", recordedCgroup: "/w/app.slice/bot.service",
            observed: ObservedProcess(startTimeTicks: start, cgroup: "/user.slice", isZombie: false), root: "/w", adopt: false),
        Case(
            name: "cgroups: right group, PID reused", recordedCgroup: "/w/app.slice/bot.service",
            observed: ObservedProcess(startTimeTicks: start + 5, cgroup: "/w/app.slice/bot.service", isZombie: false), root: "/w", adopt: false),
        Case(
            name: "cgroups: recorded group outside this Warden's subtree", recordedCgroup: "/other/bot.service",
            observed: ObservedProcess(startTimeTicks: start, cgroup: "/other/bot.service", isZombie: false), root: "/w", adopt: false),
        Case(
            name: "cgroups now, none recorded: membership unverifiable",
            observed: ObservedProcess(startTimeTicks: start, cgroup: "/w/bot.service", isZombie: false), root: "/w", adopt: false),
        Case(
            name: "cgroups recorded, none now: still in the recorded group", recordedCgroup: "/w/bot.service",
            observed: ObservedProcess(startTimeTicks: start, cgroup: "/w/bot.service", isZombie: false), adopt: true),
        Case(
            name: "cgroups recorded, none now: elsewhere", recordedCgroup: "/w/bot.service",
            observed: ObservedProcess(startTimeTicks: start, cgroup: "/x", isZombie: false), adopt: false),
        Case(
            name: "root cgroup managed", recordedCgroup: "/bot.service",
            observed: ObservedProcess(startTimeTicks: start, cgroup: "/bot.service", isZombie: false), root: "/", adopt: true),
    ]

    @Test(arguments: cases)
    func verdict(_ c: Case) {
        let record = ComponentRecord(
            unit: "bot.service", process: ProcessIdentity(pid: 321, startTimeTicks: Self.start), cgroup: c.recordedCgroup,
            invocationID: "ab")
        let verdict = Readoption.verdict(record, observed: c.observed, unitConfigured: c.configured, wardenCgroupRoot: c.root)
        if c.adopt {
            #expect(verdict == .adopt)
        } else if case .drop(let why) = verdict {
            #expect(why.contains("321") || why.contains("bot.service"), "\(why)")
        } else {
            Issue.record("adopted, expected a drop")
        }
    }
}
