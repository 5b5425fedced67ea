import Glibc
import Testing
import WardenCore
@testable import WardenLinux

enum OperatorFixture {
    static let procRoot = DocumentationTests.repositoryRoot + "/Tests/fixtures/proc"

    /// A sleep this test owns, with an argument no other test uses, so scans find only it.
    static func sleep(_ seconds: String, request: (inout SpawnRequest) -> Void = { _ in }) throws -> SpawnedProcess {
        var r = SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", seconds])
        r.stdin = .null
        request(&r)
        let process = try spawnProcess(r)
        // The spawn returns when the exec has begun; the kernel sets the new command line
        // a little later, and a scan in between sees an empty one.
        let deadline = monotonicSeconds() + 10
        while monotonicSeconds() < deadline,
            ((try? LocalFileSystem().readFile("/proc/\(process.pid)/cmdline")) ?? "").isEmpty
        {
            usleep(1_000)
        }
        return process
    }

    /// A unique sleep duration such as `7301.4821`.
    static func uniqueSeconds() -> String {
        "73\(Int.random(in: 10...99)).\(getpid() % 10000)\(Int.random(in: 100...999))"
    }

    /// True while the process is alive and not a zombie.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? LocalFileSystem().readFile("/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    static func temporaryDirectory() -> String {
        var template = Array("/tmp/warden-operator-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
}

@Suite struct OperatorScannerTests {
    let processes = ProcScanner(procRoot: OperatorFixture.procRoot, pageSize: 4096).scan()

    func process(_ pid: Int32) -> ScannedProcess? { processes.first { $0.pid == pid } }

    @Test func everyProcessDirectoryIsReadAndNothingElse() {
        #expect(processes.map(\.pid).sorted() == [1, 2, 400, 410, 900, 1234, 1240, 1300, 2000, 2100, 2200, 2300, 2400])
    }

    @Test func fieldsOfAnOrdinaryProcess() throws {
        let p = try #require(process(1234))
        #expect(p.parentPID == 900)
        #expect(p.name == "order-executor")
        #expect(p.executable == "/opt/trading/bin/order-executor")
        #expect(!p.executableDeleted)
        #expect(p.arguments == ["/opt/trading/bin/order-executor", "--venue", "binance"])
        #expect(p.cgroup == "/user.slice/user-0.slice/session-3.scope")
        #expect(p.startTimeTicks == 9_000_000)
        #expect(p.uid == Self.fixtureOwner)
        #expect(p.state == "S")
        #expect(p.cpuTicks == 5000)
        #expect(p.rssBytes == 3000 * 4096)
    }

    @Test func aCommandNameWithParenthesesAndSpacesDoesNotShiftTheFields() throws {
        let p = try #require(process(2200))
        #expect(p.name == "evil) (name")
        #expect(p.parentPID == 900)
        #expect(p.startTimeTicks == 9_200_000)
        #expect(p.cpuTicks == 800)
        #expect(p.commandLine == "python3 /opt/trading/strategy.py --live")
    }

    @Test func aReplacedBinaryIsReportedWithoutTheDeletedSuffix() throws {
        let p = try #require(process(2400))
        #expect(p.executable == "/opt/trading/bin/risk-engine")
        #expect(p.executableDeleted)
    }

    @Test func kernelThreadsAndZombies() throws {
        let kthreadd = try #require(process(2))
        #expect(kthreadd.isKernelThread)
        #expect(kthreadd.commandLine == "[kthreadd]")
        let zombie = try #require(process(2100))
        #expect(zombie.state == "Z")
        #expect(zombie.hasExited)
        #expect(zombie.arguments.isEmpty)
    }

    /// The user of a process is the owner of its /proc files; in the fixture, whoever checked it out.
    static var fixtureOwner: UInt32 {
        var info = stat()
        return stat(OperatorFixture.procRoot + "/2000/stat", &info) == 0 ? info.st_uid : UInt32.max
    }

    @Test func onlyTheFieldsAskedForAreRead() throws {
        let scanner = ProcScanner(procRoot: OperatorFixture.procRoot, pageSize: 4096)
        let bare = try #require(scanner.scan([]).first { $0.pid == 1234 })
        #expect(bare.executable == nil && bare.arguments.isEmpty && bare.cgroup == nil && bare.uid == nil)
        #expect(bare.startTimeTicks == 9_000_000 && bare.parentPID == 900 && bare.cpuTicks == 5000)
        let full = try #require(scanner.complete(bare, with: .all))
        #expect(full == process(1234))
        var stale = bare
        stale.startTimeTicks += 1
        #expect(scanner.complete(stale, with: .all) == nil)
    }

    @Test func theStagedDetectorFindsWhatTheFullScanFinds() {
        let oe = DuplicateTarget(
            component: "order-executor.service", executablePath: "/opt/trading/bin/order-executor",
            arguments: ["/opt/trading/bin/order-executor", "--venue", "binance"], match: nil, policy: .refuse)
        let feed = DuplicateTarget(
            component: "market-data.service", executablePath: "/opt/trading/bin/market-data", arguments: [],
            match: .pidFile("/run/md.pid"), policy: .kill, pidFilePID: 2300)
        let warden = WardenProcesses(pids: [400])
        var detector = DuplicateDetector(procRoot: OperatorFixture.procRoot)
        detector.scanner.pageSize = 4096
        let staged = detector.detect([oe, feed], warden: warden)
        #expect(staged.copies == DuplicateScan.find([oe, feed], in: processes, warden: warden))
        #expect(staged.copies.map { $0.duplicates.map(\.pid) } == [[1234], [2300]])
        // Non-candidates were never completed: the IDE renderer's command line was not read.
        #expect(staged.processes.first { $0.pid == 2000 }?.arguments == [])
        // A warden cgroup makes every cgroup needed.
        let byCgroup = detector.detect([oe], warden: WardenProcesses(cgroups: ["/system.slice/warden.service"]))
        #expect(byCgroup.copies[0].supervised.map(\.pid) == [410])
    }

    @Test func duplicatesInTheFixtureScenario() {
        let oe = DuplicateTarget(
            component: "order-executor.service", executablePath: "/opt/trading/bin/order-executor",
            arguments: ["/opt/trading/bin/order-executor", "--venue", "binance"], match: nil, policy: .refuse)
        guard case .success(let glob) = CommandLinePattern.parse("*strategy.py --live*") else { return }
        let strategy = DuplicateTarget(
            component: "strategy.service", executablePath: "/usr/bin/python3", arguments: [], match: .pattern(glob), policy: .warn)
        let risk = DuplicateTarget(
            component: "risk-engine.service", executablePath: "/opt/trading/bin/risk-engine", arguments: [], match: .executable,
            policy: .kill)
        let copies = DuplicateScan.find([oe, strategy, risk], in: processes, warden: WardenProcesses(pids: [400]))
        #expect(copies[0].supervised.map(\.pid) == [410])
        // 1240 is 1234's worker; 1300 trades on another venue.
        #expect(copies[0].duplicates.map(\.pid) == [1234])
        #expect(copies[1].duplicates.map(\.pid) == [2200])
        #expect(copies[2].duplicates.map(\.pid) == [2400])
        #expect(
            DuplicatePolicy.refuse.decide(duplicates: copies[0].duplicates)
                == .refuse("blocked: duplicate PID 1234 (/opt/trading/bin/order-executor --venue binance)"))
    }

    @Test func thisVeryProcessAsTheLiveScannerSeesIt() throws {
        let me = try #require(ProcScanner().scan().first { $0.pid == getpid() })
        #expect(me.executable == DuplicateTargets.canonicalPath("/proc/self/exe"))
        #expect(me.arguments == CommandLine.arguments)
        #expect(me.uid == geteuid())
        #expect(me.parentPID == getppid())
        #expect(me.startTimeTicks == ProcessControl.startTime(of: getpid()))
        #expect(me.rssBytes > 0)
        #expect(me.cgroup != nil || (try? LocalFileSystem().readFile("/proc/self/cgroup"))?.contains("0::") != true)
        #expect(ProcScanner().process(getpid())?.pid == getpid())
        #expect(ProcScanner().process(Int32.max) == nil)
    }

    @Test func aLiveCopyOfAConfiguredComponentIsFound() throws {
        let seconds = OperatorFixture.uniqueSeconds()
        let supervised = try OperatorFixture.sleep(seconds)
        let stray = try OperatorFixture.sleep(seconds)
        let other = try OperatorFixture.sleep(seconds + "1")
        defer { [supervised, stray, other].forEach(TestProcess.kill) }

        let directory = OperatorFixture.temporaryDirectory()
        let unit = "[Service]\nExecStart=/bin/sleep \(seconds)\n[X-Warden]\nDuplicates=refuse\n"
        _ = unit.withCString { text in
            let fd = open(directory + "/sleeper.service", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            defer { close(fd) }
            return write(fd, text, strlen(text))
        }
        let loaded = ConfigurationLoader(fileSystem: LocalFileSystem(), specifiers: SpecifierContext(hostname: "test"))
            .load(configPath: nil, unitDirectories: [directory])
        let configuration = try #require(loaded.configuration, "\(loaded.diagnostics)")
        let targets = DuplicateTargets.resolve(configuration, searchPath: ConfigurationLoader.systemdExecutableSearchPath)
        #expect(targets.first?.executablePath == DuplicateTargets.canonicalPath("/bin/sleep"))

        // The supervised sleep plays Warden's child; the test process itself must not be
        // Warden here, or every sleep it started would count as Warden's.
        let copies = DuplicateScan.find(targets, in: ProcScanner().scan(), warden: WardenProcesses(pids: [supervised.pid]))
        #expect(copies[0].supervised.map(\.pid) == [supervised.pid])
        #expect(copies[0].duplicates.map(\.pid) == [stray.pid])
        guard case .refuse(let reason) = copies[0].policy.decide(duplicates: copies[0].duplicates) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason == "blocked: duplicate PID \(stray.pid) (sleep \(seconds))")
    }
}
