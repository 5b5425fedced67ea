import Logging
import WardenCore
import WardenLinux

// `Duplicates=` before each start of a component's main process: the initial start, an
// operator's start or restart, and every automatic restart.
//
// The check sits in front of the component's machine rather than inside it: `pump` hands
// each event to `admit`, which asks a copy of the machine whether the event begins a
// start (the machine is a value type made for such "what if" questions). Only then is
// /proc scanned, once, for this one component, and the policy decides what reaches the
// machine instead:
// - none found, or `warn`: the event itself (with one warning for `warn`);
// - `refuse`: `startBlocked`, so the component rests in `blocked` with the reason, down
//   until an operator's start or restart (which is checked again); a start that would
//   follow a stop (a restart) first has its pending start cancelled with `stopRequested`;
// - `kill`: nothing yet. The event is held while the copies get Signal.terminate, then Signal.kill
//   after `TimeoutStopSec=`, through pidfds verified against each copy's start time, all
//   driven by the loop (pidfd readability and timers, never a blocking wait); once every
//   copy is gone the held event is posted again and checked again;
// - `adopt`: the event, with the copy held by a verified pidfd as the component's
//   `takeover`; when the machine asks for the main process, it is taken over instead of
//   spawned (`Supervisor+Adoption`).

/// A `Duplicates=kill` under way: the start it holds and the copies not yet gone.
final class DuplicateKillRun {
    /// The start event to post again once every copy is gone; nil once a stop cancelled it.
    var heldEvent: ComponentEvent?
    /// Copies still running, by PID, with their loop registration.
    var pending: [Int32: (process: VerifiedProcess, registration: EventLoop.RegistrationID)] = [:]
    var timer: EventLoop.TimerID?
    var sentKill = false
    /// `duplicate PID 1234 (cmdline)`, for the log and a refusal.
    let description: String
    /// Outcomes by copy, for the log line at the end.
    var outcomes: [ProcessIdentity: DuplicateKillOutcome] = [:]

    init(heldEvent: ComponentEvent, description: String) {
        self.heldEvent = heldEvent
        self.description = description
    }
}

extension Supervisor {
    /// The events to feed to `c`'s machine in place of `event` (see the comment at the top
    /// of this file). Called by `pump` for every event it dequeues.
    func admit(_ event: ComponentEvent, for c: Component) -> [ComponentEvent] {
        if let kill = c.duplicateKill, kill.heldEvent != nil {
            switch event {
            case .stopRequested:
                // The operator (or the shutdown) wants it down: the start is off; the
                // copies already signalled are left to their fate.
                logger.info("start cancelled while its duplicates are being stopped", metadata: unit(c))
                kill.heldEvent = nil
                c.stack.startQueued = false
                return [event]
            case .startRequested, .restartRequested:
                // A start is already held for this component.
                return []
            default:
                break
            }
        }
        guard phase == .running, mayStartMainProcess(event, c) else { return [event] }
        // What follows changes nothing for an automatic restart of a unit without
        // Duplicates= (see below): said before asking a copy of the machine, which
        // cost two machine runs per restart of a crash loop.
        if c.forcedDuplicateRefusal == nil && c.takeover == nil && c.config.duplicates == nil
            && event != .startRequested
        {
            return [event]
        }
        guard beginsStart(event, c) else { return [event] }
        if let reason = c.forcedDuplicateRefusal {
            c.forcedDuplicateRefusal = nil
            return refusing(event, reason, for: c)
        }
        // A process taken over at this start is the component itself, not a copy.
        if c.takeover != nil { return [event] }
        // Unset Duplicates= only warns, and a warning cannot change the start: a /proc
        // scan at every automatic restart would double a crash loop's restart cost for a
        // log line. The implicit default is checked when a start is asked for (the first
        // start, `warden start`, a reload), once for all the components that pass of the
        // loop started, after their spawns (`warnOfImplicitDuplicates`); an explicit
        // policy before every start.
        if c.config.duplicates == nil {
            if event == .startRequested { takeoverState.implicitDuplicateChecks.append(c.name) }
            return [event]
        }
        guard let target = duplicateTarget(for: c) else { return [event] }
        let copies = duplicatesOutsideWarden(of: [target])[0]
        let decision = target.policy.decide(duplicates: copies, wardenPIDs: [ThisProcess.pid])
        switch decision {
        case .start:
            c.duplicateKillRounds = 0
            return [event]
        case .startWithWarning(let message):
            logger.warning("\(message)", metadata: unit(c))
            return [event]
        case .refuse(let reason):
            return refusing(event, reason, for: c)
        case .killThenStart(let targets):
            // A copy that came back after a kill (something restarts it) is not fought in
            // a loop: the start is refused and the operator decides.
            if c.duplicateKillRounds >= 1 {
                c.duplicateKillRounds = 0
                return refusing(
                    event, "blocked: \(describe(copies)) running again after Duplicates=kill stopped the previous copy",
                    for: c)
            }
            c.duplicateKillRounds += 1
            beginDuplicateKill(targets, holding: event, description: describe(copies), for: c)
            return []
        case .adopt(let identity):
            switch VerifiedProcess.open(identity) {
            case .success(let process):
                let pidfd: Int32
                switch Descriptors.duplicate(process.pidfd) {
                case .success(let copy): pidfd = copy
                case .failure(let error):
                    return refusing(event, "blocked: \(describe(copies)); cannot hold it: \(errnoDescription(error.errno))", for: c)
                }
                c.takeover = PendingTakeover(
                    identity: identity, pidfd: pidfd, origin: .duplicate(describe(copies)), invocationID: nil)
                return [event]
            case .failure(.gone), .failure(.identityChanged):
                // It went away between the scan and now: nothing to adopt, start as usual.
                logger.info("the duplicate to adopt exited before it could be taken over; starting", metadata: unit(c))
                return [event]
            case .failure(.failed(let error)):
                return refusing(event, "blocked: \(describe(copies)); cannot adopt it: \(error)", for: c)
            }
        }
    }

    /// Cheap pre-filter for the dry run: only these events, or any event while a stop
    /// with a pending start is under way, can begin a start.
    private func mayStartMainProcess(_ event: ComponentEvent, _ c: Component) -> Bool {
        switch event {
        case .startRequested, .restartRequested, .timerFired(.restartDelay): return true
        default: break
        }
        if case .stopping = c.machine.state { return true }
        return false
    }

    /// Whether feeding `event` would begin a start (the machine logs `starting`), asked of
    /// a copy of the machine.
    private func beginsStart(_ event: ComponentEvent, _ c: Component) -> Bool {
        var copy = c.machine
        var scratch = SystemRandomNumberGenerator()
        let actions = copy.handle(event, now: Self.now(), rng: &scratch)
        return actions.contains { action in
            if case .log(.starting, _) = action { return true }
            return false
        }
    }

    /// `event` replaced by what leaves the component blocked with `reason`.
    private func refusing(_ event: ComponentEvent, _ reason: String, for c: Component) -> [ComponentEvent] {
        c.duplicateKillRounds = 0
        if event == .startRequested { c.stack.startQueued = false }
        // A stop whose end would start again: cancel the pending start first, let the
        // stop end, then block.
        if case .stopping = c.machine.state { return [.stopRequested, event, .startBlocked(reason: reason)] }
        return [.startBlocked(reason: reason)]
    }

    private func describe(_ copies: [ScannedProcess]) -> String {
        DuplicatePolicy.summary(of: copies)
    }

    /// What a copy of `c` looks like: its resolved executable and arguments, with its
    /// `DuplicateMatch=` and `Duplicates=` (defaults: `executable+arguments`, `warn`).
    /// nil for a component without `ExecStart=`.
    func duplicateTarget(for c: Component) -> DuplicateTarget? {
        let service = c.config
        guard let command = service.execStart.first?.command else { return nil }
        let found =
            ExecutableSearch.resolve(command.path, in: options.executableSearchPath, fileSystem: LocalFileSystem())
            ?? command.path
        var pidFilePID: Int32?
        if case .pidFile(let path) = service.duplicateMatch { pidFilePID = DuplicateTargets.readPIDFile(path) }
        return DuplicateTarget(
            component: c.name, executablePath: DuplicateTargets.canonicalPath(found), arguments: command.arguments,
            match: service.duplicateMatch, policy: service.duplicates, pidFilePID: pidFilePID)
    }

    /// One /proc scan: the copies of `target` that are not Warden's, oldest first.
    ///
    /// Warden's are: the main and control processes of every component (and processes to
    /// be taken over) with their descendants; everything in Warden's cgroup subtree when
    /// it manages one; every descendant of Warden when it reaps all orphans (`warden run`,
    /// where each child is a component's); and any process whose environment carries the
    /// `INVOCATION_ID` of a current or last run (a `KillMode=process` leftover reparented
    /// away). Warden itself never counts as a copy.
    func duplicatesOutsideWarden(of targets: [DuplicateTarget]) -> [[ScannedProcess]] {
        var pids = Set<Int32>()
        var invocationIDs = Set<String>()
        for c in allComponents {
            if let pid = c.main?.pid { pids.insert(pid) }
            if let pid = c.control?.pid { pids.insert(pid) }
            if let takeover = c.takeover { pids.insert(takeover.identity.pid) }
            if let id = c.invocationID { invocationIDs.insert(id) }
            if let id = c.lastRun?.invocationID { invocationIDs.insert(id) }
        }
        let own = ThisProcess.pid
        if options.reapAllOrphans { pids.insert(own) }
        let warden = WardenProcesses(pids: pids, cgroups: takeoverState.wardenCgroupRoot(cgroups).map { [$0] } ?? [])
        let detection = DuplicateDetector().detect(targets, warden: warden, reusing: &takeoverState.duplicateScan)
        takeoverState.lastScanMicroseconds = detection.elapsedMicroseconds
        logger.debug(
            "duplicate scan for \(targets.map(\.component).joined(separator: ", ")): \(detection.processes.count) processes in \(detection.elapsedMicroseconds) µs")
        return detection.copies.map { copies in
            copies.duplicates.filter { copy in
                copy.pid != own
                    && !invocationIDs.contains { ProcessTable.environment(of: copy.pid, contains: "INVOCATION_ID=\($0)") }
            }
        }
    }

    /// The implicit `Duplicates=warn` of the components started in this pass of the loop,
    /// in one scan after their spawns: what they started is Warden's own by then, and a
    /// warning changes nothing that waiting for it would have saved (100 components at
    /// start-up: one scan instead of one per component on the way to the last spawn).
    func warnOfImplicitDuplicates() {
        let names = takeoverState.implicitDuplicateChecks
        guard !names.isEmpty else { return }
        takeoverState.implicitDuplicateChecks = []
        // Resolved here, not at admission: the executable's search touches the file system.
        let targets = names.compactMap { components[$0] }.compactMap(duplicateTarget(for:))
        guard !targets.isEmpty else { return }
        for (target, copies) in zip(targets, duplicatesOutsideWarden(of: targets)) {
            guard case .startWithWarning(let message) = target.policy.decide(duplicates: copies, wardenPIDs: [ThisProcess.pid]),
                let c = components[target.component]
            else { continue }
            logger.warning("\(message)", metadata: unit(c))
        }
    }

    // MARK: Duplicates=kill

    /// The bound of the Signal.terminate phase: the component's `TimeoutStopSec=`, or 10 s when it
    /// is `infinity` or 0 (a start must not wait for ever on someone else's process).
    func duplicateTermTimeout(for c: Component) -> TimeSpan {
        let stop = c.machine.policy.timeoutStopUSec
        return stop.isInfinite || stop.usec == 0 ? DuplicateKillSequence.default.termTimeout : stop
    }

    /// Signal.terminate to every copy through a pidfd verified against the copy's start time, then
    /// the loop waits: each pidfd turns readable when its process exits; a timer sends
    /// Signal.kill to what is left after `duplicateTermTimeout`, and one more after the kill
    /// timeout gives up (the start is then refused).
    func beginDuplicateKill(_ targets: [ProcessIdentity], holding event: ComponentEvent, description: String, for c: Component) {
        let run = DuplicateKillRun(heldEvent: event, description: description)
        c.duplicateKill = run
        // Keep units ordered after this one waiting: its start is still to come.
        c.stack.startQueued = true
        let termTimeout = duplicateTermTimeout(for: c)
        logger.warning(
            "\(description) running outside Warden; stopping it before the start (Duplicates=kill: Signal.terminate, Signal.kill after \(termTimeout.usec / 1000) ms)",
            metadata: unit(c))
        for identity in targets {
            switch VerifiedProcess.open(identity) {
            case .success(let process):
                switch process.signal(Signal.terminate) {
                case 0:
                    do {
                        let registration = try loop.register(fd: process.pidfd, for: .readable) {
                            [unowned self, weak c] _ in
                            guard let c else { return }
                            self.duplicateExited(identity, of: c, run: run)
                        }
                        run.pending[identity.pid] = (process, registration)
                    } catch {
                        // Not watchable: the copy was signalled; its exit is learnt by the
                        // scan of the next start attempt.
                        run.outcomes[identity] = .failed("cannot watch its pidfd: \(error)")
                    }
                case Errno.noSuchProcess:
                    run.outcomes[identity] = .alreadyGone
                case let code:
                    run.outcomes[identity] = .failed(
                        ProcessControlError(operation: "pidfd_send_signal(PID \(identity.pid), Signal.terminate)", errno: code)
                            .description)
                }
            case .failure(.gone):
                run.outcomes[identity] = .alreadyGone
            case .failure(.identityChanged(let found)):
                // The PID names another process now: never signalled.
                run.outcomes[identity] = .identityChanged(foundStartTimeTicks: found)
            case .failure(.failed(let error)):
                run.outcomes[identity] = .failed(error.description)
            }
        }
        if run.pending.isEmpty {
            duplicateKillEnded(run, of: c)
            return
        }
        run.timer = loop.addTimer(after: termTimeout) { [unowned self, weak c] in
            guard let c else { return }
            run.timer = nil
            self.duplicateKillTimedOut(run, of: c)
        }
    }

    private func duplicateExited(_ identity: ProcessIdentity, of c: Component, run: DuplicateKillRun) {
        guard let entry = run.pending.removeValue(forKey: identity.pid) else { return }
        loop.unregister(entry.registration)
        run.outcomes[identity] = run.sentKill ? .killed : .terminated
        if run.pending.isEmpty { duplicateKillEnded(run, of: c) }
    }

    private func duplicateKillTimedOut(_ run: DuplicateKillRun, of c: Component) {
        guard c.duplicateKill === run else { return }
        if !run.sentKill {
            run.sentKill = true
            for (pid, entry) in run.pending {
                let code = entry.process.signal(Signal.kill)
                if code != 0 && code != Errno.noSuchProcess {
                    logger.warning(
                        "Signal.kill to duplicate PID \(pid): \(errnoDescription(code))", metadata: unit(c))
                }
            }
            run.timer = loop.addTimer(after: DuplicateKillSequence.default.killTimeout) { [unowned self, weak c] in
                guard let c else { return }
                run.timer = nil
                self.duplicateKillTimedOut(run, of: c)
            }
            return
        }
        for (pid, entry) in run.pending {
            loop.unregister(entry.registration)
            run.outcomes[entry.process.identity] = .failed(
                "PID \(pid) still running \(DuplicateKillSequence.default.killTimeout.usec / 1000) ms after Signal.kill (uninterruptible sleep?)")
        }
        run.pending.removeAll()
        duplicateKillEnded(run, of: c)
    }

    /// Every copy is gone (or given up on): log how each ended and post the held start
    /// again, which checks once more (or is refused, when a copy survived).
    private func duplicateKillEnded(_ run: DuplicateKillRun, of c: Component) {
        if let timer = run.timer {
            loop.cancelTimer(timer)
            run.timer = nil
        }
        if c.duplicateKill === run { c.duplicateKill = nil }
        let summary = run.outcomes.sorted { $0.key.pid < $1.key.pid }
            .map { "PID \($0.key.pid) \($0.value)" }.joined(separator: "; ")
        let survivors = run.outcomes.filter { !$0.value.isGone }
        if survivors.isEmpty {
            logger.notice("duplicates stopped: \(summary)", metadata: unit(c))
        } else {
            logger.warning("duplicates not stopped: \(summary)", metadata: unit(c))
        }
        guard let event = run.heldEvent else { return }
        run.heldEvent = nil
        guard phase == .running else {
            c.stack.startQueued = false
            return
        }
        if !survivors.isEmpty {
            c.forcedDuplicateRefusal = "blocked: \(run.description); Duplicates=kill could not stop it"
        }
        post(c, event)
    }

    /// At the end of the supervisor: no kill may outlive it.
    func cancelDuplicateKills() {
        for c in allComponents {
            guard let run = c.duplicateKill else { continue }
            if let timer = run.timer { loop.cancelTimer(timer) }
            for entry in run.pending.values { loop.unregister(entry.registration) }
            run.pending.removeAll()
            run.heldEvent = nil
            c.duplicateKill = nil
        }
    }
}
