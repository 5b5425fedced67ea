import Testing
import WardenCore

/// The machine's side of Type=forking, dbus, idle, notify-reload, RemainAfterExit= and
/// reloads (ExecReload=, ReloadSignal=).
@Suite struct SupervisionServiceTypeTests {
    // MARK: Type= readiness table

    @Test(arguments: [
        (ServiceType.simple, Readiness.spawn), (.exec, .exec), (.notify, .ready), (.oneshot, .exit),
        (.forking, .forked), (.dbus, .busName), (.idle, .spawn), (.notifyReload, .ready),
    ])
    func everyTypeWaitsForItsReadiness(type: ServiceType, readiness: Readiness) {
        var h = Harness(RestartPolicy(type: type))
        let actions = h.send(.startRequested)
        #expect(h.state == .starting(.main(index: 0, waitingFor: readiness)))
        #expect(actions.contains(.watchBusName) == (type == .dbus))
    }

    // MARK: Type=forking

    @Test func forkingFollowsTheDaemonFoundAfterTheParentExited() {
        var h = Harness(RestartPolicy(type: .forking, restart: .onFailure))
        h.send(.startRequested)
        #expect(h.machine.timers[.startTimeout] == seconds(90))
        h.send(.spawned(pid: 10))
        #expect(h.machine.activeState == "activating")
        let parentExit = h.send(.mainExited(.exited(code: 0)))
        #expect(withoutLogs(parentExit) == [.recordExit(.main(index: 0), .exited(code: 0), result: .success), .findMainPID])
        #expect(h.state == .starting(.main(index: 0, waitingFor: .forked)))
        let found = withoutLogs(h.send(.daemonFound(pid: 42)))
        #expect(found == [.watchMainPID(42), .cancelTimer(.startTimeout), .markReady])
        #expect(h.state == .running)
        #expect(h.machine.mainPID == 42)
        // The daemon's end is the service's end: Restart= applies.
        h.send(.mainExited(.killed(signal: Sig.kill, coreDumped: false)))
        h.send(.allProcessesGone)
        guard case .autoRestartWait = h.state else {
            Issue.record("a killed daemon is restarted (on-failure), got \(h.state)")
            return
        }
        #expect(h.machine.result == .signal)
    }

    @Test(arguments: [ExitStatus.exited(code: 1), .killed(signal: Sig.segv, coreDumped: true)])
    func forkingParentFailureFailsTheStart(status: ExitStatus) {
        var h = Harness(RestartPolicy(type: .forking))
        h.send(.startRequested)
        h.send(.spawned(pid: 10))
        let actions = h.send(.mainExited(status))
        #expect(!actions.contains(.findMainPID))
        h.send(.allProcessesGone)
        #expect(h.state == .failed(ServiceResult(status, judgedAs: .daemon, successExitStatus: ExitStatusSet())))
        #expect(!h.history.contains(.markReady))
    }

    @Test func forkingWithoutAMainPIDRunsWhileAnyProcessDoes() {
        var h = Harness(RestartPolicy(type: .forking), ServiceCommands(stop: [.plain]))
        h.send(.startRequested)
        h.send(.spawned(pid: 10))
        h.send(.mainExited(.exited(code: 0)))
        h.send(.daemonFound(pid: nil))
        #expect(h.state == .running)
        #expect(h.machine.mainPIDUnknown)
        #expect(h.machine.mainPID == nil)
        // The last process ending is the end: cleanly, so ExecStop= runs, then down.
        let gone = h.send(.allProcessesGone)
        #expect(gone.contains(.runCommand(.stop, index: 0, resultEnvironment: ServiceResultEnvironment(result: .success, mainExit: .exited(code: 0)))))
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .inactive)
    }

    @Test func forkingStopSignalsEveryProcessWithoutAMainPID() {
        var h = Harness(RestartPolicy(type: .forking))
        h.send(.startRequested)
        h.send(.spawned(pid: 10))
        h.send(.mainExited(.exited(code: 0)))
        h.send(.daemonFound(pid: nil))
        let stop = withoutLogs(h.send(.stopRequested))
        #expect(stop.contains(.sendSignal(Sig.term, to: .allProcesses)))
        #expect(h.state == .stopping(.stopSignal))
        h.send(.allProcessesGone)
        #expect(h.state == .inactive)
    }

    @Test func forkingDaemonNamingItselfWithMAINPIDCompletesTheStart() {
        var h = Harness(RestartPolicy(type: .forking))
        h.send(.startRequested)
        h.send(.spawned(pid: 10))
        let named = withoutLogs(h.send(.notify(.mainPID(43))))
        #expect(named == [.watchMainPID(43), .cancelTimer(.startTimeout), .markReady])
        #expect(h.state == .running)
        // The parent's exit is no longer the main process's.
        #expect(h.send(.mainExited(.exited(code: 0))).contains(.recordExit(.main(index: 0), .exited(code: 0), result: .success)))
    }

    @Test func forkingTimesOutWaitingForTheDaemon() {
        var h = Harness(RestartPolicy(type: .forking, timeoutStartUSec: .seconds(3)))
        h.send(.startRequested)
        h.send(.spawned(pid: 10))
        h.send(.mainExited(.exited(code: 0)))
        let timeout = h.fire(.startTimeout)
        #expect(logEvents(timeout) == ["start-timeout"])
        // A late answer of the search changes nothing.
        #expect(withoutLogs(h.send(.daemonFound(pid: 42))).isEmpty)
        h.send(.allProcessesGone)
        #expect(h.state == .failed(.timeout))
    }

    @Test func forkingReloadAsksForThePIDFileAgain() {
        var h = Harness(RestartPolicy(type: .forking), ServiceCommands(reload: [.plain]))
        h.send(.startRequested)
        h.send(.spawned(pid: 10))
        h.send(.mainExited(.exited(code: 0)))
        h.send(.daemonFound(pid: 42))
        h.send(.reloadRequested)
        let done = h.send(.hookExited(.exited(code: 0)))
        #expect(done.last == .findMainPID)
        // A new pid there is followed as MAINPID= would be.
        #expect(withoutLogs(h.send(.notify(.mainPID(43)))) == [.watchMainPID(43)])
        #expect(h.machine.mainPID == 43 && h.state == .running)
        // A failed reload does not.
        h.send(.reloadRequested)
        #expect(!h.send(.hookExited(.exited(code: 1))).contains(.findMainPID))
    }

    @Test func daemonFoundOutsideAForkingStartIsIgnored() {
        var h = Harness(RestartPolicy(type: .simple))
        h.startToRunning()
        #expect(h.send(.daemonFound(pid: 5)).isEmpty)
        #expect(h.machine.mainPID == 100)
    }

    // MARK: Type=dbus

    @Test func dbusIsStartedWhenItsNameAppears() {
        var h = Harness(RestartPolicy(type: .dbus))
        h.send(.startRequested)
        h.send(.spawned(pid: 10))
        #expect(h.machine.activeState == "activating")
        let acquired = withoutLogs(h.send(.busNameAcquired))
        #expect(acquired == [.cancelTimer(.startTimeout), .markReady])
        #expect(h.state == .running)
    }

    @Test func dbusWithoutABusFailsTheStart() {
        var h = Harness(RestartPolicy(type: .dbus))
        h.send(.startRequested)
        let refused = h.send(.spawnFailed(reason: "Type=dbus: there is no system bus"))
        #expect(logEvents(refused) == ["spawn-failed", "failed"])
        #expect(h.state == .failed(.resources))
    }

    @Test func dbusExitBeforeTheNameIsAFailure() {
        var h = Harness(RestartPolicy(type: .dbus))
        h.send(.startRequested)
        h.send(.spawned(pid: 10))
        h.mainDies(.exited(code: 0))
        #expect(h.state == .failed(.resources))
    }

    // MARK: RemainAfterExit=

    @Test(arguments: [ServiceType.oneshot, .simple, .forking])
    func remainAfterExitStaysActiveThenStopRunsExecStop(type: ServiceType) {
        var h = Harness(RestartPolicy(type: type, remainAfterExit: true), ServiceCommands(stop: [.plain]))
        h.send(.startRequested)
        h.send(.spawned(pid: 7))
        if type == .forking {
            h.send(.mainExited(.exited(code: 0)))
            h.send(.daemonFound(pid: 8))
        }
        h.mainDies(.exited(code: 0))
        #expect(h.state == .exited)
        #expect(h.machine.activeState == "active" && h.machine.subState == "exited")
        let stop = h.send(.stopRequested)
        #expect(stop.contains { if case .runCommand(.stop, 0, _) = $0 { true } else { false } })
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .inactive)
    }

    @Test func remainAfterExitDoesNotHideAFailure() {
        var h = Harness(RestartPolicy(type: .simple, remainAfterExit: true))
        h.startToRunning()
        h.mainDies(.exited(code: 3))
        #expect(h.state == .failed(.exitCode))
    }

    // MARK: ExecReload=

    @Test func reloadRunsEachCommandThenReturnsToRunning() {
        var h = Harness(RestartPolicy(timeoutStartUSec: .seconds(5)), ServiceCommands(reload: [.plain, .plain]))
        h.startToRunning()
        #expect(h.machine.reloadRefusal == nil)
        let first = withoutLogs(h.send(.reloadRequested))
        #expect(first == [.runCommand(.reload, index: 0, resultEnvironment: nil), .setTimer(.reloadTimeout, at: seconds(5))])
        #expect(h.state == .reloading && h.machine.activeState == "reloading" && h.machine.subState == "reload")
        #expect(h.machine.reloadStep == .command(index: 0))
        #expect(h.machine.reloadRefusal == "is already reloading")
        h.send(.spawned(pid: 200))
        let second = withoutLogs(h.send(.hookExited(.exited(code: 0)), at: seconds(1)))
        #expect(second.contains(.runCommand(.reload, index: 1, resultEnvironment: nil)))
        #expect(second.contains(.setTimer(.reloadTimeout, at: seconds(6))))
        h.send(.spawned(pid: 201))
        let done = h.send(.hookExited(.exited(code: 0)))
        #expect(logEvents(done) == ["reloaded"])
        #expect(done.contains(.cancelTimer(.reloadTimeout)))
        #expect(h.state == .running)
        #expect(h.machine.reloadStep == nil)
        #expect(h.machine.reloadResult == .success)
        #expect(h.machine.result == .success)
    }

    @Test(arguments: [ExitStatus.exited(code: 1), .killed(signal: Sig.segv, coreDumped: false)])
    func failedReloadLeavesTheServiceRunning(status: ExitStatus) {
        var h = Harness(RestartPolicy(restart: .onFailure), ServiceCommands(reload: [.plain, .plain]))
        h.startToRunning()
        h.send(.reloadRequested)
        h.send(.spawned(pid: 200))
        let failed = h.send(.hookExited(status))
        #expect(logEvents(failed) == ["reload-failed"])
        #expect(!failed.contains(.runCommand(.reload, index: 1, resultEnvironment: nil)))
        #expect(h.state == .running)
        #expect(h.machine.reloadResult == ServiceResult(status, judgedAs: .controlCommand, successExitStatus: ExitStatusSet()))
        // The reload's failure is not the service's: a later clean stop is a success.
        #expect(h.machine.result == .success)
        h.send(.reloadRequested)
        #expect(h.machine.reloadResult == nil, "a new reload forgets the last one's result")
    }

    @Test func ignoredReloadFailureGoesOn() {
        var h = Harness(RestartPolicy(), ServiceCommands(reload: [.ignoringFailure, .plain]))
        h.startToRunning()
        h.send(.reloadRequested)
        let next = h.send(.hookExited(.exited(code: 2)))
        #expect(logEvents(next) == ["failure-ignored"])
        #expect(next.contains(.runCommand(.reload, index: 1, resultEnvironment: nil)))
    }

    @Test func reloadTimeoutKillsTheCommandAndKeepsRunning() {
        var h = Harness(RestartPolicy(timeoutStartUSec: .seconds(2)), ServiceCommands(reload: [.plain]))
        h.startToRunning()
        h.send(.reloadRequested)
        h.send(.spawned(pid: 200))
        let timeout = h.fire(.reloadTimeout)
        #expect(logEvents(timeout) == ["reload-timeout"])
        #expect(withoutLogs(timeout) == [.sendSignal(Sig.kill, to: .controlProcess)])
        #expect(h.state == .running)
        #expect(h.machine.reloadResult == .timeout)
        // The killed command's end, when it comes, changes nothing.
        #expect(h.send(.hookExited(.killed(signal: Sig.kill, coreDumped: false))).isEmpty)
    }

    @Test func mainExitDuringAReloadCommandWaitsForTheCommand() {
        var h = Harness(RestartPolicy(restart: .onFailure), ServiceCommands(reload: [.plain]))
        h.startToRunning()
        h.send(.reloadRequested)
        h.send(.spawned(pid: 200))
        h.send(.mainExited(.exited(code: 1)))
        #expect(h.state == .reloading)
        h.send(.hookExited(.exited(code: 0)))
        h.send(.allProcessesGone)
        guard case .autoRestartWait = h.state else {
            Issue.record("the main process's failure restarts once the reload ended, got \(h.state)")
            return
        }
    }

    @Test func reloadOfAnExitedServiceReturnsToExited() {
        var h = Harness(RestartPolicy(type: .oneshot, remainAfterExit: true), ServiceCommands(reload: [.plain]))
        h.send(.startRequested)
        h.send(.spawned(pid: 7))
        h.mainDies(.exited(code: 0))
        #expect(h.machine.reloadRefusal == nil)
        h.send(.reloadRequested)
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .exited)
    }

    /// As systemd, the reload command killed by the stop is judged as any control
    /// process's end: the stop's result is `signal`.
    @Test func stopDuringAReloadSignalsTheCommandToo() {
        var h = Harness(RestartPolicy(killMode: .mixed), ServiceCommands(reload: [.plain]))
        h.startToRunning()
        h.send(.reloadRequested)
        h.send(.spawned(pid: 200))
        let stop = withoutLogs(h.send(.stopRequested))
        #expect(stop.contains(.sendSignal(Sig.term, to: .mainProcess)))
        #expect(stop.contains(.sendSignal(Sig.term, to: .controlProcess)))
        #expect(h.machine.reloadStep == nil)
        h.send(.hookExited(.killed(signal: Sig.term, coreDumped: false)))
        h.send(.mainExited(.killed(signal: Sig.term, coreDumped: false)))
        h.send(.allProcessesGone)
        #expect(h.state == .failed(.signal))
    }

    static let refusals: [(ServiceCommands, ServiceType, Bool, String?)] = [
        // (commands, type, reaches running?, expected refusal)
        (ServiceCommands(), .simple, true, "has no ExecReload= (a reload is not applicable)"),
        (ServiceCommands(reload: [.plain]), .simple, false, "is not active (inactive), cannot reload"),
        (ServiceCommands(), .notifyReload, true, nil),
        (ServiceCommands(reload: [.plain]), .simple, true, nil),
    ]

    @Test(arguments: refusals)
    func reloadRefusals(commands: ServiceCommands, type: ServiceType, running: Bool, refusal: String?) {
        var h = Harness(RestartPolicy(type: type), commands)
        if running { h.startToRunning() }
        #expect(h.machine.reloadRefusal == refusal)
        if refusal != nil {
            let before = h.state
            #expect(h.send(.reloadRequested).isEmpty)
            #expect(h.state == before)
        }
    }

    // MARK: Type=notify-reload

    @Test func notifyReloadSignalsThenWaitsForReloadingThenReady() {
        var h = Harness(RestartPolicy(type: .notifyReload, reloadSignal: Sig.usr1))
        h.startToRunning()
        let reload = withoutLogs(h.send(.reloadRequested))
        #expect(reload == [.sendSignal(Sig.usr1, to: .mainProcess), .setTimer(.reloadTimeout, at: seconds(90))])
        #expect(h.machine.reloadStep == .signalSent)
        // READY=1 before RELOADING=1 does not end it.
        h.send(.notify(.ready))
        #expect(h.state == .reloading)
        h.send(.notify(.reloading))
        #expect(h.machine.reloadStep == .notified)
        let ready = h.send(.notify(.ready))
        #expect(logEvents(ready) == ["reloaded"])
        #expect(h.state == .running)
    }

    @Test func notifyReloadWithoutAnswerTimesOutAndKeepsRunning() {
        var h = Harness(RestartPolicy(type: .notifyReload))
        h.startToRunning()
        h.send(.reloadRequested)
        #expect(h.history.contains(.sendSignal(Sig.hup, to: .mainProcess)))
        let timeout = h.fire(.reloadTimeout)
        #expect(logEvents(timeout) == ["reload-timeout"])
        #expect(!timeout.contains { if case .sendSignal = $0 { true } else { false } })
        #expect(h.state == .running)
    }

    @Test func mainExitDuringANotifiedReloadEndsItAsAnyMainExit() {
        var h = Harness(RestartPolicy(type: .notify, remainAfterExit: true))
        h.startToRunning()
        h.send(.notify(.reloading))
        #expect(h.machine.timers[.reloadTimeout] != nil)
        h.send(.mainExited(.exited(code: 0)))
        #expect(h.state == .exited)
        #expect(h.machine.timers[.reloadTimeout] == nil)
        #expect(h.machine.reloadStep == nil)
    }

    @Test func readyDuringAReloadCommandDoesNotEndIt() {
        var h = Harness(RestartPolicy(type: .notify), ServiceCommands(reload: [.plain]))
        h.startToRunning()
        h.send(.reloadRequested)
        h.send(.notify(.ready))
        #expect(h.state == .reloading)
        h.send(.hookExited(.exited(code: 0)))
        #expect(h.state == .running)
    }
}

/// The keys of the service types as the loader reads and checks them.
@Suite struct ServiceTypeKeyTests {
    func load(_ body: String, systemBus: Bool? = nil) -> ConfigurationLoader.Result {
        var tree = Tree()
        tree.unit("d.service", service(body))
        var host = HostFacts(onlineCPUs: CPUSet(0...1), physicalMemoryBytes: 8 << 30, pidMax: 4_194_304)
        host.systemBusPresent = systemBus
        return tree.load(host: host)
    }

    @Test(arguments: [("/run/d.pid", "/run/d.pid"), ("d/d.pid", "/run/d/d.pid")])
    func pidFileRelativeIsBelowRun(value: String, path: String) {
        let result = load("Type=forking\nPIDFile=\(value)")
        #expect(result.configuration?.services.first?.pidFile == path)
    }

    @Test func keysReachThePolicy() throws {
        let result = load("Type=notify-reload\nRemainAfterExit=yes\nReloadSignal=SIGUSR2\nGuessMainPID=no")
        let service = try #require(result.configuration?.services.first, "\(result.diagnostics)")
        #expect(service.restartPolicy.type == .notifyReload)
        #expect(service.restartPolicy.remainAfterExit)
        #expect(service.restartPolicy.reloadSignal == 12)
        #expect(service.guessMainPID == false)
        #expect(ServiceConfig(name: service.name, location: service.location).restartPolicy.reloadSignal == Sig.hup)
        // Read, not "not enforced".
        #expect(result.warnings.isEmpty, "\(result.warnings)")
    }

    @Test func dbusNeedsBusName() {
        let result = load("Type=dbus")
        #expect(result.errors.map(\.key) == ["Type"])
        #expect(result.errors.first?.message.contains("Type=dbus needs BusName=") == true)
    }

    @Test(arguments: [(false as Bool?, 1), (true, 0), (nil, 0)])
    func dbusWithoutASystemBusIsAWarning(systemBus: Bool?, warnings: Int) {
        let result = load("Type=dbus\nBusName=org.example.Demo", systemBus: systemBus)
        #expect(result.errors.isEmpty)
        #expect(result.warnings.count == warnings, "\(result.warnings)")
        if warnings > 0 { #expect(result.warnings.first?.message.contains("no D-Bus system bus") == true) }
    }

    @Test(arguments: ["org.freedesktop.PolicyKit1", "net.example-x.Y_z"])
    func validBusNames(name: String) {
        #expect((try? BusNameSyntax.parse(name).get()) == name)
    }

    @Test(arguments: ["", "single", "org..x", "org.1abc", "org.exa mple", ":1.42", String(repeating: "a.", count: 130) + "b"])
    func invalidBusNames(name: String) {
        #expect((try? BusNameSyntax.parse(name).get()) == nil)
    }
}
