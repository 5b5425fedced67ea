import Logging
import WardenCore
import WardenLinux

/// Spawning, watching and signalling the components' processes (loop thread).
extension Supervisor {
    // MARK: Spawning

    func runCommand(_ kind: CommandKind, index: Int, resultEnvironment: ServiceResultEnvironment?, for c: Component) {
        let commands = c.config.commands(kind)
        guard index < commands.count else {
            post(c, .spawnFailed(reason: "\(kind.rawValue) has no command \(index)"))
            return
        }
        if takeOverInsteadOfSpawning(kind, index: index, for: c) { return }
        if kind == .start, let refusal = busRefusal(c) {
            post(c, .spawnFailed(reason: refusal))
            return
        }
        if kind == .stop, index == 0, let main = c.main, c.stopCommandsBegun != main.pid {
            // Recorded before the first command runs: a Warden killed from here on leaves
            // the next one knowing not to run them again.
            c.stopCommandsBegun = main.pid
            persistComponentRecords()
        }
        if c.invocationID == nil {
            // The first command of a start: the unit's directories come first.
            if kind == .condition || kind == .startPre || kind == .start, let reason = makeDirectories(for: c) {
                post(c, .spawnFailed(reason: reason))
                return
            }
            c.invocationID = Self.newInvocationID(&rng)
        }
        let context = LaunchContext(
            notifySocketPath: notifySocket?.path, invocationID: c.invocationID!,
            executableSearchPath: options.executableSearchPath,
            mainPID: c.main?.pid, resultEnvironment: resultEnvironment, directoryBases: options.execDirectoryBases)
        var prepared: PreparedLaunch
        do {
            prepared = try Launcher.prepare(c.config, command: commands[index], kind: kind, context: context)
        } catch {
            post(c, .spawnFailed(reason: error.description))
            return
        }
        if let cgroups {
            do {
                prepared.request.cgroupDirectoryFD = try placeInGroup(c, cgroups)
            } catch {
                prepared.closeAll()
                post(c, .spawnFailed(reason: "cgroup: \(error)"))
                return
            }
        }
        let process: SpawnedProcess
        do {
            process = try spawnPlaced(prepared.request, for: c)
        } catch {
            prepared.closeAll()
            post(c, .spawnFailed(reason: error.description))
            return
        }
        prepared.childOnlyFDs.forEach(RuntimeDescriptors.close)
        if let readFD = prepared.outputReadFD { attachOutput(readFD, to: c) }
        let handle = WatchedProcess(pid: process.pid, pidfd: process.pidfd)
        // A recycled pid is no stranger: its first READY=1 must be read.
        if !notifyStrangers.isEmpty { notifyStrangers[process.pid] = nil }
        let isMain = kind == .start
        if isMain { c.main = handle } else { c.control = handle }
        if isMain && c.config.type == .forking {
            c.forkingStartTicks = ProcessTable.entry(of: process.pid)?.startTime
        }
        watched.insert(process.pid)
        do {
            try loop.watchExit(process) { [unowned self] status in
                self.processExited(pid: process.pid, status: status, main: isMain, of: c)
            }
        } catch {
            // The loop cannot watch it: it would run unsupervised. Kill it; the pidfd
            // is still ours, so the exit is reaped through it.
            try? ProcessControl.sendSignal(Signal.kill, toPidfd: process.pidfd)
            _ = ProcessTable.reapIfExited(process.pid)
            RuntimeDescriptors.close(process.pidfd)
            watched.remove(process.pid)
            if isMain { c.main = nil } else { c.control = nil }
            post(c, .spawnFailed(reason: "watching the process: \(error)"))
            return
        }
        post(c, .spawned(pid: process.pid))
        if isMain && c.machine.policy.type == .exec {
            // spawnProcess returns only once the child has exec'd.
            post(c, .execSucceeded)
        }
    }

    /// Makes `RuntimeDirectory=`, `StateDirectory=`, … owned by `User=`/`Group=`; the
    /// reason the start fails, or nil.
    func makeDirectories(for c: Component) -> String? {
        let plan = ExecDirectoryPlan(c.config.directories, bases: options.execDirectoryBases)
        guard !plan.directories.isEmpty else { return nil }
        var userID: UInt32?
        var groupID: UInt32?
        do {
            if let name = c.config.user {
                let record = try UserDatabase.user(name)
                userID = record.userID
                groupID = record.groupID
            }
            if let name = c.config.group { groupID = try UserDatabase.groupID(name) }
        } catch {
            return "making the unit's directories: \(error.description)"
        }
        do {
            try ExecDirectoryMaker.make(plan, userID: userID, groupID: groupID)
        } catch {
            return "making the unit's directories: \(error)"
        }
        return nil
    }

    /// Removes `RuntimeDirectory=` when the unit stops (`permanently`: not into an
    /// automatic restart), as `RuntimeDirectoryPreserve=` says.
    func removeRuntimeDirectories(of c: Component, permanently: Bool) {
        switch c.config.directories.effectiveRuntimePreserve {
        case .yes: return
        case .restart where !permanently: return
        case .no, .restart: break
        }
        let plan = ExecDirectoryPlan(c.config.directories, bases: options.execDirectoryBases)
        for failure in ExecDirectoryMaker.removeRuntime(plan) {
            logger.warning("removing the runtime directory: \(failure)", metadata: unit(c))
        }
    }

    static func newInvocationID(_ rng: inout BufferedSystemRandom) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for _ in 0..<2 {
            var value = rng.next()
            for _ in 0..<16 {
                text.append(digits[Int(value & 0xF)])
                value >>= 4
            }
        }
        return text
    }

    func attachOutput(_ fd: Int32, to c: Component) {
        let tag = c.tag
        var key: ObjectIdentifier?
        do {
            let reader = try OutputReader(
                fd: fd, tag: tag, loop: loop,
                handler: { [unowned self] line in
                    self.logger.info(
                        "\(line.text)", metadata: [WardenLogHandler.unitKey: "\(tag)", WardenLogHandler.outputKey: "1"])
                },
                onEnd: { [weak c] in
                    if let c, let key { c.readers[key] = nil }
                })
            key = ObjectIdentifier(reader)
            c.readers[key!] = reader
        } catch {
            RuntimeDescriptors.close(fd)
            logger.warning("cannot read output: \(error)", metadata: unit(c))
        }
    }

    func processExited(pid: Int32, status: ExitStatus?, main: Bool, of c: Component) {
        watched.remove(pid)
        c.needsGoneCheck = true
        if main {
            guard c.main?.pid == pid else {
                // The original main process after MAINPID= named another: not the main.
                pump()
                return
            }
            c.main = nil
            // nil: an adopted main process that is not our child; its status is unknown,
            // and unknown is never read as success.
            let known = status ?? .unknown
            c.lastExit = known
            // As systemd does, the cgroup's OOM kills are looked at before the exit is
            // judged, so a main process the OOM killer took ends in result 'oom-kill'.
            if case .killed(Signal.kill, _) = known, cgroups != nil || scopes != nil {
                let kills = cgroups?.newOOMKills(of: c.name) ?? scopes?.newOOMKills(of: c.name) ?? 0
                if kills > 0 {
                    logger.warning(
                        "OOM kill: main process \(pid) was killed by the kernel's OOM killer (memory.events oom_kill +\(kills))",
                        metadata: unit(c))
                    queue.append((c, .oomKilled))
                }
            }
            post(c, .mainExited(known))
        } else {
            guard c.control?.pid == pid else {
                pump()
                return
            }
            c.control = nil
            post(c, .hookExited(status ?? .unknown))
        }
    }

    func adoptMainPID(_ pid: Int32, for c: Component) {
        if c.main?.pid == pid { return }
        do {
            let pidfd = try ProcessTable.openPidfd(pid)
            c.main = WatchedProcess(pid: pid, pidfd: pidfd)
            watched.insert(pid)
            try loop.watchExit(SpawnedProcess(pid: pid, pidfd: pidfd)) { [unowned self] status in
                self.processExited(pid: pid, status: status, main: true, of: c)
            }
            logger.info("main process is now pid \(pid)", metadata: unit(c))
        } catch {
            logger.warning("cannot watch MAINPID=\(pid): \(error)", metadata: unit(c))
            if let main = c.main, main.pid == pid {
                RuntimeDescriptors.close(main.pidfd)
                watched.remove(pid)
            }
            c.main = nil
            c.needsGoneCheck = true
            post(c, .mainExited(.unknown))
        }
    }

    // MARK: Signals and leftovers

    func send(_ signal: Int32, to target: SignalTarget, of c: Component) {
        switch target {
        case .mainProcess:
            if let main = c.main, !firstStopSignals.wasSentAhead(signal, to: main.pid) {
                try? ProcessControl.sendSignal(signal, toPidfd: main.pidfd)
            }
        case .controlProcess:
            if let control = c.control { try? ProcessControl.sendSignal(signal, toPidfd: control.pidfd) }
        case .allProcesses:
            // The main and control processes first, through their pidfds (which no pid
            // reuse can misdirect), so the stop signal reaches the program that matters
            // as fast as a minimal init passes it on; then the rest as the tracker finds
            // them (a search that a root exiting meanwhile cannot fool: see the trackers).
            // The rest when the turn's events are handled, with those of every other
            // component signalled in this turn (a shutdown signals all of them): one
            // search for all (`sendPendingSignals`).
            signalRoots(signal, of: c)
            if let run = c.run { pendingSignals.append((c, SignalRequest(signal, of: run, sparing: Set(run.rootPIDs)))) }
            c.needsGoneCheck = true
        }
    }

    /// The signals `send` left for the rest of the components' processes, sent after one
    /// search. Runs before the turn's gone checks.
    func sendPendingSignals() {
        guard !pendingSignals.isEmpty else { return }
        let pending = pendingSignals
        pendingSignals.removeAll()
        // In a shutdown the programs just signalled may be waiting for this CPU: their
        // handlers run before the search for the rest, not after it.
        if phase == .shuttingDown { ProcessControl.yieldProcessor() }
        let signalled = tracker.signalAll(pending.map(\.1))
        // Nothing was left to signal and the main and control processes are reaped: the
        // gone check of this turn needs no second search (a /proc search per restart is
        // most of a restart's cost on hosts without cgroups).
        var foundAny: Set<ObjectIdentifier> = []
        for ((c, _), count) in zip(pending, signalled) where count > 0 { foundAny.insert(ObjectIdentifier(c)) }
        for (c, request) in pending where c.run == request.run {
            c.knownEmpty = !foundAny.contains(ObjectIdentifier(c)) && c.main == nil && c.control == nil
        }
    }

    private func signalRoots(_ signal: Int32, of c: Component) {
        if let main = c.main, !firstStopSignals.wasSentAhead(signal, to: main.pid) {
            try? ProcessControl.sendSignal(signal, toPidfd: main.pidfd)
        }
        if let control = c.control { try? ProcessControl.sendSignal(signal, toPidfd: control.pidfd) }
    }

    /// The no-cgroup stand-in for `cgroup.events` `populated 0`: looks for the runs'
    /// processes, for all of `components` at once; for each with none left, tells its
    /// machine; while a stop waits for them, looks again shortly.
    func checkProcessesGone(_ components: [Component]) {
        var looked: [Component] = []
        var runs: [TrackedRun] = []
        for c in components {
            guard let run = c.run else { continue }
            if !options.reapAllOrphans { tracker.reapExited(of: run, watched: watched) }
            if !c.knownEmpty {
                looked.append(c)
                runs.append(run)
            }
        }
        var found: [ObjectIdentifier: [Int32]] = [:]
        for (c, live) in zip(looked, tracker.liveProcesses(of: runs)) { found[ObjectIdentifier(c)] = live }
        for c in components where c.run != nil {
            checkProcessesGone(c, live: found[ObjectIdentifier(c)] ?? [])
        }
    }

    private func checkProcessesGone(_ c: Component, live: [Int32]) {
        c.knownEmpty = false
        if live.isEmpty {
            if let timer = c.goneCheckTimer {
                loop.cancelTimer(timer)
                c.goneCheckTimer = nil
            }
            queue.append((c, .allProcessesGone))
            return
        }
        guard c.isWaitingForProcesses, c.goneCheckTimer == nil else { return }
        // With cgroup.events watched the kernel says when the group empties; the timer
        // is then only a safety net.
        // A forking service without a known main process is followed for as long as it
        // runs, not for the seconds of a stop: once a second is enough.
        let slow: UInt64 = c.machine.activeState != "deactivating" ? 1_000_000 : 0
        let interval =
            cgroups?.isWatched(c.name) == true
            ? TimeSpan(usec: max(options.leftoverPollInterval.usec, 500_000, slow))
            : TimeSpan(usec: max(options.leftoverPollInterval.usec, slow))
        c.goneCheckTimer = loop.addTimer(after: interval) { [unowned self] in
            c.goneCheckTimer = nil
            guard c.isWaitingForProcesses else { return }
            c.needsGoneCheck = true
            self.pump()
        }
    }

    /// An orphan belongs to no run Warden knows of, so every component waiting for its
    /// processes looks again; once per turn of the event loop, however many orphans it
    /// reaped and whichever other events it handled. A stop of many components reaps their
    /// orphans one or a few at a time between their main processes' exits: a look per
    /// orphan, each at every waiting component (without cgroups each look walks /proc),
    /// would stretch the stop of 100 components with 40 orphans to about 15 s, far past
    /// their TimeoutStopSec= (Tests/fault/run, stop/stack-100). A gone check one turn
    /// later changes nothing else: the main and control processes' exits are looked at
    /// as they come.
    func orphanReaped(_ pid: Int32, _ status: ExitStatus) {
        logger.debug("reaped orphan \(pid): \(describe(status))")
        guard !orphanLookScheduled else { return }
        orphanLookScheduled = true
        loop.addTimer(after: .zero) { [unowned self] in
            orphanLookScheduled = false
            for c in allComponents where c.isWaitingForProcesses { c.needsGoneCheck = true }
            pump()
        }
    }

    // MARK: Stopped

    func stopped(_ c: Component, result: ServiceResult) {
        c.isUp = false
        stopHealthChecks(c)
        if let timer = c.goneCheckTimer {
            loop.cancelTimer(timer)
            c.goneCheckTimer = nil
        }
        if let run = c.run {
            c.lastRun = run
            if !options.reapAllOrphans { tracker.reapExited(of: run, watched: watched) }
            tracker.forget(run)
        }
        c.invocationID = nil
        c.startPollNote = nil
        removePIDFile(of: c)
        removeRuntimeDirectories(of: c, permanently: false)
        if let cgroups { cleanUpGroup(c, cgroups) }
        if let scopes { releaseScope(c, scopes) }
    }

    /// The component went down for good (not into a restart pause): stop propagation,
    /// and the end of Warden when a critical component failed or the main program ended.
    /// Also reached without `markStopped` when an automatic restart hits the start limit.
    func wentDown(_ c: Component) {
        removeRuntimeDirectories(of: c, permanently: true)
        let endedBefore = planner.mainProgramEnded
        plan { planner, members, list in
            guard let index = list.firstIndex(where: { $0 === c }) else { return [] }
            return planner.wentDown(index, &members)
        }
        if !endedBefore && planner.mainProgramEnded {
            mainProgramExit = MainProgram.exitCode(lastExit: c.lastExit)
        }
    }
}
