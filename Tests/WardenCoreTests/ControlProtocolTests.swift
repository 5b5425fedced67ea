import Testing
@testable import WardenCore

@Suite struct ControlProtocolTests {
    @Test(arguments: [
        (ControlRequest(v: 2, id: 1, op: .status), ControlErrorCode.unsupportedVersion),
        (ControlRequest(id: 1, op: .start), .malformed),
        (ControlRequest(id: 1, op: .logs, unit: "  "), .malformed),
        (ControlRequest(id: 1, op: .logs, unit: "a", lines: 0), .malformed),
        (ControlRequest(id: 1, op: .logs, unit: "a", lines: 10_001), .malformed),
    ])
    func invalidRequests(request: ControlRequest, code: ControlErrorCode) {
        guard case .failure(let error) = request.validated() else {
            Issue.record("accepted \(request)")
            return
        }
        #expect(error.code == code)
    }

    @Test func unknownOperationIsUnsupportedNotMalformed() {
        var request = ControlRequest(id: 3, op: .status)
        request.op = "frobnicate"
        guard case .failure(let error) = request.validated() else {
            Issue.record("accepted")
            return
        }
        #expect(error.code == .unsupportedOperation)
        #expect(error.message.contains("reset-failed"))
    }

    @Test(arguments: ControlOperation.allCases)
    func validRequests(operation: ControlOperation) {
        let request = ControlRequest(id: 1, op: operation, unit: operation.needsUnit ? "feed" : nil)
        #expect(request.validated() == .success(operation))
    }

    @Test func candidateNames() {
        #expect(ControlRequest.candidateNames("feed") == ["feed", "feed.service"])
        #expect(ControlRequest.candidateNames("feed.service") == ["feed.service"])
    }

    @Test(arguments: [
        // uid, groups, operation, allowed
        (UInt32(0), [UInt32](), ControlOperation.stop, true),
        (1000, [100], .stop, true),  // control group 100
        (1000, [1000, 200], .status, true),  // read-only group 200
        (1000, [1000, 200], .logs, true),
        (1000, [1000, 200], .restart, false),
        (1000, [1000, 200], .reload, false),
        (65534, [65534], .status, false),
        (1000, [1000, 200], .configSource, true),  // read-only: which configuration runs
        (65534, [65534], .configSource, false),
    ])
    func access(uid: UInt32, groups: [UInt32], operation: ControlOperation, allowed: Bool) {
        let policy = ControlAccessPolicy(controlGroupID: 100, readOnlyGroupID: 200)
        let error = policy.check(operation, userID: uid, groupIDs: groups)
        #expect((error == nil) == allowed)
        if let error { #expect(error.code == .forbidden) }
    }

    @Test func noGroupsConfiguredMeansRootOnly() {
        let policy = ControlAccessPolicy()
        #expect(policy.grant(userID: 0, groupIDs: []) == .all)
        #expect(policy.grant(userID: 1, groupIDs: [0]) == .none)
    }

    @Test func framerSplitsLinesAcrossChunks() {
        var framer = ControlLineFramer(maximumLineBytes: 16)
        #expect(framer.feed(Array("{\"a\"".utf8)) == [])
        #expect(framer.feed(Array(":1}\r\n{}\nxy".utf8)) == [.line(Array("{\"a\":1}".utf8)), .line(Array("{}".utf8))])
        #expect(framer.pendingByteCount == 2)
    }

    @Test func framerCapsLongLines() {
        var framer = ControlLineFramer(maximumLineBytes: 16)
        #expect(framer.feed([UInt8](repeating: 0x61, count: 16)) == [])
        #expect(framer.feed([0x61, 0x0A]) == [.tooLarge])
        // Exactly at the cap plus newline is fine.
        var exact = ControlLineFramer(maximumLineBytes: 4)
        #expect(exact.feed(Array("abcd\n".utf8)) == [.line(Array("abcd".utf8))])
    }

    @Test(arguments: [
        (ExitStatus.exited(code: 3), "status=3"),
        (.killed(signal: 9, coreDumped: false), "signal=KILL"),
        (.killed(signal: 11, coreDumped: true), "signal=SEGV (core)"),
    ])
    func exitText(status: ExitStatus, text: String) {
        #expect(ControlExitStatus(status).text == text)
    }
}

@Suite struct ControlStatusTableTests {
    static let components = [
        ComponentSnapshot(
            name: "feed.service", activeState: "active", subState: "running", result: "success", mainPID: 4242,
            restarts: 2, uptimeSeconds: 3725, cpuUsageSeconds: 372.5, cpuQuotaPercent: 50,
            memoryCurrentBytes: 12_884_902, memoryPeakBytes: 20 * 1024 * 1024, memoryMaxBytes: 1 << 30, tasks: 7,
            usageSource: "process", slice: "trading.slice", ready: true, lastExit: ControlExitStatus(.killed(signal: 9, coreDumped: false))),
        ComponentSnapshot(
            name: "risk.service", activeState: "failed", subState: "failed", result: "exit-code", slice: "system.slice",
            lastExit: ControlExitStatus(.exited(code: 3))),
        ComponentSnapshot(
            name: "ui.service", activeState: "inactive", subState: "dead", result: "success", slice: "system.slice",
            dependencyFailure: "risk.service"),
    ]

    @Test func golden() {
        let expected = """
            COMPONENT     STATE             PID   UPTIME  RESTARTS  CPU      MEMORY                     TASKS  SLICE          READY  LAST EXIT
            feed.service  active (running)  4242  1h02m   2         10%/50%  12.3M (peak 20M) [max 1G]  7      trading.slice  yes    signal=KILL
            risk.service  failed (failed)   -     -       0         -        -                          -      system.slice   no     status=3
            ui.service    inactive (dead)   -     -       0         -        -                          -      system.slice   no     - (dependency risk.service failed)

            """
        #expect(StatusTable.render(Self.components) == expected)
    }

    /// Limits the kernel does not hold are starred, and the lines under the table say
    /// which and why, one line per reason, in the log's wording.
    @Test func limitsNotEnforcedAreMarkedAndExplained() {
        var feed = Self.components[0]
        feed.memoryHighBytes = 512 << 20
        let noCgroup = "cgroup v2 not usable: /sys/fs/cgroup is not cgroup2"
        feed.notEnforced = [
            UnenforcedSetting(key: "CPUQuota=", unit: "feed.service", file: "cpu.max", reason: noCgroup),
            UnenforcedSetting(key: "MemoryMax=", unit: "feed.service", file: "memory.max", reason: noCgroup),
            UnenforcedSetting(key: "MemorySwapMax=", unit: "feed.service", file: "memory.swap.max", reason: "memory.swap.max missing"),
        ]
        let table = StatusTable.render([feed, Self.components[1]])
        #expect(table.contains(" 10%/50%*  12.3M (peak 20M) [high 512M, max 1G*] "), "\(table)")
        #expect(
            table.hasSuffix(
                "* not enforced: CPUQuota= on feed.service, MemoryMax= on feed.service: \(noCgroup)\n"
                    + "* not enforced: MemorySwapMax= on feed.service: memory.swap.max missing\n"), "\(table)")
        #expect(!StatusTable.render(Self.components).contains("*"))
    }

    @Test func cpuSincePreviousSample() {
        var before = Self.components[0]
        before.uptimeSeconds = 3715
        before.cpuUsageSeconds = 367.5  // 5 s of CPU in 10 s
        let table = StatusTable.render([Self.components[0]], previous: ["feed.service": before])
        #expect(table.contains("50%/50%"))
    }

    @Test func colorOnlyWhenAsked() {
        #expect(!StatusTable.render(Self.components).contains("\u{1B}"))
        let colored = StatusTable.render(Self.components, color: true)
        #expect(colored.contains("\u{1B}[32mactive (running)\u{1B}[0m"))
        #expect(colored.contains("\u{1B}[31mfailed (failed)\u{1B}[0m"))
    }

    @Test(arguments: [(0.4, "0s"), (59, "59s"), (61, "1m01s"), (3600, "1h00m"), (90_061, "1d1h")])
    func durations(seconds: Double, text: String) {
        #expect(StatusTable.duration(seconds) == text)
    }

    @Test(arguments: [(UInt64(512), "512B"), (UInt64(1536), "1.5K"), (UInt64(1 << 20), "1M"), (UInt64(5 * (1 << 30) / 2), "2.5G")] as [(UInt64, String)])
    func sizes(bytes: UInt64, text: String) {
        #expect(StatusTable.bytes(bytes) == text)
    }

    @Test func procParsing() {
        let stat = "123 (a (weird) name) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 98765 1000 10 0"
        let status = "Name:\tx\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nGroups:\t4 24 27 \nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t3\n"
        let usage = MainProcessUsage.parse(stat: stat, status: status)
        #expect(usage == MainProcessUsage(cpuTicks: 300, startTicks: 98765, residentBytes: 1024 * 1024, residentPeakBytes: 2048 * 1024, threads: 3))
        #expect(MainProcessUsage.groups(fromStatus: status) == [100, 4, 24, 27])
        #expect(MainProcessUsage.parse(stat: "garbage", status: "") == nil)
    }
}

/// What `/readyz` and `warden status --check` answer.
@Suite struct StackReadinessTests {
    static func c(_ name: String, _ state: String, ready: Bool, priority: String = "normal", result: String = "success") -> ComponentSnapshot {
        ComponentSnapshot(name: name, activeState: state, subState: "-", result: result, slice: "s", ready: ready, priority: priority)
    }

    @Test(arguments: [
        ("every critical component up: ready, whatever the others do",
         [c("a", "active", ready: true, priority: "critical"), c("b", "failed", ready: false, result: "exit-code")], true, "ready"),
        ("a critical component not ready yet",
         [c("a", "active", ready: false, priority: "critical"), c("b", "active", ready: true)], false, "not ready: a (not ready)"),
        ("a critical component starting and one failed",
         [c("x", "activating", ready: false, priority: "critical"), c("y", "failed", ready: false, priority: "critical", result: "signal")],
         false, "not ready: x (activating), y (failed)"),
        ("no critical component: every component judged; a finished oneshot counts as up",
         [c("a", "active", ready: true), c("once", "inactive", ready: false)], true, "ready"),
        ("no critical component: one failed", [c("a", "active", ready: true), c("b", "failed", ready: false, result: "exit-code")],
         false, "not ready: b (failed)"),
        ("nothing configured", [], true, "ready"),
    ] as [(String, [ComponentSnapshot], Bool, String)])
    func verdict(_ name: String, _ components: [ComponentSnapshot], _ ready: Bool, _ text: String) {
        let readiness = StackReadiness(components)
        #expect(readiness.ready == ready, "\(name)")
        #expect(readiness.text == text, "\(name)")
    }

    @Test func shuttingDownIsNeverReady() {
        let readiness = StackReadiness([Self.c("a", "active", ready: true, priority: "critical")], shuttingDown: true)
        #expect(!readiness.ready)
        #expect(readiness.text == "not ready: Warden is shutting down")
    }
}

@Suite struct ControlKillRequestTests {
    @Test(arguments: [
        (nil, nil, "SIGTERM", "all"),
        ("HUP", "main", "SIGHUP", "main"),
        ("SIGUSR1", "control", "SIGUSR1", "control"),
        ("9", nil, "SIGKILL", "all"),
        ("RTMIN+3", "all", "SIGRTMIN+3", "all"),
    ] as [(String?, String?, String, String)])
    func signalAndWhomWithTheirDefaults(signal: String?, whom: String?, name: String, expectedWhom: String) throws {
        let request = ControlRequest(op: .kill, unit: "feed", signal: signal, whom: whom)
        #expect(request.validated() == .success(.kill))
        let target = try request.killTarget().get()
        #expect(target.signal.name == name)
        #expect(target.whom.rawValue == expectedWhom)
    }

    @Test(arguments: [
        (ControlRequest(op: .kill, unit: "feed", signal: "TERMINATE"), "signal: 'TERMINATE'"),
        (ControlRequest(op: .kill, unit: "feed", signal: "0"), "signal: '0'"),
        (ControlRequest(op: .kill, unit: "feed", whom: "everyone"), "whom: 'everyone' is not one of main, control, all"),
        (ControlRequest(op: .stop, unit: "feed", signal: "HUP"), "'signal' and 'whom' belong to 'kill' only"),
        (ControlRequest(op: .kill), "'kill' needs a unit"),
    ])
    func refusedWithWhatWasExpected(request: ControlRequest, message: String) {
        guard case .failure(let error) = request.validated() else {
            Issue.record("accepted: \(request)")
            return
        }
        #expect(error.code == .malformed)
        #expect(error.message.hasPrefix(message) || error.message.contains(message), "\(error.message)")
    }

    @Test func killIsNotReadOnly() {
        #expect(!ControlOperation.kill.isReadOnly)
        #expect(ControlOperation.kill.needsUnit)
    }
}

/// `config-source`: what a command needs to load the running daemon's configuration.
@Suite struct ControlConfigSourceTests {
    @Test(arguments: [
        ("units", "/srv", "/srv/units"),
        ("/etc/warden/units", "/srv", "/etc/warden/units"),
        ("units", "/", "/units"),
        ("units", "", "units"),
    ])
    func relativePathsBecomeAbsolute(path: String, directory: String, expected: String) {
        #expect(ControlConfigSource.absolute(path, in: directory) == expected)
    }

    @Test func argumentsNameTheSameConfiguration() {
        let bare = ControlConfigSource(
            pid: 7, configFile: nil, unitDirectories: [], stateDirectory: "/run/warden", controlSocket: "/run/warden/control.sock")
        #expect(bare.arguments == [])
        let full = ControlConfigSource(
            pid: 7, configFile: "/etc/w.conf", unitDirectories: ["/a", "/b"], stateDirectory: "/tmp/s",
            controlSocket: "/tmp/s/control.sock", mainProgram: ["/bin/bot", "--live"], mainName: "bot")
        #expect(full.arguments == ["--config", "/etc/w.conf", "--units", "/a", "--units", "/b", "--main-name", "bot", "--", "/bin/bot", "--live"])
    }

    @Test func takesNoUnitAndIsReadOnly() {
        #expect(ControlOperation.configSource.isReadOnly)
        #expect(!ControlOperation.configSource.needsUnit)
        #expect(ControlOperation(rawValue: "config-source") == .configSource)
    }
}
