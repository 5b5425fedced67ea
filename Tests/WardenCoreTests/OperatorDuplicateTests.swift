import Testing
import WardenCore

/// A process as the scanner would report it, with only what a case needs.
func scanned(
    _ pid: Int32, parent: Int32 = 1, exe: String? = "/opt/bot/bin/bot", args: [String] = ["/opt/bot/bin/bot", "--live"],
    cgroup: String? = "/user.slice", start: UInt64? = nil, state: Character = "S", uid: UInt32? = 0, cpuTicks: UInt64 = 0,
    rss: UInt64 = 4096
) -> ScannedProcess {
    ScannedProcess(
        pid: pid, parentPID: parent, name: "bot", executable: exe, arguments: args, cgroup: cgroup,
        startTimeTicks: start ?? UInt64(pid) * 10, uid: uid, state: state, cpuTicks: cpuTicks, rssBytes: rss)
}

func target(
    _ match: DuplicateMatch?, policy: DuplicatePolicy? = .refuse, exe: String = "/opt/bot/bin/bot",
    args: [String] = ["/opt/bot/bin/bot", "--live"], pidFile: Int32? = nil
) -> DuplicateTarget {
    DuplicateTarget(
        component: "bot.service", executablePath: exe, arguments: args, match: match, policy: policy, pidFilePID: pidFile)
}

func pattern(_ glob: String) -> DuplicateMatch {
    guard case .success(let p) = CommandLinePattern.parse(glob) else { fatalError("bad glob \(glob)") }
    return .pattern(p)
}

@Suite struct OperatorDuplicateMatchTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var match: DuplicateMatch?
        var process: ScannedProcess
        var pidFile: Int32? = nil
        var expected: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "executable: same exe", match: .executable, process: scanned(10), expected: true),
        Case(
            name: "executable: other arguments still match", match: .executable,
            process: scanned(10, args: ["bot", "--paper"]), expected: true),
        Case(name: "executable: other exe", match: .executable, process: scanned(10, exe: "/usr/bin/bot"), expected: false),
        Case(
            name: "executable: exe unreadable never matches", match: .executable,
            process: scanned(10, exe: nil), expected: false),
        Case(name: "exe+args: identical", match: .executableAndArguments, process: scanned(10), expected: true),
        Case(
            name: "exe+args: argv[0] differs (started by name from a shell)", match: .executableAndArguments,
            process: scanned(10, args: ["bot", "--live"]), expected: true),
        Case(
            name: "exe+args: other arguments", match: .executableAndArguments,
            process: scanned(10, args: ["/opt/bot/bin/bot", "--paper"]), expected: false),
        Case(
            name: "exe+args: extra argument", match: .executableAndArguments,
            process: scanned(10, args: ["/opt/bot/bin/bot", "--live", "-v"]), expected: false),
        Case(
            name: "exe+args: same argv, other exe (a script named like it)", match: .executableAndArguments,
            process: scanned(10, exe: "/usr/bin/python3"), expected: false),
        Case(name: "default match is exe+args", match: nil, process: scanned(10, args: ["x", "--paper"]), expected: false),
        Case(name: "default match: identical", match: nil, process: scanned(10), expected: true),
        Case(
            name: "pattern matches the joined command line", match: pattern("*strategy.py --live*"),
            process: scanned(10, exe: "/usr/bin/python3", args: ["python3", "/srv/strategy.py", "--live", "--fast"]),
            expected: true),
        Case(
            name: "pattern must match the whole line", match: pattern("strategy.py --live"),
            process: scanned(10, exe: "/usr/bin/python3", args: ["python3", "strategy.py", "--live"]), expected: false),
        Case(
            name: "pattern never matches a process without a command line", match: pattern("*"),
            process: scanned(10, args: []), expected: false),
        Case(name: "pidfile: the PID in the file", match: .pidFile("/run/bot.pid"), process: scanned(10), pidFile: 10, expected: true),
        Case(name: "pidfile: another PID", match: .pidFile("/run/bot.pid"), process: scanned(11), pidFile: 10, expected: false),
        Case(name: "pidfile: no file", match: .pidFile("/run/bot.pid"), process: scanned(10), pidFile: nil, expected: false),
        Case(name: "a zombie is never a copy", match: .executable, process: scanned(10, state: "Z"), expected: false),
        Case(name: "a dead task is never a copy", match: .executable, process: scanned(10, state: "X"), expected: false),
        Case(
            name: "a kernel thread is never a copy", match: pattern("*"), process: scanned(10, exe: nil, args: []),
            expected: false),
    ]

    @Test(arguments: cases) func matching(_ c: Case) {
        #expect(target(c.match, pidFile: c.pidFile).matches(c.process) == c.expected)
    }
}

@Suite struct OperatorDuplicateScanTests {
    @Test func wardensProcessesAndTheirDescendantsAreSupervisedNotDuplicates() {
        let processes = [
            scanned(400, exe: "/usr/bin/warden", args: ["warden", "run"]),
            scanned(410, parent: 400),
            scanned(500, parent: 1),
        ]
        let copies = DuplicateScan.find([target(.executable)], in: processes, warden: WardenProcesses(pids: [400]))
        #expect(copies.count == 1)
        #expect(copies[0].supervised.map(\.pid) == [410])
        #expect(copies[0].duplicates.map(\.pid) == [500])
    }

    @Test func processesInWardensCgroupAreWardensEvenWhenReparented() {
        let processes = [
            scanned(410, parent: 1, cgroup: "/warden.service/trading.slice/bot.service"),
            scanned(411, parent: 1, cgroup: "/warden.service-other/bot"),
            scanned(412, parent: 1, cgroup: "/warden.service"),
        ]
        let warden = WardenProcesses(cgroups: ["/warden.service"])
        let copies = DuplicateScan.find([target(.executable)], in: processes, warden: warden)
        #expect(copies[0].supervised.map(\.pid) == [410, 412])
        // A sibling cgroup whose name merely starts with Warden's is not Warden's.
        #expect(copies[0].duplicates.map(\.pid) == [411])
    }

    @Test func aForkedWorkerIsPartOfItsCopyNotAnotherOne() {
        let processes = [scanned(500), scanned(501, parent: 500), scanned(502, parent: 501), scanned(600)]
        let copies = DuplicateScan.find([target(.executable)], in: processes, warden: WardenProcesses())
        #expect(copies[0].duplicates.map(\.pid) == [500, 600])
    }

    @Test func duplicatesAreOrderedOldestFirst() {
        let processes = [scanned(700, start: 30), scanned(600, start: 50), scanned(800, start: 10)]
        let copies = DuplicateScan.find([target(.executable)], in: processes, warden: WardenProcesses())
        #expect(copies[0].duplicates.map(\.pid) == [800, 700, 600])
    }

    @Test func eachTargetIsJudgedOnItsOwn() {
        let processes = [scanned(10), scanned(20, exe: "/opt/feed/bin/feed", args: ["/opt/feed/bin/feed"])]
        let feed = DuplicateTarget(
            component: "feed.service", executablePath: "/opt/feed/bin/feed", arguments: ["/opt/feed/bin/feed"],
            match: nil, policy: .kill)
        let copies = DuplicateScan.find([target(.executable), feed], in: processes, warden: WardenProcesses())
        #expect(copies.map(\.component) == ["bot.service", "feed.service"])
        #expect(copies.map { $0.duplicates.map(\.pid) } == [[10], [20]])
        #expect(copies[1].policy == .kill)
        #expect(copies[1].match == .executableAndArguments)
    }

    @Test func membersFollowDescendantsAcrossGenerations() {
        let processes = [scanned(400), scanned(410, parent: 400), scanned(420, parent: 410), scanned(430, parent: 1)]
        #expect(WardenProcesses(pids: [400]).members(of: processes) == [400, 410, 420])
        #expect(WardenProcesses(pids: [999]).members(of: processes) == [999])
    }
}

@Suite struct OperatorDuplicatePolicyTests {
    static let one = [scanned(1234, args: ["/opt/bot/bin/bot", "--live"])]
    static let two = [scanned(1234), scanned(1240)]

    struct Case: CustomTestStringConvertible, Sendable {
        var policy: DuplicatePolicy
        var duplicates: [ScannedProcess]
        var warden: Set<Int32> = []
        var expected: DuplicateDecision
        var testDescription: String { "\(policy) with \(duplicates.map(\.pid))" }
    }

    static let cases: [Case] = [
        Case(policy: .refuse, duplicates: [], expected: .start),
        Case(policy: .kill, duplicates: [], expected: .start),
        Case(policy: .adopt, duplicates: [], expected: .start),
        Case(policy: .warn, duplicates: [], expected: .start),
        Case(policy: .refuse, duplicates: one, expected: .refuse("blocked: duplicate PID 1234 (/opt/bot/bin/bot --live)")),
        Case(
            policy: .refuse, duplicates: two,
            expected: .refuse("blocked: duplicate PIDs 1234, 1240 (/opt/bot/bin/bot --live)")),
        Case(
            policy: .warn, duplicates: one,
            expected: .startWithWarning(
                "duplicate PID 1234 (/opt/bot/bin/bot --live) running outside Warden; starting anyway (Duplicates=warn)")),
        Case(
            policy: .kill, duplicates: two,
            expected: .killThenStart([
                ProcessIdentity(pid: 1234, startTimeTicks: 12340), ProcessIdentity(pid: 1240, startTimeTicks: 12400),
            ])),
        Case(
            policy: .kill, duplicates: [scanned(1)],
            expected: .refuse(
                "blocked: duplicate PID 1 (/opt/bot/bin/bot --live); cannot kill: PID 1 is the init process and is never signalled")),
        Case(
            policy: .kill, duplicates: one, warden: [1234],
            expected: .refuse("blocked: duplicate PID 1234 (/opt/bot/bin/bot --live); cannot kill: PID 1234 is Warden's own process")),
        Case(policy: .adopt, duplicates: one, expected: .adopt(ProcessIdentity(pid: 1234, startTimeTicks: 12340))),
        Case(
            policy: .adopt, duplicates: two,
            expected: .refuse(
                "blocked: duplicate PIDs 1234, 1240 (/opt/bot/bin/bot --live); Duplicates=adopt takes over exactly one copy, 2 are running")),
    ]

    @Test(arguments: cases) func decision(_ c: Case) {
        #expect(c.policy.decide(duplicates: c.duplicates, wardenPIDs: c.warden) == c.expected)
    }

    @Test func aLongCommandLineIsAbbreviatedInTheBlockedReason() {
        let long = scanned(99, args: ["/opt/bot/bin/bot"] + Array(repeating: "--flag", count: 40))
        guard case .refuse(let reason) = DuplicatePolicy.refuse.decide(duplicates: [long]) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.hasPrefix("blocked: duplicate PID 99 (/opt/bot/bin/bot --flag"))
        #expect(reason.hasSuffix("…)"))
        #expect(reason.count < 120)
    }

    static let outcomeCases: [(DuplicateKillOutcome, Bool)] = [
        (.terminated, true), (.killed, true), (.alreadyGone, true),
        (.identityChanged(foundStartTimeTicks: 5), true), (.refused("x"), false), (.failed("x"), false),
    ]

    @Test(arguments: outcomeCases)
    func killOutcomeGone(_ outcome: DuplicateKillOutcome, _ gone: Bool) {
        #expect(outcome.isGone == gone)
    }
}

@Suite struct OperatorDuplicatesReportTests {
    static let copies = [
        ComponentCopies(
            component: "order-executor.service", policy: .refuse, match: .executableAndArguments,
            supervised: [scanned(410)],
            duplicates: [scanned(1234, args: ["/opt/trading/bin/order-executor", "--venue", "binance"], cpuTicks: 500, rss: 12_582_912)]),
        ComponentCopies(component: "feed.service", policy: .warn, match: .executable, supervised: [], duplicates: []),
    ]

    @Test func tableIsAlignedWithASummary() {
        let report = DuplicatesReport(copies: Self.copies, lifetimeCPU: { _ in 0.5 }, userName: { $0 == 0 ? "root" : String($0) })
        #expect(
            report.renderText(color: false) == """
                COMPONENT                PID  USER  CPU%       RSS  COMMAND
                order-executor.service  1234  root   0.5  12.0 MiB  /opt/trading/bin/order-executor --venue binance
                1 duplicate of 1 component — stop them with: warden duplicates --kill

                """)
        #expect(report.duplicatesRemain)
    }

    @Test func killResultsAddAColumnAndDetails() {
        let outcomes: [ProcessIdentity: DuplicateKillOutcome] = [
            ProcessIdentity(pid: 1234, startTimeTicks: 12340): .identityChanged(foundStartTimeTicks: 777)
        ]
        let report = DuplicatesReport(
            copies: Self.copies, lifetimeCPU: { _ in 0 }, userName: { _ in "root" }, killOutcomes: outcomes)
        let text = report.renderText(color: false)
        #expect(text.contains("RESULT"))
        #expect(text.contains("identity-changed"))
        #expect(text.contains("PID 1234: not signalled: the PID now names another process (start time 777)"))
        #expect(text.hasSuffix("1 duplicate of 1 component; none left running\n"))
        #expect(!report.duplicatesRemain)
    }

    @Test func nothingFound() {
        let report = DuplicatesReport(copies: [Self.copies[1]], lifetimeCPU: { _ in 0 }, userName: { _ in "root" })
        #expect(report.renderText(color: false) == "no duplicates (1 component checked)\n")
        #expect(!report.duplicatesRemain)
    }
}

/// `warden duplicates` with no configuration: the same executable with the same arguments.
@Suite struct SameCommandGroupTests {
    static func process(
        _ pid: Int32, parent: Int32 = 500, _ arguments: [String], executable: String? = "/usr/bin/python3",
        started: UInt64 = 0, state: Character = "S", file: FileIdentity? = nil
    ) -> ScannedProcess {
        ScannedProcess(
            pid: pid, parentPID: parent, name: "p", executable: executable, arguments: arguments, cgroup: nil,
            startTimeTicks: started == 0 ? UInt64(pid) : started, uid: 0, state: state, cpuTicks: 0, rssBytes: 0,
            executableFile: file)
    }

    static let shells: Set<String> = ["/usr/bin/bash", "/usr/bin/dash"]

    /// `(name, process table, the groups as "kept: duplicates" lists)`.
    static let tables: [(String, [ScannedProcess], [String])] = [
        (
            "two copies of a bot without arguments",
            [process(10, ["./bot"], executable: "/opt/bot/bot"), process(11, ["/opt/bot/bot"], executable: "/opt/bot/bot")],
            ["10: 11"]
        ),
        (
            "a third copy with other arguments is no copy",
            [
                process(10, ["sleep", "12345678"], executable: "/usr/bin/sleep"),
                process(11, ["sleep", "12345678"], executable: "/usr/bin/sleep"),
                process(12, ["sleep", "12345679"], executable: "/usr/bin/sleep"),
            ],
            ["10: 11"]
        ),
        (
            "a prefork pool (children keep the parent's argv) is one instance",
            [
                process(10, ["gunicorn", "app:api"], executable: "/usr/bin/python3"),
                process(11, parent: 10, ["gunicorn", "app:api"], executable: "/usr/bin/python3"),
                process(12, parent: 10, ["gunicorn", "app:api"], executable: "/usr/bin/python3"),
            ],
            []
        ),
        (
            "two prefork pools are two instances; their workers are not listed",
            [
                process(10, ["gunicorn", "app:api"]), process(11, parent: 10, ["gunicorn", "app:api"]),
                process(20, ["gunicorn", "app:api"]), process(21, parent: 20, ["gunicorn", "app:api"]),
            ],
            ["10: 20"]
        ),
        (
            "workers that rewrite their title are no group (nginx, postgres)",
            [
                process(10, ["nginx: master process /usr/sbin/nginx"], executable: "/usr/sbin/nginx"),
                process(11, parent: 10, ["nginx: worker process"], executable: "/usr/sbin/nginx"),
                process(12, parent: 10, ["nginx: worker process"], executable: "/usr/sbin/nginx"),
            ],
            []
        ),
        (
            "the same file under two paths is one program",
            [
                process(10, ["bot", "--live"], executable: "/opt/a/bot", file: FileIdentity(device: 1, inode: 7)),
                process(11, ["bot", "--live"], executable: "/opt/b/bot", file: FileIdentity(device: 1, inode: 7)),
            ],
            ["10: 11"]
        ),
        (
            "another file under the same path (an upgrade) is another program",
            [
                process(10, ["bot", "--live"], executable: "/opt/bot", file: FileIdentity(device: 1, inode: 7)),
                process(11, ["bot", "--live"], executable: "/opt/bot", file: FileIdentity(device: 1, inode: 8)),
            ],
            []
        ),
        (
            "login shells without arguments are sessions, not copies; scripts are",
            [
                process(10, ["-bash"], executable: "/usr/bin/bash"), process(11, ["bash"], executable: "/usr/bin/bash"),
                process(12, ["bash", "run.sh"], executable: "/usr/bin/bash"),
                process(13, ["bash", "run.sh"], executable: "/usr/bin/bash"),
            ],
            ["12: 13"]
        ),
        (
            "kernel threads, zombies and PID 1 are never members",
            [
                process(1, ["init"], executable: "/sbin/init"), process(2, ["init"], executable: "/sbin/init"),
                process(30, [], executable: nil), process(31, [], executable: nil),
                process(40, ["x", "y"], state: "Z"), process(41, ["x", "y"]),
            ],
            []
        ),
        (
            "the oldest is kept, by start time, not by PID",
            [process(90, ["python3", "bot.py"], started: 5), process(20, ["python3", "bot.py"], started: 9)],
            ["90: 20"]
        ),
    ]

    @Test(arguments: tables.indices)
    func groupsOfAProcessTable(_ index: Int) {
        let (name, processes, expected) = Self.tables[index]
        let groups = DuplicateScan.sameCommandGroups(in: processes, excluding: [], loginShells: Self.shells)
        let found = groups.map { group in
            "\(group.supervised.map(\.pid)[0]): " + group.duplicates.map { String($0.pid) }.joined(separator: " ")
        }
        #expect(found == expected, "\(name)")
    }

    @Test func twoCopiesOfTheBotAreOneGroupOldestKept() {
        let processes = [
            Self.process(30, ["python3", "bot.py"], started: 300),
            Self.process(20, ["python3", "bot.py"], started: 100),
            Self.process(40, ["python3", "bot.py", "--paper"]),
            Self.process(50, ["bash"], executable: "/usr/bin/bash"),
            Self.process(51, ["bash"], executable: "/usr/bin/bash"),
        ]
        let groups = DuplicateScan.sameCommandGroups(in: processes, excluding: [], loginShells: Self.shells)
        #expect(groups.map(\.component) == ["python3 bot.py"])
        #expect(groups.first?.supervised.map(\.pid) == [20])
        #expect(groups.first?.duplicates.map(\.pid) == [30])
    }

    /// Workers forked by a copy, kernel threads, zombies, PID 1 and the excluded (the
    /// command's own tree, Warden's) are never copies.
    @Test func workersAndTheProtectedAreNotCopies() {
        let processes = [
            Self.process(20, ["python3", "bot.py"]),
            Self.process(21, parent: 20, ["python3", "bot.py"]),
            Self.process(22, parent: 20, ["python3", "bot.py"]),
            Self.process(30, ["python3", "bot.py"], state: "Z"),
            Self.process(1, ["python3", "bot.py"]),
            Self.process(60, ["kworker"], executable: nil),
            Self.process(61, ["kworker"], executable: nil),
            Self.process(70, ["python3", "bot.py"]),
        ]
        #expect(DuplicateScan.sameCommandGroups(in: processes, excluding: [70]).isEmpty)
        let withSeventy = DuplicateScan.sameCommandGroups(in: processes, excluding: [])
        #expect(withSeventy.first?.duplicates.map(\.pid) == [70])
    }

    @Test func longCommandsAreShortenedInTheName() {
        let long = ["python3", String(repeating: "x", count: 200)]
        let groups = DuplicateScan.sameCommandGroups(in: [Self.process(1_000, long), Self.process(1_001, long)], excluding: [])
        #expect(groups.first?.component.count == 60)
        #expect(groups.first?.component.hasSuffix("…") == true)
    }
}

/// `warden emergency on` without `--target`: the host's slices minus those that hold
/// Warden or a critical process, each named with the reason.
@Suite struct ThrottleSliceGuardTests {
    static let daemon = ProtectedProcess(cgroup: "/system.slice/warden.service", what: "the Warden daemon (PID 812)")
    static let critical = ProtectedProcess(
        cgroup: "/user.slice/user-0.slice/session-3.scope", what: "feed.service (Priority=critical, PID 904)")
    static let nested = ProtectedProcess(cgroup: "/trading.slice/trading-critical.slice/bot.scope", what: "bot")

    @Test(arguments: [
        ([ProtectedProcess](), ["system.slice", "user.slice"], [String]()),
        ([daemon], ["user.slice"], ["system.slice is not throttled: it holds the Warden daemon (PID 812)"]),
        (
            [daemon, critical], [],
            [
                "system.slice is not throttled: it holds the Warden daemon (PID 812)",
                "user.slice is not throttled: it holds feed.service (Priority=critical, PID 904)",
            ]
        ),
        ([nested], ["system.slice", "user.slice"], []),
        ([ProtectedProcess(cgroup: "/", what: "init")], ["system.slice", "user.slice"], []),
    ])
    func hostSlicesMinusTheProtected(protected: [ProtectedProcess], kept: [String], skipped: [String]) {
        let split = ThrottleSliceGuard.split(["system.slice", "user.slice"], protecting: protected)
        #expect(split.kept == kept)
        #expect(split.skipped.map(\.description) == skipped)
    }

    @Test func aNestedSliceIsHeldThroughItsParents() {
        let split = ThrottleSliceGuard.split(["trading.slice", "trading-critical.slice"], protecting: [Self.nested])
        #expect(split.kept.isEmpty)
    }
}

@Suite struct WardenDaemonRecognitionTests {
    static func process(_ pid: Int32, _ executable: String, _ arguments: [String], cgroup: String? = "/system.slice/w.service")
        -> ScannedProcess
    {
        ScannedProcess(
            pid: pid, parentPID: 1, name: "w", executable: executable, arguments: arguments, cgroup: cgroup, startTimeTicks: 1,
            uid: 0, state: "S", cpuTicks: 0, rssBytes: 0)
    }

    @Test func theDaemonIsKnownByItsProgram() {
        let processes = [
            Self.process(10, "/usr/local/bin/warden-daemon", ["warden-daemon", "run", "--config", "/etc/w.conf"]),
            Self.process(11, "/usr/local/bin/warden", ["warden", "run"]),
            Self.process(12, "/usr/local/bin/warden", ["warden", "emergency", "on"]),
            Self.process(13, "/usr/bin/sleep", ["sleep", "run"]),
            Self.process(14, "/usr/local/bin/warden-daemon", ["warden-daemon"], cgroup: nil),
            Self.process(15, "/usr/local/bin/warden-daemon", ["warden-daemon"]),
        ]
        let found = ProtectedProcess.wardenDaemons(in: processes, excluding: [15])
        #expect(found.map(\.what) == ["the Warden daemon (PID 10)", "the Warden daemon (PID 11)"])
    }
}
