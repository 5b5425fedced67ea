import Logging
import WardenCore
import WardenLinux

/// The stack's start, stop propagation and shutdown: the planner's decisions carried out
/// (loop thread).
extension Supervisor {
    // MARK: Orchestration

    /// Starts what may start, swaps reloaded configurations in, and drives a shutdown.
    func orchestrate() {
        guard phase == .running || phase == .shuttingDown else { return }
        // While running, the plan has something to do only for a component that waits to
        // start, awaits its reloaded configuration or was removed; most passes of the pump
        // (every restart's) have none, and skip building the members.
        if phase == .running && !retired.contains(where: { _ in true })
            && !components.values.contains(where: \.awaitsPlan)
        {
            return
        }
        let queueIsEmpty = queue.isEmpty
        plan { planner, members, _ in planner.orchestrate(&members, queueIsEmpty: queueIsEmpty) }
    }

    /// Runs one step of the planner over every component (current, then retired), keeps
    /// the members it changed and carries out its decisions.
    func plan(_ step: (inout StackPlanner, inout [StackMember], [Component]) -> [StackDecision]) {
        let list = allComponents
        var members = list.map(\.stack)
        let decisions = step(&planner, &members, list)
        for (c, member) in zip(list, members) { c.stack = member }
        for decision in decisions { carryOut(decision, list) }
    }

    func carryOut(_ decision: StackDecision, _ list: [Component]) {
        switch decision {
        case .forget(let i):
            retired.removeAll { $0 === list[i] }
        case .replaceConfiguration(let i):
            let c = list[i]
            guard let new = c.pendingConfig else { return }
            c.pendingConfig = nil
            c.replaceConfiguration(new, priority: configuration.effectivePriority(of: new))
        case .start(let i):
            if deferIdleStart(list[i]) { return }
            queue.append((list[i], .startRequested))
        case .dependencyFailed(let i, let dependency):
            logger.warning("not started: dependency \(dependency) failed (result 'dependency')", metadata: unit(list[i]))
        case .dependencyMasked(let i, let dependency):
            logger.warning(
                "not started: it requires \(dependency), which is masked (result 'dependency'); unmask it or drop the Requires=",
                metadata: unit(list[i]))
        case .stop(let i, let reason):
            if case .stopsWith(let name) = reason {
                logger.info("stopping: \(name) stopped (Requires=/BindsTo=)", metadata: unit(list[i]))
            }
            queue.append((list[i], .stopRequested))
        case .shutDown(let cause):
            switch cause {
            case .criticalFailed(let name):
                let c = list.first { $0.name == name && !$0.stack.removed }
                logger.error(
                    "critical component failed for good (\(c?.machine.result.rawValue ?? "failed")); shutting down",
                    metadata: c.map(unit) ?? [:])
                exitCode = SupervisorExitCode.failure
            case .criticalCannotStart(let name):
                let c = list.first { $0.name == name && !$0.stack.removed }
                logger.error("critical component cannot start; shutting down", metadata: c.map(unit) ?? [:])
                exitCode = SupervisorExitCode.failure
            case .mainProgramEnded(let name):
                let c = list.first { $0.name == name && !$0.stack.removed }
                let code = MainProgram.exitCode(lastExit: c?.lastExit)
                logger.notice(
                    "the main program ended (\(c?.lastExit.map(describe) ?? "it never ran")); stopping the rest, then exiting \(code)",
                    metadata: c.map(unit) ?? [:])
            }
            let budget = configuration.settings.effectiveShutdownBudget(isPID1: ProcessControl.isPID1)
            shutdownTimers.append(loop.addTimer(after: budget) { [unowned self] in self.budgetExpired() })
            shutdownBegan(budget: budget)
        case .finish:
            finish()
        }
    }

    // MARK: Shutdown

    /// Begins the shutdown; `cause` is logged once the stop signals have gone out, so a
    /// container's stop reaches the components as fast as a minimal init passes it on.
    func beginShutdown(cause: (() -> String)? = nil) {
        let wasIdle = phase == .idle
        var began = false
        plan { planner, members, _ in
            began = planner.beginShutdown(&members)
            return []
        }
        guard began else {
            if let cause { logger.info("\(cause())") }
            if wasIdle { finish() }
            return
        }
        let budget = configuration.settings.effectiveShutdownBudget(isPID1: ProcessControl.isPID1)
        // With nothing to signal the shutdown ends within this pump: its lines come first.
        // Otherwise the pump sends the first stop signals before anything else is done,
        // the budget's timer and the log lines included.
        let signalsFirst = allComponents.contains { !$0.isDown }
        if !signalsFirst {
            shutdownTimers.append(loop.addTimer(after: budget) { [unowned self] in self.budgetExpired() })
            if let cause { logger.info("\(cause())") }
            shutdownBegan(budget: budget)
        }
        pump()
        if signalsFirst {
            shutdownTimers.append(loop.addTimer(after: budget) { [unowned self] in self.budgetExpired() })
            if let cause { logger.info("\(cause())") }
            shutdownBegan(budget: budget)
        }
    }

    /// Runs the shutdown's planning on copies of the planner and the machines, with no
    /// effect, and keeps the first stop signals it would send (`FirstStopSignals`): a
    /// component whose stop begins with a signal to its main process (no `ExecStop=`
    /// first). Running it also pays, ahead of time, for the Swift runtime's first-use
    /// work on these paths (generic metadata, code paged in).
    func prepareFirstStopSignals() {
        guard firstStopSignals.preparedAfterPump != pumps else { return }
        let list = allComponents
        var members = list.map(\.stack)
        var planner = self.planner
        var signals: [FirstStopSignals.Signal] = []
        if planner.beginShutdown(&members) {
            let now = Self.now()
            for decision in planner.orchestrate(&members, queueIsEmpty: false) {
                guard case .stop(let i, _) = decision else { continue }
                let c = list[i]
                guard let main = c.main, c.duplicateKill == nil else { continue }
                var machine = c.machine
                let first = machine.handle(.stopRequested, now: now, rng: &rng).first {
                    switch $0 {
                    case .setTimer, .cancelTimer: false
                    default: true
                    }
                }
                switch first {
                case .sendSignal(let number, .allProcesses), .sendSignal(let number, .mainProcess):
                    signals.append(FirstStopSignals.Signal(component: c, pid: main.pid, pidfd: main.pidfd, number: number))
                default:
                    break
                }
            }
        }
        firstStopSignals.prepare(signals, afterPump: pumps)
    }

    /// The effects of a shutdown the plan has begun, after its first stop signals: the
    /// log line and systemd's STOPPING=1.
    func shutdownBegan(budget: TimeSpan) {
        logger.info("shutting down (budget \(budget.usec / 1_000_000)s)")
        serviceManagerStopping(budget: budget)
    }

    func budgetExpired() {
        guard phase == .shuttingDown else { return }
        exitCode = SupervisorExitCode.failure
        let left = allComponents.filter { !$0.isDown }
        logger.error("shutdown budget used up; killing what is left: \(left.map(\.name).joined(separator: ", "))")
        for c in left { send(Signal.kill, to: .allProcesses, of: c) }
        shutdownTimers.append(loop.addTimer(after: options.shutdownKillGrace) { [unowned self] in
            guard self.phase == .shuttingDown else { return }
            self.logger.error("components still not down after Signal.kill; exiting anyway")
            self.finish()
        })
        pump()
    }

    /// A signal with no effect of its own on Warden: passed on to the main program when
    /// there is one and it is one of `SignalContract.forwarded`, else logged.
    func outsideSignal(_ info: EventLoop.SignalInfo) {
        let name = ProcessControl.signalName(info.signal)
        if SignalContract.forwarded.contains(info.signal), let main = options.mainProgram.flatMap({ components[$0] }) {
            if let process = main.main {
                try? ProcessControl.sendSignal(info.signal, toPidfd: process.pidfd)
                logger.info("\(name) from pid \(info.senderPID) passed on to the main program (pid \(process.pid))", metadata: unit(main))
            } else {
                logger.notice("\(name) from pid \(info.senderPID) not passed on: the main program does not run", metadata: unit(main))
            }
            return
        }
        guard info.signal != Signal.windowChange else { return }
        if info.signal == SignalContract.haltAsInit && ProcessControl.isPID1 {
            logger.info("\(name) from pid \(info.senderPID) (systemd's halt, a container runtime's stop): shutting down")
            beginShutdown()
            return
        }
        logger.notice("\(name) from pid \(info.senderPID) ignored (Warden stops on TERM or INT, reloads on HUP)")
    }

    func finish() {
        guard phase != .finished else { return }
        for timer in shutdownTimers { loop.cancelTimer(timer) }
        shutdownTimers.removeAll()
        var leftovers: [String] = []
        for c in allComponents {
            for run in [c.run, c.lastRun].compactMap({ $0 }) {
                let live = tracker.liveProcesses(of: run)
                if !live.isEmpty {
                    leftovers.append("\(c.name): \(live.map(String.init).joined(separator: " "))")
                    _ = tracker.signalAll(Signal.kill, of: run, sparing: [])
                }
            }
        }
        if !leftovers.isEmpty {
            logger.error("processes left behind (killed now): \(leftovers.joined(separator: "; "))")
            exitCode = SupervisorExitCode.failure
        }
        // Throttles undone (and recorded) before the groups go and Warden exits.
        for step in beforeExit { step() }
        beforeExit.removeAll()
        if let cgroups { removeSubtree(cgroups) }
        if let scopes { releaseScopes(scopes) }
        takeoversFinished()
        // The main program's status is Warden's, unless it ended cleanly and the rest
        // did not (something left behind, a critical failure).
        if let code = mainProgramExit, code != 0 || exitCode == SupervisorExitCode.clean { exitCode = code }
        planner.markFinished()
        logger.info("all components stopped; exit status \(exitCode)")
        finished.signal(exitCode)
    }
}
