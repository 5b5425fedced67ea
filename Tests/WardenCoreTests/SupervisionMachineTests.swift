import Testing
import WardenCore

@Suite struct SupervisionMachineTests {
    // MARK: Type= readiness

    @Test func simpleIsStartedAtSpawnWithoutStartTimeout() {
        var h = Harness(RestartPolicy(type: .simple))
        let start = withoutLogs(h.send(.startRequested))
        #expect(start == [.runCommand(.start, index: 0, resultEnvironment: nil)])
        #expect(h.state == .starting(.main(index: 0, waitingFor: .spawn)))
        #expect(h.machine.timers.isEmpty)
        let spawn = withoutLogs(h.send(.spawned(pid: 7)))
        #expect(spawn == [.markReady])
        #expect(h.state == .running)
        #expect(h.machine.mainPID == 7)
        #expect(h.machine.activeState == "active" && h.machine.subState == "running")
    }

    @Test func execWaitsForExecve() {
        var h = Harness(RestartPolicy(type: .exec))
        h.send(.startRequested)
        #expect(h.machine.timers[.startTimeout] == seconds(90))
        h.send(.spawned(pid: 7))
        #expect(h.state == .starting(.main(index: 0, waitingFor: .exec)))
        let actions = h.send(.execSucceeded)
        #expect(withoutLogs(actions) == [.cancelTimer(.startTimeout), .markReady])
        #expect(h.state == .running)
    }

    @Test func notifyWaitsForReadyAndTimesOut() {
        var h = Harness(RestartPolicy(type: .notify, timeoutStartUSec: .seconds(5)))
        h.send(.startRequested)
        h.send(.spawned(pid: 7), at: seconds(1))
        #expect(h.state == .starting(.main(index: 0, waitingFor: .ready)))
        #expect(h.machine.activeState == "activating")
        // A firing before the deadline (a stale wakeup) changes nothing.
        let earlyFiringIgnored = h.send(.timerFired(.startTimeout), at: seconds(4)).isEmpty
        #expect(earlyFiringIgnored)
        let actions = h.fire(.startTimeout)
        #expect(h.now == seconds(5))
        #expect(logEvents(actions) == ["start-timeout"])
        #expect(withoutLogs(actions) == [.sendSignal(Sig.term, to: .allProcesses), .setTimer(.stopTimeout, at: seconds(95))])
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        #expect(h.state == .failed(.timeout))
    }

    @Test func notifyReadyCompletesStart() {
        var h = Harness(RestartPolicy(type: .notify))
        h.send(.startRequested)
        h.send(.spawned(pid: 7))
        let ready = withoutLogs(h.send(.notify(.ready)))
        #expect(ready == [.cancelTimer(.startTimeout), .markReady])
        #expect(h.state == .running)
    }

    @Test func notifyCleanExitBeforeReadyIsAProtocolViolation() {
        var h = Harness(RestartPolicy(type: .notify, restart: .onFailure))
        h.send(.startRequested)
        h.send(.spawned(pid: 7))
        h.mainDies(.exited(code: 0))
        #expect(h.machine.result == .protocolViolation)
        guard case .autoRestartWait = h.state else {
            Issue.record("on-failure restarts after protocol, got \(h.state)")
            return
        }
    }

    @Test func oneshotRunsEachStartCommandThenStops() {
        var h = Harness(RestartPolicy(type: .oneshot), ServiceCommands(start: [.plain, .plain]))
        h.send(.startRequested)
        #expect(h.machine.timers[.startTimeout] == nil)  // infinite by default for oneshot
        h.send(.spawned(pid: 7))
        let second = h.send(.mainExited(.exited(code: 0)))
        #expect(second.contains(.runCommand(.start, index: 1, resultEnvironment: nil)))
        #expect(h.state == .starting(.main(index: 1, waitingFor: .exit)))
        h.send(.spawned(pid: 8))
        let done = h.send(.mainExited(.exited(code: 0)))
        #expect(done.contains(.markReady))
        #expect(h.state == .stopping(.stopSignal))  // cgroup not reported empty yet
        h.send(.allProcessesGone)
        #expect(h.state == .inactive)
        #expect(h.history.filter { $0 == .markReady }.count == 1)
    }

    @Test func oneshotFailureStopsTheChain() {
        var h = Harness(RestartPolicy(type: .oneshot), ServiceCommands(start: [.plain, .plain]))
        h.send(.startRequested)
        h.send(.spawned(pid: 7))
        // SIGTERM is not clean for a oneshot command.
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        #expect(h.state == .failed(.signal))
        #expect(!h.history.contains(.runCommand(.start, index: 1, resultEnvironment: nil)))
        #expect(!h.history.contains(.markReady))
    }

    @Test func oneshotRemainAfterExitStaysActiveUntilStopped() {
        var h = Harness(RestartPolicy(type: .oneshot, remainAfterExit: true), ServiceCommands(stop: [.plain]))
        h.send(.startRequested)
        h.send(.spawned(pid: 7))
        h.mainDies(.exited(code: 0))
        #expect(h.state == .exited)
        #expect(h.machine.activeState == "active")
        let stop = h.send(.stopRequested)
        #expect(
            stop.contains(
                .runCommand(
                    .stop, index: 0,
                    resultEnvironment: ServiceResultEnvironment(result: .success, mainExit: .exited(code: 0)))))
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .inactive)
    }

    // MARK: Hooks

    @Test func hooksRunInOrderAndIgnoredFailuresContinue() {
        let commands = ServiceCommands(
            startPre: [.plain, .ignoringFailure], start: [.plain], startPost: [.plain])
        var h = Harness(RestartPolicy(type: .simple), commands)
        h.send(.startRequested)
        h.send(.spawned(pid: 1))
        h.send(.hookExited(.exited(code: 0)))
        h.send(.spawned(pid: 2))
        let ignored = h.send(.hookExited(.exited(code: 3)))
        #expect(logEvents(ignored).contains("failure-ignored"))
        #expect(ignored.contains(.recordExit(.control(.startPre, index: 1), .exited(code: 3), result: .success)))
        h.send(.spawned(pid: 3))
        #expect(h.state == .starting(.postCommand(index: 0)))
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .running)
        let commandsRun = h.history.compactMap { action -> String? in
            if case .runCommand(let kind, let index, _) = action { "\(kind.rawValue)[\(index)]" } else { nil }
        }
        #expect(commandsRun == ["ExecStartPre[0]", "ExecStartPre[1]", "ExecStart[0]", "ExecStartPost[0]"])
        #expect(h.machine.result == .success)
    }

    @Test func failedStartPreSkipsMainRunsStopPostAndRestartsOnFailure() {
        let commands = ServiceCommands(startPre: [.plain, .plain], stop: [.plain], stopPost: [.plain])
        var h = Harness(noJitter(RestartPolicy(restart: .onFailure)), commands)
        h.send(.startRequested)
        h.send(.spawned(pid: 1))
        let failed = h.send(.hookExited(.exited(code: 1)), at: seconds(1))
        // Without ExecStop= (never started): whatever the hook left behind is signalled.
        #expect(
            withoutLogs(failed) == [
                .recordExit(.control(.startPre, index: 0), .exited(code: 1), result: .exitCode),
                .cancelTimer(.startTimeout),
                .sendSignal(Sig.term, to: .allProcesses),
                .setTimer(.stopTimeout, at: seconds(91)),
            ])
        // Once the cgroup is empty, ExecStopPost= runs with the result and no exit variables.
        let post = h.send(.allProcessesGone)
        #expect(
            withoutLogs(post) == [
                .runCommand(
                    .stopPost, index: 0, resultEnvironment: ServiceResultEnvironment(result: .exitCode, mainExit: nil)),
                .setTimer(.stopTimeout, at: seconds(91)),
            ])
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .autoRestartWait(until: at(1_100_000)))
        #expect(h.history.contains(.markStopped(.exitCode)))
        #expect(!h.history.contains(.runCommand(.start, index: 0, resultEnvironment: nil)))
    }

    @Test func failingStartPostStopsAndFails() {
        var h = Harness(RestartPolicy(), ServiceCommands(startPost: [.plain]))
        h.send(.startRequested)
        h.send(.spawned(pid: 1))
        h.send(.spawned(pid: 2))
        let actions = h.send(.hookExited(.killed(signal: Sig.segv, coreDumped: true)))
        #expect(actions.contains(.sendSignal(Sig.term, to: .allProcesses)))
        #expect(!actions.contains(.markReady))
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        #expect(h.state == .failed(.coreDump))
    }

    // MARK: Stop sequence

    /// A process taken over from a Warden that had started its `ExecStop=`: the stop goes
    /// on from the stop signal, once; a later run's stop is whole again.
    @Test func aStopWhoseCommandsAlreadyRanGoesOnFromTheSignal() {
        let commands = ServiceCommands(stop: [.plain])
        var h = Harness(RestartPolicy(restart: .always, timeoutStopUSec: .seconds(30)), commands)
        h.startToRunning()
        h.machine.stopCommandsAlreadyRan()
        h.now = seconds(100)
        let begin = withoutLogs(h.send(.stopRequested))
        #expect(!begin.contains { if case .runCommand(.stop, _, _) = $0 { true } else { false } })
        #expect(begin.contains(.sendSignal(Sig.term, to: .allProcesses)))
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        h.send(.startRequested)
        h.send(.spawned(pid: 200))
        let again = h.send(.stopRequested)
        #expect(again.contains { if case .runCommand(.stop, 0, _) = $0 { true } else { false } })
    }

    /// Dropped when the taken-over process ends before its stop.
    @Test func stopCommandsAlreadyRanIsDroppedWhenTheProcessEndsFirst() {
        var h = Harness(noJitter(RestartPolicy(restart: .always, restartUSec: .seconds(1))), ServiceCommands(stop: [.plain]))
        h.startToRunning()
        h.machine.stopCommandsAlreadyRan()
        h.mainDies(.exited(code: 3))
        h.fire(.restartDelay)
        h.send(.spawned(pid: 300))
        let stop = h.send(.stopRequested)
        #expect(stop.contains { if case .runCommand(.stop, 0, _) = $0 { true } else { false } })
    }

    @Test func gracefulStopWithCleanupSignalStopCommandsAndEscalation() {
        let commands = ServiceCommands(stop: [.plain, .ignoringFailure], stopPost: [.plain])
        var h = Harness(
            RestartPolicy(restart: .always, timeoutStopUSec: .seconds(30), cleanupSignal: Sig.usr1), commands)
        h.startToRunning()
        let t0 = seconds(100)
        h.now = t0
        let begin = h.send(.stopRequested)
        #expect(
            withoutLogs(begin) == [
                .sendSignal(Sig.usr1, to: .mainProcess),
                .runCommand(.stop, index: 0, resultEnvironment: ServiceResultEnvironment(result: .success, mainExit: nil)),
                .setTimer(.stopTimeout, at: seconds(130)),
            ])
        #expect(h.machine.activeState == "deactivating")
        h.send(.spawned(pid: 50))
        let next = h.send(.hookExited(.exited(code: 0)), at: seconds(101))
        #expect(next.contains(.runCommand(.stop, index: 1, resultEnvironment: ServiceResultEnvironment(result: .success, mainExit: nil))))
        h.send(.spawned(pid: 51))
        let signal = h.send(.hookExited(.exited(code: 1)), at: seconds(102))
        #expect(logEvents(signal).contains("failure-ignored"))
        #expect(
            withoutLogs(signal).suffix(2) == [
                .sendSignal(Sig.term, to: .allProcesses), .setTimer(.stopTimeout, at: seconds(132)),
            ])
        #expect(h.state == .stopping(.stopSignal))
        // The process ignores SIGTERM: escalate at TimeoutStopSec=.
        let kill = h.fire(.stopTimeout)
        #expect(withoutLogs(kill) == [.sendSignal(Sig.kill, to: .allProcesses), .setTimer(.stopTimeout, at: seconds(162))])
        #expect(h.state == .stopping(.finalKill))
        h.send(.mainExited(.killed(signal: Sig.kill, coreDumped: false)))
        #expect(h.state == .stopping(.finalKill))  // a child is still in the cgroup
        let post = h.send(.allProcessesGone)
        #expect(
            post.contains(
                .runCommand(
                    .stopPost, index: 0,
                    resultEnvironment: ServiceResultEnvironment(
                        result: .timeout, mainExit: .killed(signal: Sig.kill, coreDumped: false)))))
        h.send(.spawned(pid: 52))
        let end = h.send(.hookExited(.exited(code: 0)))
        #expect(end.contains(.markStopped(.timeout)))
        // A requested stop never restarts, even with Restart=always; the timeout is a failure.
        #expect(h.state == .failed(.timeout))
    }

    /// An adopted main process's end has no status: a crash while running (restarted as
    /// one), but the stop's own doing while Warden stops it (an operator's stop of an
    /// adopted critical component is no failure).
    @Test func anUnknownEndIsAFailureWhileRunningAndTheStopsDoingWhileStopping() {
        var crashed = Harness(RestartPolicy(restart: .onFailure))
        crashed.startToRunning()
        let after = crashed.send(.mainExited(.unknown))
        #expect(after.contains { if case .recordExit(_, .unknown, result: .signal) = $0 { true } else { false } })
        crashed.send(.allProcessesGone)
        if case .autoRestartWait = crashed.state {} else { Issue.record("no restart after an unknown end: \(crashed.state)") }

        var stopped = Harness(RestartPolicy(restart: .onFailure, timeoutStopUSec: .seconds(5)))
        stopped.startToRunning()
        stopped.send(.stopRequested)
        stopped.send(.mainExited(.unknown))
        stopped.send(.allProcessesGone)
        #expect(stopped.state == .inactive)
    }

    @Test func sendSIGKILLNoSkipsTheFinalKill() {
        var h = Harness(RestartPolicy(timeoutStopUSec: .seconds(5), sendSIGKILL: false))
        h.startToRunning()
        h.send(.stopRequested)
        let actions = h.fire(.stopTimeout)
        #expect(logEvents(actions).contains("final-kill-skipped"))
        #expect(!actions.contains(.sendSignal(Sig.kill, to: .allProcesses)))
        #expect(h.state == .failed(.timeout))
    }

    @Test func finalKillTimeoutGivesUpOnUnkillableProcesses() {
        var h = Harness(RestartPolicy(timeoutStopUSec: .seconds(5)), ServiceCommands(stopPost: [.plain]))
        h.startToRunning()
        h.send(.stopRequested)
        h.fire(.stopTimeout)
        let giveUp = h.fire(.stopTimeout)
        #expect(h.state == .stopping(.postCommand(index: 0)))
        #expect(logEvents(giveUp) == ["stop-timeout"])
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .failed(.timeout))
    }

    @Test(arguments: [
        (KillMode.controlGroup, SignalTarget.allProcesses, SignalTarget.allProcesses),
        (.mixed, .mainProcess, .allProcesses),
        (.process, .mainProcess, .mainProcess),
    ])
    func killModeChoosesTargets(mode: KillMode, first: SignalTarget, final: SignalTarget) {
        var h = Harness(RestartPolicy(timeoutStopUSec: .seconds(5), killMode: mode))
        h.startToRunning()
        let firstSignal = h.send(.stopRequested).contains(.sendSignal(Sig.term, to: first))
        #expect(firstSignal)
        let finalSignal = h.fire(.stopTimeout).contains(.sendSignal(Sig.kill, to: final))
        #expect(finalSignal)
        h.send(.mainExited(.killed(signal: Sig.kill, coreDumped: false)))
        if mode == .process {
            // Leftover processes are not waited for with KillMode=process.
            #expect(h.state == .failed(.timeout))
        } else {
            #expect(h.state == .stopping(.finalKill))
            h.send(.allProcessesGone)
            #expect(h.state == .failed(.timeout))
        }
    }

    @Test func stopTimeoutDuringStopCommandKillsIt() {
        var h = Harness(RestartPolicy(timeoutStopUSec: .seconds(5), killMode: .mixed), ServiceCommands(stop: [.plain]))
        h.startToRunning()
        h.send(.stopRequested)
        h.send(.spawned(pid: 9))
        let actions = h.fire(.stopTimeout)
        #expect(actions.contains(.sendSignal(Sig.term, to: .mainProcess)))
        #expect(actions.contains(.sendSignal(Sig.term, to: .controlProcess)))
        h.send(.hookExited(.killed(signal: Sig.term, coreDumped: false)))
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        #expect(h.state == .failed(.timeout))
    }

    @Test func cleanStopEndsInactive() {
        var h = Harness(RestartPolicy(restart: .always))
        h.startToRunning()
        h.send(.stopRequested)
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        #expect(h.state == .inactive)
        #expect(h.history.contains(.markStopped(.success)))
    }

    @Test func daemonExitingNonZeroOnSigtermFailsAsInSystemd() {
        var h = Harness(RestartPolicy())
        h.startToRunning()
        h.send(.stopRequested)
        h.mainDies(.exited(code: 143))
        #expect(h.state == .failed(.exitCode))
        var ok = Harness(RestartPolicy(successExitStatus: ExitStatusSet(codes: [143])))
        ok.startToRunning()
        ok.send(.stopRequested)
        ok.mainDies(.exited(code: 143))
        #expect(ok.state == .inactive)
    }

    // MARK: Stop during start, start during stop, restart

    @Test func stopDuringStartPreKillsTheHookAndNeverStartsMain() {
        var h = Harness(RestartPolicy(restart: .always), ServiceCommands(startPre: [.plain]))
        h.send(.startRequested)
        h.send(.spawned(pid: 3))
        let stop = h.send(.stopRequested)
        #expect(withoutLogs(stop) == [
            .cancelTimer(.startTimeout), .sendSignal(Sig.term, to: .allProcesses),
            .setTimer(.stopTimeout, at: seconds(90)),
        ])
        h.send(.hookExited(.killed(signal: Sig.term, coreDumped: false)))
        h.send(.allProcessesGone)
        // systemd judges the killed control process: result signal, no restart after a stop.
        #expect(h.state == .failed(.signal))
        #expect(!h.history.contains(.runCommand(.start, index: 0, resultEnvironment: nil)))
    }

    @Test func stopWhileWaitingForReady() {
        var h = Harness(RestartPolicy(type: .notify, restart: .always))
        h.send(.startRequested)
        h.send(.spawned(pid: 3))
        h.send(.stopRequested)
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        #expect(h.state == .inactive)
        #expect(!h.history.contains(.markReady))
    }

    @Test func startDuringStopStartsOnceDown() {
        var h = Harness(RestartPolicy())
        h.startToRunning(pid: 10)
        h.send(.stopRequested)
        let queued = logEvents(h.send(.startRequested))
        #expect(queued == ["start-queued"])
        let restart = h.send(.mainExited(.killed(signal: Sig.term, coreDumped: false)))
        #expect(!restart.contains(.runCommand(.start, index: 0, resultEnvironment: nil)))  // cgroup not empty yet
        let down = h.send(.allProcessesGone)
        #expect(down.contains(.markStopped(.success)))
        #expect(down.contains(.runCommand(.start, index: 0, resultEnvironment: nil)))
        #expect(h.state == .starting(.main(index: 0, waitingFor: .spawn)))
        h.send(.spawned(pid: 11))
        #expect(h.state == .running)
    }

    @Test func stopAfterQueuedStartCancelsIt() {
        var h = Harness(RestartPolicy())
        h.startToRunning()
        h.send(.stopRequested)
        h.send(.startRequested)
        h.send(.stopRequested)
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        #expect(h.state == .inactive)
    }

    @Test func restartRequestStopsThenStartsWithoutCountingAsAutomatic() {
        var h = Harness(RestartPolicy(restart: .always), ServiceCommands(stop: [.plain]))
        h.startToRunning()
        h.send(.restartRequested)
        #expect(h.state == .stopping(.stopCommand(index: 0)))
        h.send(.hookExited(.exited(code: 0)))
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        #expect(h.state == .starting(.main(index: 0, waitingFor: .spawn)))
        #expect(h.machine.restartCount == 0)
    }

    @Test func stopDuringRestartPauseCancelsTheRestart() {
        var h = Harness(noJitter(RestartPolicy(restart: .always, restartUSec: .seconds(5))))
        h.startToRunning()
        h.mainDies(.exited(code: 1))
        #expect(h.state == .autoRestartWait(until: seconds(5)))
        let actions = h.send(.stopRequested)
        #expect(withoutLogs(actions) == [.cancelTimer(.restartDelay)])
        #expect(h.state == .inactive)
    }

    // MARK: Main process exiting on its own

    @Test func mainExitWhileRunningRunsStopCommandsWithExitVariables() {
        let commands = ServiceCommands(stop: [.plain], stopPost: [.plain])
        var h = Harness(noJitter(RestartPolicy(restart: .onSuccess)), commands)
        h.startToRunning()
        let actions = h.send(.mainExited(.exited(code: 0)))
        let env = ServiceResultEnvironment(result: .success, mainExit: .exited(code: 0))
        #expect(actions.contains(.runCommand(.stop, index: 0, resultEnvironment: env)))
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .stopping(.stopSignal))  // cgroup not empty yet
        h.send(.allProcessesGone)
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .autoRestartWait(until: at(100_000)))
        h.fire(.restartDelay)
        #expect(h.state == .starting(.main(index: 0, waitingFor: .spawn)))
        #expect(h.machine.restartCount == 1)
    }

    @Test func crashWhileRunningSkipsExecStopAndPassesStatusToStopPost() {
        let commands = ServiceCommands(stop: [.plain], stopPost: [.plain])
        var h = Harness(RestartPolicy(restart: .no), commands)
        h.startToRunning()
        h.send(.mainExited(.killed(signal: Sig.segv, coreDumped: true)))
        let post = h.send(.allProcessesGone)
        #expect(
            post.contains(
                .runCommand(
                    .stopPost, index: 0,
                    resultEnvironment: ServiceResultEnvironment(
                        result: .coreDump, mainExit: .killed(signal: Sig.segv, coreDumped: true)))))
        #expect(!h.history.contains { if case .runCommand(.stop, _, _) = $0 { true } else { false } })
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .failed(.coreDump))
    }

    @Test func failingStopPostMakesACleanRunFail() {
        var h = Harness(RestartPolicy(), ServiceCommands(stopPost: [.plain, .plain]))
        h.startToRunning()
        h.send(.stopRequested)
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        h.send(.hookExited(.exited(code: 2)))
        #expect(h.state == .failed(.exitCode))
        #expect(!h.history.contains(.runCommand(.stopPost, index: 1, resultEnvironment: ServiceResultEnvironment(result: .success, mainExit: .killed(signal: Sig.term, coreDumped: false)))))
    }

    @Test func remainAfterExitKeepsASimpleServiceActive() {
        var h = Harness(RestartPolicy(restart: .always, remainAfterExit: true))
        h.startToRunning()
        h.mainDies(.exited(code: 0))
        #expect(h.state == .exited)
    }

    @Test func ignoredMainFailureCountsAsSuccess() {
        var h = Harness(RestartPolicy(restart: .onFailure), ServiceCommands(start: [.ignoringFailure]))
        h.startToRunning()
        h.mainDies(.exited(code: 9))
        #expect(h.state == .inactive)
        #expect(h.history.contains(.recordExit(.main(index: 0), .exited(code: 9), result: .success)))
    }

    // MARK: Watchdog, health checks, OOM

    @Test func watchdogIsReArmedByPingsAndFiresOnMiss() {
        var h = Harness(noJitter(RestartPolicy(type: .notify, restart: .onWatchdog, watchdogUSec: .seconds(2))))
        h.send(.startRequested)
        h.send(.spawned(pid: 4))
        #expect(h.machine.timers[.watchdog] == nil)  // armed only once started
        h.send(.notify(.ready), at: seconds(1))
        #expect(h.machine.timers[.watchdog] == seconds(3))
        let ping = h.send(.notify(.watchdogPing), at: seconds(2))
        #expect(ping == [.setTimer(.watchdog, at: seconds(4))])
        let staleIgnored = h.send(.timerFired(.watchdog), at: seconds(3)).isEmpty
        #expect(staleIgnored)  // stale deadline
        let miss = h.fire(.watchdog)
        #expect(logEvents(miss) == ["watchdog"])
        #expect(withoutLogs(miss) == [.sendSignal(Sig.abrt, to: .allProcesses), .setTimer(.stopTimeout, at: seconds(94))])
        h.mainDies(.killed(signal: Sig.abrt, coreDumped: true))
        #expect(h.machine.result == .watchdog)
        #expect(h.state == .autoRestartWait(until: at(4_100_000)))
    }

    @Test func watchdogPingWithoutWatchdogDoesNothing() {
        var h = Harness(RestartPolicy(type: .notify))
        h.startToRunning()
        let pingIgnored = h.send(.notify(.watchdogPing)).isEmpty
        #expect(pingIgnored)
    }

    @Test func watchdogTriggerAbortsImmediately() {
        var h = Harness(RestartPolicy(type: .notify, restart: .onAbnormal))
        h.startToRunning()
        let actions = h.send(.notify(.watchdogTrigger))
        #expect(actions.contains(.sendSignal(Sig.abrt, to: .allProcesses)))
        h.mainDies(.killed(signal: Sig.abrt, coreDumped: true))
        guard case .autoRestartWait = h.state else {
            Issue.record("on-abnormal restarts after watchdog, got \(h.state)")
            return
        }
        #expect(h.machine.result == .watchdog)
    }

    @Test func watchdogAbortEscalatesToFinalKill() {
        var h = Harness(RestartPolicy(type: .notify, timeoutStopUSec: .seconds(3), watchdogUSec: .seconds(1)))
        h.startToRunning()
        h.fire(.watchdog)
        let killSent = h.fire(.stopTimeout).contains(.sendSignal(Sig.kill, to: .allProcesses))
        #expect(killSent)
        h.mainDies(.killed(signal: Sig.kill, coreDumped: false))
        #expect(h.state == .failed(.watchdog))  // the first cause wins
    }

    @Test func healthCheckFailureStopsGracefullyAndRestartsOnFailure() {
        var h = Harness(noJitter(RestartPolicy(restart: .onFailure)), ServiceCommands(stop: [.plain]))
        h.startToRunning()
        let passIgnored = h.send(.healthCheckPassed).isEmpty
        #expect(passIgnored)
        let actions = h.send(.healthCheckFailed(reason: "GET /health: 503"))
        #expect(logEvents(actions) == ["health-check-failed"])
        #expect(
            actions.contains(
                .runCommand(.stop, index: 0, resultEnvironment: ServiceResultEnvironment(result: .watchdog, mainExit: nil))))
        h.send(.hookExited(.exited(code: 0)))
        h.mainDies(.killed(signal: Sig.term, coreDumped: false))
        #expect(h.machine.result == .watchdog)
        guard case .autoRestartWait = h.state else {
            Issue.record("expected restart, got \(h.state)")
            return
        }
    }

    @Test func healthCheckFailureIsIgnoredWhileNotRunning() {
        var h = Harness(RestartPolicy(type: .notify))
        h.send(.startRequested)
        let failureIgnored = h.send(.healthCheckFailed(reason: "x")).isEmpty
        #expect(failureIgnored)
    }

    @Test func oomKillStopsAndRestartsOnFailure() {
        var h = Harness(noJitter(RestartPolicy(restart: .onFailure)))
        h.startToRunning()
        h.send(.oomKilled)
        h.mainDies(.killed(signal: Sig.kill, coreDumped: false))
        #expect(h.machine.result == .oomKill)
        #expect(h.state == .autoRestartWait(until: at(100_000)))
    }

    // MARK: EXTEND_TIMEOUT_USEC, MAINPID, STATUS, STOPPING, RELOADING

    @Test func extendTimeoutOnlyEverLengthensTheStartTimeout() {
        var h = Harness(RestartPolicy(type: .notify))
        h.send(.startRequested)
        h.send(.spawned(pid: 4))
        let extended = h.send(.notify(.extendTimeout(.seconds(30))), at: seconds(80))
        #expect(extended == [.setTimer(.startTimeout, at: seconds(110))])
        let shorterIgnored = h.send(.notify(.extendTimeout(.seconds(5))), at: seconds(85)).isEmpty
        #expect(shorterIgnored)
        let oldDeadlineIgnored = h.send(.timerFired(.startTimeout), at: seconds(90)).isEmpty
        #expect(oldDeadlineIgnored)
        #expect(h.state == .starting(.main(index: 0, waitingFor: .ready)))
        h.fire(.startTimeout)
        #expect(h.now == seconds(110))
        #expect(h.state == .stopping(.stopSignal))
    }

    @Test func extendTimeoutDuringStopMovesTheStopTimeout() {
        var h = Harness(RestartPolicy(timeoutStopUSec: .seconds(10)))
        h.startToRunning()
        h.send(.stopRequested)
        h.send(.notify(.extendTimeout(.seconds(60))), at: seconds(5))
        #expect(h.machine.timers[.stopTimeout] == seconds(65))
    }

    @Test func mainPIDStatusAndStopping() {
        var h = Harness(RestartPolicy(type: .notify, restart: .always))
        h.startToRunning(pid: 4)
        let mainPID = h.send(.notify(.mainPID(44)))
        #expect(mainPID == [.watchMainPID(44)])
        #expect(h.machine.mainPID == 44)
        let status = h.send(.notify(.status("warming caches")))
        #expect(status == [.updateStatusText("warming caches")])
        #expect(h.machine.statusText == "warming caches")
        h.send(.notify(.stopping))
        #expect(h.state == .stopping(.stopSignal))
        h.mainDies(.exited(code: 0))
        // STOPPING=1 is the service's own decision: Restart= still applies.
        guard case .autoRestartWait = h.state else {
            Issue.record("expected restart, got \(h.state)")
            return
        }
    }

    @Test func reloadingWaitsForReadyAndTimesOutBackToRunning() {
        var h = Harness(RestartPolicy(type: .notify, timeoutStartUSec: .seconds(5)))
        h.startToRunning()
        h.send(.notify(.reloading))
        #expect(h.state == .reloading && h.machine.activeState == "reloading")
        h.send(.notify(.ready))
        #expect(h.state == .running)
        h.send(.notify(.reloading))
        let timeoutLog = logEvents(h.fire(.reloadTimeout))
        #expect(timeoutLog == ["reload-timeout"])
        #expect(h.state == .running)
    }

    // MARK: Spawn failures, blocking, reset-failed

    @Test func spawnFailureIsAResourcesFailure() {
        var h = Harness(RestartPolicy(restart: .no))
        h.send(.startRequested)
        let actions = h.send(.spawnFailed(reason: "clone3: ENOMEM"))
        #expect(logEvents(actions).first == "spawn-failed")
        #expect(!actions.contains { if case .sendSignal = $0 { true } else { false } })
        #expect(h.state == .failed(.resources))
    }

    @Test func blockedComponentStartsOnRequestAndResetFailedClearsIt() {
        var h = Harness(RestartPolicy())
        h.send(.startBlocked(reason: "another /usr/bin/app (pid 77) is running; Duplicates=refuse"))
        #expect(h.state == .blocked(reason: "another /usr/bin/app (pid 77) is running; Duplicates=refuse"))
        #expect(h.machine.activeState == "inactive")
        h.send(.resetFailedRequested)
        #expect(h.state == .inactive)
        h.send(.startBlocked(reason: "dup"))
        h.send(.startRequested)
        #expect(h.state == .starting(.main(index: 0, waitingFor: .spawn)))
    }

    // MARK: Start limit with time advancing

    /// A component that crashes at once, Restart=always, RestartSec=100ms: five starts in
    /// 10 s are allowed, the sixth is refused.
    @Test func crashLoopHitsTheStartLimit() {
        var h = Harness(noJitter(RestartPolicy(restart: .always)))
        h.startToRunning()
        for expectedRestart in 1...4 {
            h.mainDies(.exited(code: 1))
            h.fire(.restartDelay)
            #expect(h.machine.restartCount == expectedRestart)
            h.send(.spawned(pid: Int32(100 + expectedRestart)))
            #expect(h.state == .running)
        }
        h.mainDies(.exited(code: 1))
        let refused = h.fire(.restartDelay)
        #expect(logEvents(refused) == ["start-limit-hit"])
        #expect(h.state == .failed(.startLimitHit))
        #expect(h.machine.result == .startLimitHit)
        #expect(h.machine.timers.isEmpty)
        // An explicit start is the operator taking over: it starts and resets the counters.
        h.send(.startRequested, at: h.now.advanced(by: .milliseconds(1)))
        #expect(h.state == .starting(.main(index: 0, waitingFor: .spawn)))
        #expect(h.machine.restartCount == 0)
        #expect(h.machine.startLimiter.startsInWindow == 1)
    }

    @Test func resetFailedAfterStartLimitReturnsToInactive() {
        var h = Harness(noJitter(RestartPolicy(restart: .always, startLimitBurst: 1)))
        h.startToRunning()
        h.mainDies(.exited(code: 1))
        h.fire(.restartDelay)
        #expect(h.state == .failed(.startLimitHit))
        h.send(.resetFailedRequested)
        #expect(h.state == .inactive)
        #expect(h.machine.result == .success)
    }

    /// RestartSec=3s never reaches 5 starts within 10 s: the window moves on.
    @Test func slowRestartsNeverHitTheLimit() {
        var h = Harness(noJitter(RestartPolicy(restart: .always, restartUSec: .seconds(3))))
        h.startToRunning()
        for n in 1...20 {
            h.mainDies(.exited(code: 1))
            h.fire(.restartDelay)
            #expect(h.state == .starting(.main(index: 0, waitingFor: .spawn)), "restart \(n)")
            h.send(.spawned(pid: Int32(n)))
        }
        #expect(h.machine.restartCount == 20)
    }

    @Test func restartPauseGrowsWithSteps() {
        var h = Harness(
            noJitter(
                RestartPolicy(
                    restart: .always, restartUSec: .seconds(1), restartSteps: 3,
                    restartMaxDelayUSec: .seconds(8), startLimitIntervalUSec: .zero)))
        h.startToRunning()
        var pauses: [UInt64] = []
        for n in 1...5 {
            let crashAt = h.now
            h.mainDies(.exited(code: 1))
            guard case .autoRestartWait(let until) = h.state else {
                Issue.record("no restart at \(n): \(h.state)")
                return
            }
            pauses.append(until.since(crashAt).usec / 1_000_000)
            h.fire(.restartDelay)
            h.send(.spawned(pid: Int32(n)))
        }
        #expect(pauses == [1, 2, 4, 8, 8])
    }

    @Test func jitteredRestartStaysInBoundsAcrossSeeds() {
        for seed in UInt64(0)..<200 {
            var h = Harness(RestartPolicy(restart: .always, restartUSec: .seconds(1), restartJitterPercent: 10))
            h.rng = SplitMix64(seed: seed)
            h.startToRunning()
            h.mainDies(.exited(code: 1))
            guard case .autoRestartWait(let until) = h.state else {
                Issue.record("no restart: \(h.state)")
                return
            }
            #expect(until >= seconds(1) && until <= at(1_100_000))
        }
    }

    // MARK: Determinism

    @Test func sameEventsSameSeedSameActions() {
        func run() -> [ComponentAction] {
            var h = Harness(RestartPolicy(restart: .always, watchdogUSec: .seconds(1)))
            h.startToRunning()
            h.fire(.watchdog)
            h.mainDies(.killed(signal: Sig.abrt, coreDumped: true))
            h.fire(.restartDelay)
            return h.history
        }
        #expect(run() == run())
    }

    @Test func transitionIsPure() {
        let machine = ComponentMachine(policy: RestartPolicy())
        var rng = SplitMix64(seed: 1)
        let (next, actions) = ComponentMachine.transition(machine, .startRequested, now: .zero, rng: &rng)
        #expect(machine.state == .inactive)
        #expect(next.state == .starting(.main(index: 0, waitingFor: .spawn)))
        #expect(actions.contains(.runCommand(.start, index: 0, resultEnvironment: nil)))
    }
}

@Suite struct SupervisionMachineEdgeTests {
    @Test func zeroTimeoutMeansNoTimeoutAsInSystemd() {
        var h = Harness(RestartPolicy(type: .notify, timeoutStartUSec: .zero, timeoutStopUSec: .zero))
        h.send(.startRequested)
        h.send(.spawned(pid: 1))
        #expect(h.machine.timers[.startTimeout] == nil)
        h.send(.notify(.ready))
        h.send(.stopRequested)
        #expect(h.machine.timers[.stopTimeout] == nil)
    }

    /// The '-' prefix of the second oneshot command applies to that command's exit even
    /// when it ends during a stop.
    @Test func ignoredFailureFollowsTheOneshotCommandIndex() {
        var h = Harness(RestartPolicy(type: .oneshot), ServiceCommands(start: [.plain, .ignoringFailure]))
        h.send(.startRequested)
        h.send(.spawned(pid: 1))
        h.send(.mainExited(.exited(code: 0)))
        h.send(.spawned(pid: 2))
        h.send(.stopRequested)
        let exit = h.send(.mainExited(.exited(code: 4)))
        #expect(exit.contains(.recordExit(.main(index: 1), .exited(code: 4), result: .success)))
        h.send(.allProcessesGone)
        #expect(h.state == .inactive)
    }

    @Test func eventsThatDoNotApplyAreIgnored() {
        var h = Harness(RestartPolicy())
        for event: ComponentEvent in [
            .stopRequested, .spawned(pid: 1), .execSucceeded, .mainExited(.exited(code: 1)),
            .hookExited(.exited(code: 1)), .timerFired(.stopTimeout), .notify(.ready),
            .notify(.watchdogTrigger), .allProcessesGone, .oomKilled, .healthCheckFailed(reason: "x"),
        ] {
            let actions = h.send(event)
            #expect(actions.isEmpty, "\(event)")
            #expect(h.state == .inactive, "\(event)")
        }
    }
}
