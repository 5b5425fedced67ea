import Logging
import WardenCore
import WardenLinux

/// What `Type=forking`, `Type=idle` and `Type=dbus` wait on outside the component's own
/// processes, and `warden reload NAME` (loop thread).
extension Supervisor {
    /// How often a start that waits on the world looks again.
    static let startPollInterval = TimeSpan.milliseconds(50)
    /// systemd delays a `Type=idle` service at most this long (`IDLE_TIMEOUT_USEC`).
    static let idleStartLimit = TimeSpan.seconds(5)

    // MARK: Type=forking

    /// systemd `service_load_pid_file` / `service_search_main_pid`, after the forking
    /// parent exited cleanly. With `PIDFile=` the file is waited for (polled) until the
    /// start timeout, and its pid must be a live process of this component (Warden is a
    /// child subreaper or PID 1, so the daemon is Warden's child and its exit status is
    /// read). Without it, `GuessMainPID=yes` takes the one daemon left (a process whose
    /// parent is Warden); with several, there is no main process and the component runs
    /// while any of its processes does.
    func findMainPID(for c: Component) {
        if let timer = c.startPoll {
            loop.cancelTimer(timer)
            c.startPoll = nil
        }
        if c.machine.state == .running {
            rereadPIDFile(of: c)
            return
        }
        guard case .starting(.main(_, .forked)) = c.machine.state, let run = c.run else { return }
        let live = tracker.liveProcesses(of: run)
        if let path = c.config.pidFile {
            if let pid = DuplicateTargets.readPIDFile(path) {
                if live.contains(pid) {
                    logger.info("PIDFile=\(path): main process \(pid)", metadata: unit(c))
                    post(c, .daemonFound(pid: pid))
                    return
                }
                // Without cgroups a daemon that double-forked and rewrote its environment
                // for its process title (nginx, PostgreSQL) cannot be attributed by a scan.
                // It is Warden's child by now (child subreaper or PID 1): one that no other
                // run watches and that began after this start's ExecStart= process is the
                // daemon that process left behind. (systemd, with the group to go by,
                // accepts a pid outside it when the PID file is root's.)
                if let entry = ProcessTable.entry(of: pid), !entry.isZombie, entry.parentPID == ThisProcess.pid,
                    !watched.contains(pid), let began = c.forkingStartTicks, entry.startTime >= began
                {
                    tracker.claim(entry, for: run)
                    logger.info("PIDFile=\(path): main process \(pid) (left by ExecStart=, now Warden's child)", metadata: unit(c))
                    post(c, .daemonFound(pid: pid))
                    return
                }
                note(
                    "PIDFile=\(path) names pid \(pid), which is not a live process of the component; waiting for the file to name one",
                    for: c)
            }
            if live.isEmpty && daemonsOnTheirWay(of: c).isEmpty {
                // Nothing is left that could still write it.
                post(c, .spawnFailed(reason: "PIDFile=\(path) names no live process of the component and none is left (Type=forking)"))
                return
            }
            c.startPoll = loop.addTimer(after: Self.startPollInterval) { [unowned self] in
                c.startPoll = nil
                self.findMainPID(for: c)
                self.pump()
            }
            return
        }
        guard c.config.guessMainPID ?? true else {
            c.needsGoneCheck = true
            post(c, .daemonFound(pid: nil))
            return
        }
        // Without a main process the component is followed by scans of its processes.
        c.needsGoneCheck = true
        if live.isEmpty {
            queue.append((c, .allProcessesGone))
            post(c, .daemonFound(pid: nil))
            return
        }
        // systemd's `unit_search_main_pid`: only a process re-parented to the manager
        // counts (a daemon's own workers are its children, not candidates).
        let ownPID = ThisProcess.pid
        let daemons = live.filter { ProcessTable.entry(of: $0)?.parentPID == ownPID }
        if daemons.count == 1 {
            logger.info("main process guessed: pid \(daemons[0]), the one daemon left (GuessMainPID=yes)", metadata: unit(c))
            post(c, .daemonFound(pid: daemons[0]))
        } else {
            logger.notice(
                "cannot guess the main process: \(daemons.count) processes left of their parent, and no PIDFile=; running without one until all have ended",
                metadata: unit(c))
            post(c, .daemonFound(pid: nil))
        }
    }

    /// Without cgroups, a daemon that double-forked and cleared its environment is found by
    /// no scan until its PID file names it, and it may write the file well after its
    /// forking parent exited (a loaded host, a slow start). Warden's children that no run
    /// watches and that began after this start's ExecStart= process may be that daemon on
    /// its way: while one lives the file is waited for, as systemd waits while the
    /// service's cgroup is not empty (within the start timeout either way). With cgroups
    /// (or transient scopes) the group is exact and nothing is on its way outside it.
    /// Orphans another component's run is known to hold are not candidates.
    func daemonsOnTheirWay(of c: Component) -> [Int32] {
        guard cgroups == nil, scopes == nil, let began = c.forkingStartTicks,
            let children = ProcessTable.children(of: ThisProcess.pid)
        else { return [] }
        let candidates = children.filter { pid in
            guard !watched.contains(pid), let entry = ProcessTable.entry(of: pid) else { return false }
            return !entry.isZombie && entry.startTime >= began
        }
        guard !candidates.isEmpty else { return [] }
        let others = (components.values.filter { $0 !== c } + retired).compactMap(\.run)
        let held = Set(tracker.liveProcesses(of: others).joined())
        return candidates.filter { !held.contains($0) }
    }

    /// After a successful reload systemd reads `PIDFile=` again: a daemon that re-executed
    /// itself under a new pid is followed as the main process from then on.
    private func rereadPIDFile(of c: Component) {
        guard let path = c.config.pidFile, let pid = DuplicateTargets.readPIDFile(path), pid != c.main?.pid,
            let run = c.run, tracker.liveProcesses(of: run).contains(pid)
        else { return }
        logger.info("PIDFile=\(path) names pid \(pid) after the reload: the main process from now on", metadata: unit(c))
        post(c, .notify(.mainPID(pid)))
    }

    /// systemd `service_enter_dead` removes the `PIDFile=` of a service that is down, so
    /// the next start cannot read a stale one.
    func removePIDFile(of c: Component) {
        guard let path = c.config.pidFile, FileIO.exists(path) else { return }
        do {
            try FileIO.remove(path)
        } catch {
            logger.warning("cannot remove PIDFile=\(path): \(error)", metadata: unit(c))
        }
    }

    // MARK: Type=dbus

    /// Why a `Type=dbus` component cannot be started here; nil when it can (or is not dbus).
    func busRefusal(_ c: Component) -> String? {
        guard c.config.type == .dbus else { return nil }
        guard let name = c.config.busName else {
            return "Type=dbus needs BusName= (the name whose appearance on the system bus means started)"
        }
        let socket = SystemBusNames.socketPath
        guard FileIO.exists(socket) else {
            return "Type=dbus: there is no system bus here (\(socket) does not exist), so BusName=\(name) can never appear; run dbus, or use Type=simple or notify"
        }
        return nil
    }

    /// Polls the system bus for the owner of `BusName=` until the start ends one way or
    /// the other (the start timeout bounds it).
    func watchBusName(for c: Component) {
        if let timer = c.startPoll {
            loop.cancelTimer(timer)
            c.startPoll = nil
        }
        guard case .starting(.main(_, .busName)) = c.machine.state, let name = c.config.busName else { return }
        switch SystemBusNames.hasOwner(name) {
        case .success(true):
            logger.info("BusName=\(name) is on the system bus", metadata: unit(c))
            post(c, .busNameAcquired)
            return
        case .success(false):
            break
        case .failure(let error):
            // Asked again until the start timeout: the bus may be starting too.
            note("Type=dbus: cannot ask the system bus for BusName=\(name) yet: \(error)", for: c)
        }
        c.startPoll = loop.addTimer(after: Self.startPollInterval) { [unowned self] in
            c.startPoll = nil
            self.watchBusName(for: c)
            self.pump()
        }
    }

    /// A warning about a start that waits, logged once per start and wording.
    private func note(_ text: String, for c: Component) {
        guard c.startPollNote != text else { return }
        c.startPollNote = text
        logger.warning("\(text)", metadata: unit(c))
    }

    // MARK: Type=idle

    /// systemd's idle pipe: a `Type=idle` component's start waits until no other
    /// component is starting, at most `idleStartLimit`. Returns whether the start was
    /// deferred (then a poll starts it).
    func deferIdleStart(_ c: Component) -> Bool {
        guard c.config.type == .idle, phase == .running else { return false }
        let now = Self.now()
        let deadline = c.idleStartDeadline ?? now.advanced(by: Self.idleStartLimit)
        let othersStarting = allComponents.contains { other in
            guard other !== c else { return false }
            if other.stack.startQueued { return other.config.type != .idle }
            if case .starting = other.machine.state { return true }
            return false
        }
        guard othersStarting, now < deadline else {
            c.idleStartDeadline = nil
            return false
        }
        if c.idleStartDeadline == nil {
            c.idleStartDeadline = deadline
            logger.info("Type=idle: starting once the other components have started (at most 5s)", metadata: unit(c))
        }
        if c.startPoll == nil {
            c.startPoll = loop.addTimer(after: Self.startPollInterval) { [unowned self] in
                c.startPoll = nil
                self.idleStartDue(c)
            }
        }
        return true
    }

    private func idleStartDue(_ c: Component) {
        // Stopped by the operator, removed by a reload, or a shutdown: nothing to start.
        guard phase == .running, c.stack.startQueued, c.isDown, !c.stack.removed else {
            c.idleStartDeadline = nil
            if c.isDown { c.stack.startQueued = false }
            pump()
            return
        }
        if deferIdleStart(c) { return }
        queue.append((c, .startRequested))
        pump()
    }

    /// A deferred idle start the operator overrode (stop, restart, start).
    func cancelIdleStart(_ c: Component) {
        guard c.idleStartDeadline != nil else { return }
        c.idleStartDeadline = nil
        if let timer = c.startPoll {
            loop.cancelTimer(timer)
            c.startPoll = nil
        }
    }

    // MARK: warden reload NAME

    /// `systemctl reload`: `ExecReload=` (or `ReloadSignal=` for `Type=notify-reload`)
    /// while the component is active. Refused, changing nothing, when it has no reload or
    /// is not active.
    func reloadComponent(_ c: Component, id: Int?, who: String) -> ControlResponse {
        if let refusal = c.machine.reloadRefusal {
            return .failure(id: id, ControlError(.unavailable, "\(c.name) \(refusal)"))
        }
        logger.info("reload \(who)", metadata: unit(c))
        post(c, .reloadRequested)
        return ControlResponse(
            id: id, message: "reload of \(c.name) requested; now \(c.machine.activeState) (\(c.machine.subState))")
    }
}
