import Testing
import WardenCore

/// The ways a run can end, as rows of systemd.service(5)'s Restart= table.
enum ExitKind: String, CaseIterable, CustomTestStringConvertible {
    case cleanExitCode, cleanSignal, successExitStatusCode, uncleanExitCode
    case uncleanSignal, coreDump, timeout, watchdog

    var testDescription: String { rawValue }

    /// The row of the man page table this kind belongs to.
    var row: ManPageRow {
        switch self {
        case .cleanExitCode, .cleanSignal, .successExitStatusCode: .clean
        case .uncleanExitCode: .uncleanExitCode
        case .uncleanSignal, .coreDump: .uncleanSignal
        case .timeout: .timeout
        case .watchdog: .watchdog
        }
    }

    var expectedResult: ServiceResult {
        switch self {
        case .cleanExitCode, .cleanSignal, .successExitStatusCode: .success
        case .uncleanExitCode: .exitCode
        case .uncleanSignal: .signal
        case .coreDump: .coreDump
        case .timeout: .timeout
        case .watchdog: .watchdog
        }
    }
}

enum ManPageRow { case clean, uncleanExitCode, uncleanSignal, timeout, watchdog }

/// systemd.service(5), "Table 2. Exit causes and the effect of the Restart= settings",
/// transcribed column by column, independently of RestartPolicy.shallRestart.
func manPageRestarts(_ mode: RestartMode, _ row: ManPageRow) -> Bool {
    let column: Set<String>
    switch mode {
    case .no: column = []
    case .always: column = ["clean", "uncleanExitCode", "uncleanSignal", "timeout", "watchdog"]
    case .onSuccess: column = ["clean"]
    case .onFailure: column = ["uncleanExitCode", "uncleanSignal", "timeout", "watchdog"]
    case .onAbnormal: column = ["uncleanSignal", "timeout", "watchdog"]
    case .onAbort: column = ["uncleanSignal"]
    case .onWatchdog: column = ["watchdog"]
    }
    return column.contains("\(row)")
}

@Suite struct SupervisionClassificationTests {
    /// Every Restart= mode × every exit kind, driven end to end through the state machine
    /// (a Type=notify daemon with a watchdog), compared with the man page table.
    @Test(arguments: RestartMode.allCases, ExitKind.allCases)
    func restartTableEndToEnd(mode: RestartMode, kind: ExitKind) {
        let policy = noJitter(
            RestartPolicy(
                type: .notify, restart: mode, successExitStatus: ExitStatusSet(codes: [42]),
                timeoutStartUSec: .seconds(5), watchdogUSec: .seconds(2)))
        var h = Harness(policy)
        h.send(.startRequested)
        h.send(.spawned(pid: 10))
        if kind == .timeout {
            h.fire(.startTimeout)
            #expect(h.state == .stopping(.stopSignal))
            h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        } else {
            h.send(.notify(.ready))
            #expect(h.state == .running)
            switch kind {
            case .cleanExitCode: h.mainDies(.exited(code: 0))
            case .cleanSignal: h.mainDies(.killed(signal: Sig.hup, coreDumped: false))
            case .successExitStatusCode: h.mainDies(.exited(code: 42))
            case .uncleanExitCode: h.mainDies(.exited(code: 1))
            case .uncleanSignal: h.mainDies(.killed(signal: Sig.kill, coreDumped: false))
            case .coreDump: h.mainDies(.killed(signal: Sig.segv, coreDumped: true))
            case .watchdog:
                h.fire(.watchdog)
                #expect(h.state == .stopping(.watchdogSignal))
                h.mainDies(.killed(signal: Sig.abrt, coreDumped: true))
            case .timeout: break
            }
        }
        #expect(h.machine.result == kind.expectedResult)
        let restarts = manPageRestarts(mode, kind.row)
        if restarts {
            guard case .autoRestartWait(let until) = h.state else {
                Issue.record("expected a restart, got \(h.state)")
                return
            }
            #expect(until == h.now.advanced(by: .milliseconds(100)))
        } else if kind.expectedResult == .success {
            #expect(h.state == .inactive)
        } else {
            #expect(h.state == .failed(kind.expectedResult))
        }
    }

    /// The same decision as a pure function, for every mode × every result × main exits.
    @Test(arguments: RestartMode.allCases)
    func shallRestartMatchesTableForEveryResult(mode: RestartMode) {
        let policy = RestartPolicy(restart: mode)
        let rows: [(ServiceResult, ManPageRow?)] = [
            (.success, .clean), (.exitCode, .uncleanExitCode), (.signal, .uncleanSignal),
            (.coreDump, .uncleanSignal), (.timeout, .timeout), (.watchdog, .watchdog),
            // Not in the man page table; systemd's code treats them as failures that are
            // neither exit codes nor signals.
            (.resources, nil), (.protocolViolation, nil), (.oomKill, nil), (.startLimitHit, nil),
        ]
        for (result, row) in rows {
            let expected: Bool
            if let row {
                expected = manPageRestarts(mode, row)
            } else {
                expected = [.always, .onFailure, .onAbnormal].contains(mode)
            }
            #expect(policy.shallRestart(result: result, mainExit: nil) == expected, "\(mode) \(result)")
        }
    }

    @Test(arguments: RestartMode.allCases)
    func restartPreventExitStatusWinsOverEveryMode(mode: RestartMode) {
        let policy = RestartPolicy(
            restart: mode,
            restartPreventExitStatus: ExitStatusSet(codes: [0, 3], signals: [Sig.term, Sig.kill]))
        for (result, exit) in [
            (ServiceResult.success, ExitStatus.exited(code: 0)), (.exitCode, .exited(code: 3)),
            (.success, .killed(signal: Sig.term, coreDumped: false)),
            (.signal, .killed(signal: Sig.kill, coreDumped: false)),
            (.timeout, .killed(signal: Sig.term, coreDumped: false)),
        ] {
            #expect(!policy.shallRestart(result: result, mainExit: exit))
        }
        // A status not in the list falls through to the table.
        #expect(
            policy.shallRestart(result: .exitCode, mainExit: .exited(code: 4))
                == manPageRestarts(mode, .uncleanExitCode))
    }

    @Test func restartForceExitStatusRestartsEvenWithRestartNo() {
        let policy = RestartPolicy(restart: .no, restartForceExitStatus: ExitStatusSet(codes: [75]))
        #expect(policy.shallRestart(result: .exitCode, mainExit: .exited(code: 75)))
        #expect(!policy.shallRestart(result: .exitCode, mainExit: .exited(code: 74)))
        let both = RestartPolicy(
            restart: .always, restartPreventExitStatus: ExitStatusSet(codes: [75]),
            restartForceExitStatus: ExitStatusSet(codes: [75]))
        #expect(!both.shallRestart(result: .exitCode, mainExit: .exited(code: 75)))
    }

    @Test(arguments: [
        // status, daemon, oneshot command, control command
        (ExitStatus.exited(code: 0), ServiceResult.success, ServiceResult.success, ServiceResult.success),
        (.exited(code: 1), .exitCode, .exitCode, .exitCode),
        (.exited(code: 42), .success, .success, .exitCode),  // SuccessExitStatus=42 SIGUSR1
        (.killed(signal: Sig.hup, coreDumped: false), .success, .signal, .signal),
        (.killed(signal: Sig.int, coreDumped: false), .success, .signal, .signal),
        (.killed(signal: Sig.term, coreDumped: false), .success, .signal, .signal),
        (.killed(signal: Sig.pipe, coreDumped: false), .success, .signal, .signal),
        (.killed(signal: Sig.kill, coreDumped: false), .signal, .signal, .signal),
        (.killed(signal: Sig.usr1, coreDumped: false), .success, .success, .signal),
        (.killed(signal: Sig.segv, coreDumped: true), .coreDump, .coreDump, .coreDump),
        (.killed(signal: Sig.abrt, coreDumped: true), .coreDump, .coreDump, .coreDump),
    ])
    func exitJudgement(status: ExitStatus, daemon: ServiceResult, command: ServiceResult, control: ServiceResult) {
        let success = ExitStatusSet(codes: [42], signals: [Sig.usr1])
        #expect(ServiceResult(status, judgedAs: .daemon, successExitStatus: success) == daemon)
        #expect(ServiceResult(status, judgedAs: .command, successExitStatus: success) == command)
        #expect(ServiceResult(status, judgedAs: .controlCommand, successExitStatus: success) == control)
    }

    @Test func terminationCausesMapToSystemdNames() {
        let none = ExitStatusSet()
        let pairs: [(TerminationCause, String)] = [
            (.timeout, "timeout"), (.watchdog, "watchdog"), (.startLimitHit, "start-limit-hit"),
            (.oomKill, "oom-kill"), (.resources, "resources"), (.exited(.exited(code: 2)), "exit-code"),
            (.exited(.killed(signal: Sig.kill, coreDumped: false)), "signal"),
            (.exited(.killed(signal: Sig.segv, coreDumped: true)), "core-dump"),
            (.exited(.exited(code: 0)), "success"),
        ]
        for (cause, name) in pairs {
            #expect(ServiceResult(cause, judgedAs: .daemon, successExitStatus: none).rawValue == name)
        }
        #expect(ServiceResult.protocolViolation.rawValue == "protocol")
    }

    @Test(arguments: [
        (ExitStatus.exited(code: 3), "exited", "3"),
        (.exited(code: 0), "exited", "0"),
        (.killed(signal: Sig.term, coreDumped: false), "killed", "TERM"),
        (.killed(signal: Sig.segv, coreDumped: true), "dumped", "SEGV"),
    ])
    func exitEnvironmentAsSystemdSetsIt(status: ExitStatus, code: String, value: String) {
        let names: [Int32: String] = [Sig.term: "SIGTERM", Sig.segv: "SEGV"]  // both spellings
        let env = ServiceResultEnvironment(result: .signal, mainExit: status)
            .variables { names[$0] ?? "?" }
        #expect(env == ["SERVICE_RESULT": "signal", "EXIT_CODE": code, "EXIT_STATUS": value])
    }

    @Test func exitEnvironmentWithoutMainExitHasOnlyResult() {
        let env = ServiceResultEnvironment(result: .startLimitHit, mainExit: nil).variables { _ in "X" }
        #expect(env == ["SERVICE_RESULT": "start-limit-hit"])
    }

    @Test func defaultsAreSystemds() {
        let p = RestartPolicy()
        #expect(p.type == .simple)
        #expect(p.restart == .no)
        #expect(p.restartUSec == .milliseconds(100))
        #expect(p.restartSteps == 0)
        #expect(p.restartMaxDelayUSec == nil)
        #expect(p.startLimitBurst == 5)
        #expect(p.startLimitIntervalUSec == .seconds(10))
        #expect(p.timeoutStartUSec == .seconds(90))
        #expect(p.timeoutStopUSec == .seconds(90))
        #expect(p.watchdogUSec == nil)
        #expect(p.watchdogSignal == Sig.abrt)
        #expect(p.killSignal == Sig.term)
        #expect(p.finalKillSignal == Sig.kill)
        #expect(p.sendSIGKILL)
        #expect(p.killMode == .controlGroup)
        #expect(!p.remainAfterExit)
        #expect(p.cleanupSignal == nil)
        #expect(p.successExitStatus.isEmpty && p.restartPreventExitStatus.isEmpty)
        // systemd disables the start timeout for oneshot by default.
        #expect(RestartPolicy(type: .oneshot).timeoutStartUSec == .infinity)
        #expect(RestartPolicy(type: .oneshot, timeoutStartUSec: .seconds(3)).timeoutStartUSec == .seconds(3))
    }
}
