import Logging
import WardenCore
import WardenLinux

// Taking over a running process as a component's main process, for two reasons:
// - `Duplicates=adopt`: a copy Warden did not start runs; it becomes the component.
// - Re-adoption: Warden itself was restarted (crash, upgrade, `systemctl restart` with
//   `KillMode=mixed`) while its components ran on. Each main process is recorded in
//   `STATE/components.records` (PID, start time, cgroup, invocation ID, the fingerprint
//   of the settings it was started from) whenever it changes, with what Warden begins
//   doing to it (a stop, restart or replacement) before the first signal, and an
//   operator's stop is recorded until a start; the next `warden run` takes over every
//   recorded process that verifies (start time and, with cgroups, cgroup membership;
//   never the PID alone) instead of starting a second copy, and carries on from the
//   record (`AdoptionPlan`). A graceful shutdown stops everything and removes the file.
//
// A taken-over process is held by a pidfd from the moment it is verified until the
// machine asks for the main process; then it is watched like a spawned one, except that
// it is not Warden's child: its exit status is unknown, and, as systemd does for a main
// process that is not its child, the exit counts as clean (`processExited`). Its
// `ExecStartPre=`/`ExecStartPost=` do not run: they prepare and follow a start that does
// not happen. Its output is not captured: its stdout and stderr are whatever it had (for
// a re-adopted process, a pipe to the previous Warden, now closed).

/// A running process to take over as a component's main process at its next start.
final class PendingTakeover {
    enum Origin {
        /// `Duplicates=adopt`, with the `duplicate PID … (…)` description.
        case duplicate(String)
        /// Left running by the previous Warden.
        case readoption(ComponentRecord)
    }

    let identity: ProcessIdentity
    /// Held (and owned) until handed to `EventLoop.watchExit`; -1 after.
    private(set) var pidfd: Int32
    let origin: Origin
    /// The invocation ID the run keeps (re-adoption); nil for a new one.
    let invocationID: String?

    init(identity: ProcessIdentity, pidfd: Int32, origin: Origin, invocationID: String?) {
        self.identity = identity
        self.pidfd = pidfd
        self.origin = origin
        self.invocationID = invocationID
    }

    /// Hands the descriptor over; the caller owns it from now on.
    func takeDescriptor() -> Int32 {
        let fd = pidfd
        pidfd = -1
        return fd
    }

    func release() {
        if pidfd >= 0 { RuntimeDescriptors.close(pidfd) }
        pidfd = -1
    }

    deinit { release() }

    var record: ComponentRecord? {
        if case .readoption(let record) = origin { return record }
        return nil
    }
}

/// The supervisor's bookkeeping for duplicates and adoption. Loop thread only.
final class TakeoverState {
    /// The records as last written, by unit.
    var records: [String: ComponentRecord] = [:]
    /// The components written as stopped by an operator.
    var stoppedByOperator: Set<String> = []
    /// Set by `start()`; nil before, and after the shutdown removed the file.
    var store: ComponentRecordStore?
    /// A failed write is said once, not at every change.
    var saveFailureLogged = false
    /// The cost of the last duplicate scan, for the log at debug level and benchmarks.
    var lastScanMicroseconds: UInt64?
    /// The /proc scan shared by the duplicate checks of one pass of the loop; dropped at
    /// the end of the pass (what Warden starts meanwhile is Warden's own).
    var duplicateScan: DuplicateDetector.FirstStageScan?
    /// Components (by name) started in this pass of the loop without `Duplicates=`:
    /// checked together at its end (`Supervisor.warnOfImplicitDuplicates`).
    var implicitDuplicateChecks: [String] = []
    private var cgroupRootResolved = false
    private var cgroupRoot: String?

    /// The cgroup v2 path of the subtree Warden manages, as `/proc/PID/cgroup` names it:
    /// Warden's own group (the supervisor leaf) without the leaf. nil without cgroups or
    /// when Warden does not run in its supervisor leaf (a test's directory tree).
    func wardenCgroupRoot(_ cgroups: CgroupProcessTracker?) -> String? {
        guard let cgroups else { return nil }
        if !cgroupRootResolved {
            cgroupRootResolved = true
            let leaf = "/" + cgroups.manager.options.supervisorGroup
            if let own = PinnedProcess.cgroup(of: ThisProcess.pid), own.hasSuffix(leaf) {
                let root = String(own.dropLast(leaf.count))
                cgroupRoot = root.isEmpty ? "/" : root
            }
        }
        return cgroupRoot
    }
}

extension Supervisor {
    // MARK: The spawn hook

    /// Called by `runCommand` first: true when the command is handled here. While a
    /// takeover is pending, `ExecCondition=` and `ExecStartPre=` are skipped and the main
    /// process is taken over instead of spawned; after it, `ExecStartPost=` is skipped.
    func takeOverInsteadOfSpawning(_ kind: CommandKind, index: Int, for c: Component) -> Bool {
        switch kind {
        case .condition where c.takeover != nil:
            if index == 0 { logger.info("ExecCondition= skipped: the main process is taken over, not started", metadata: unit(c)) }
            post(c, .hookExited(.exited(code: 0)))
            return true
        case .startPre where c.takeover != nil:
            if index == 0 { logger.info("ExecStartPre= skipped: the main process is taken over, not started", metadata: unit(c)) }
            post(c, .hookExited(.exited(code: 0)))
            return true
        case .start where index == 0:
            c.mainTakenOver = false
            guard let takeover = c.takeover else { return false }
            c.takeover = nil
            takeOver(takeover, for: c)
            return true
        case .startPost where c.mainTakenOver:
            if index == 0 { logger.info("ExecStartPost= skipped: the main process was taken over, not started", metadata: unit(c)) }
            post(c, .hookExited(.exited(code: 0)))
            return true
        default:
            return false
        }
    }

    /// Makes the held process the main process: into the component's cgroup (when Warden
    /// manages cgroups), watched by its pidfd, then `spawned` and whatever the type waits
    /// for (`Type=exec`: the exec happened long ago; `Type=notify`: it was ready, or it
    /// would not be running under the previous Warden / as the copy found).
    func takeOver(_ takeover: PendingTakeover, for c: Component) {
        let pid = takeover.identity.pid
        if c.invocationID == nil { c.invocationID = takeover.invocationID ?? Self.newInvocationID(&rng) }
        if let cgroups { moveTakenOver(pid, of: c, into: cgroups) }
        let pidfd = takeover.takeDescriptor()
        c.main = WatchedProcess(pid: pid, pidfd: pidfd)
        notifyStrangers[pid] = nil
        watched.insert(pid)
        do {
            try loop.watchExit(SpawnedProcess(pid: pid, pidfd: pidfd)) { [unowned self] status in
                self.processExited(pid: pid, status: status, main: true, of: c)
            }
        } catch {
            RuntimeDescriptors.close(pidfd)
            watched.remove(pid)
            c.main = nil
            post(c, .spawnFailed(reason: "watching PID \(pid) to take it over: \(error)"))
            return
        }
        c.mainTakenOver = true
        let followUp = c.adoptionFollowUp
        c.adoptionFollowUp = nil
        switch takeover.origin {
        case .duplicate(let description):
            logger.notice(
                "took over \(description) as the main process (Duplicates=adopt); its output is not captured, and its exit status will be unknown",
                metadata: unit(c))
        case .readoption(let record):
            c.adoptedRecord = record
            logger.notice(
                "re-adopted PID \(pid), left running by the previous Warden (invocation \(c.invocationID ?? "-")); its earlier output is not captured: its stdout and stderr went to the previous Warden",
                metadata: unit(c))
        }
        post(c, .spawned(pid: pid))
        switch c.machine.policy.type {
        case .exec: post(c, .execSucceeded)
        case .notify, .notifyReload:
            // A run the previous Warden had not seen ready yet is waited for again: its
            // READY=1 reaches this Warden's notify socket, at the same path.
            if case .readoption(let record) = takeover.origin, !record.ready {
                logger.notice("PID \(pid) had not reported ready to the previous Warden; waiting for READY=1", metadata: unit(c))
            } else {
                post(c, .notify(.ready))
            }
        case .dbus: post(c, .busNameAcquired)
        case .forking: post(c, .daemonFound(pid: pid))
        case .simple, .oneshot, .idle: break
        }
        if let followUp { finishInterrupted(followUp, of: c, pid: pid) }
    }

    /// Carries on with what the previous Warden had begun doing to a re-adopted process,
    /// or replaces a process of other settings (`AdoptionPlan.FollowUp`): the intent
    /// recorded before the first signal, as the operator's verb or the reload records it.
    func finishInterrupted(_ followUp: AdoptionPlan.FollowUp, of c: Component, pid: Int32) {
        if c.adoptedRecord?.stopCommandsBegun == true, c.adoptedRecord?.process.pid == pid {
            logger.notice(
                "the previous Warden had started ExecStop= for PID \(pid); the stop goes on from the stop signal, without running it again",
                metadata: unit(c))
            c.stopCommandsBegun = pid
            c.stopCommandsAlreadyRan()
        }
        switch followUp {
        case .stop:
            logger.notice(
                "PID \(pid) was being stopped by an operator's stop when the previous Warden ended; finishing the stop",
                metadata: unit(c))
            c.stoppedByOperator = true
            c.stack.operatorStop()
            recordIntent(.stop, for: c)
            queue.append((c, .stopRequested))
        case .restart:
            logger.notice(
                "PID \(pid) was being restarted by an operator's restart when the previous Warden ended; restarting it",
                metadata: unit(c))
            c.stack.operatorRestart()
            recordIntent(.restart, for: c)
            queue.append((c, .restartRequested))
        case .replace(let reason):
            logger.notice("re-adopted PID \(pid): \(reason)", metadata: unit(c))
            c.pendingConfig = c.config
            recordIntent(.replace, for: c)
            let replacement = StackMember.Replacement(priority: c.priority, requiredUnits: c.config.requiredUnits)
            if c.stack.await(replacement) { queue.append((c, .stopRequested)) }
        }
    }

    /// Moves a taken-over process, with its descendants, into the component's group. A
    /// refusal (EACCES/EPERM: the process sits in a group Warden may not move it out of)
    /// is reported and the process stays supervised where it is, its cgroup limits not
    /// enforced.
    func moveTakenOver(_ pid: Int32, of c: Component, into cgroups: CgroupProcessTracker) {
        let groupFD: Int32
        do {
            groupFD = try placeInGroup(c, cgroups)
        } catch {
            logger.warning("taken-over PID \(pid) stays in its own cgroup: \(error)", metadata: unit(c))
            return
        }
        guard let path = cgroups.path(of: c.name) else { return }
        if let current = PinnedProcess.cgroup(of: pid), current.hasSuffix("/" + path) { return }
        let table = ProcessTable.snapshot()
        var children: [Int32: [Int32]] = [:]
        for entry in table.values where !entry.isZombie { children[entry.parentPID, default: []].append(entry.pid) }
        var members: [Int32] = []
        var pending = [pid]
        while let next = pending.popLast(), members.count < 4096 {
            members.append(next)
            pending += children[next] ?? []
        }
        var failures: [String] = []
        for member in members {
            do {
                try PinnedProcess.moveIntoCgroup(member, groupFD: groupFD)
            } catch {
                if error.errno == Errno.noSuchProcess { continue }
                failures.append("PID \(member): \(error)")
            }
        }
        if failures.isEmpty {
            logger.info("moved taken-over PID \(pid) (\(members.count) process(es)) into \(path)", metadata: unit(c))
        } else {
            logger.warning(
                "taken-over PID \(pid) not moved into \(path) (its CPU and memory limits do not apply; the cgroup may not be left by this Warden): \(failures.joined(separator: "; "))",
                metadata: unit(c))
        }
    }

    // MARK: Records

    /// At `start()`: reads the records of the previous Warden and decides each
    /// component's start from them (`AdoptionPlan`): a takeover for each process that
    /// verifies, with what the previous Warden had begun doing to it; components an
    /// operator stopped stay down. The records that do not verify are dropped with a log
    /// line.
    func restoreComponentRecords() {
        let store = ComponentRecordStore(stateDirectory: options.stateDirectory)
        takeoverState.store = store
        let contents = store.load()
        for problem in contents.problems { logger.warning("\(store.path): \(problem)") }
        guard !contents.records.isEmpty || !contents.stoppedByOperator.isEmpty else { return }
        let root = takeoverState.wardenCgroupRoot(cgroups)
        var pinnedByUnit: [String: (record: ComponentRecord, pidfd: Int32)] = [:]
        var recordedByUnit: [String: ComponentRecord] = [:]
        for record in contents.records {
            recordedByUnit[record.unit] = record
            let c = components[record.unit]
            let pinned = PinnedProcess.observe(record.process.pid)
            let verdict = Readoption.verdict(
                record, observed: pinned?.observed, unitConfigured: c != nil, wardenCgroupRoot: root)
            switch verdict {
            case .adopt:
                pinnedByUnit[record.unit] = (record, pinned!.pidfd)
            case .drop(let why):
                if let pinned { RuntimeDescriptors.close(pinned.pidfd) }
                let metadata: Logger.Metadata = c.map { unit($0) } ?? [WardenLogHandler.unitKey: "\(record.unit)"]
                logger.notice("record of the previous Warden dropped, not re-adopted: \(why)", metadata: metadata)
            }
        }
        var adopted = 0
        for name in Set(recordedByUnit.keys).union(contents.stoppedByOperator).sorted() {
            guard let c = components[name] else { continue }
            let pinned = pinnedByUnit[name]
            let plan = AdoptionPlan.plan(
                record: recordedByUnit[name], processRuns: pinned != nil,
                stoppedByOperator: contents.stoppedByOperator.contains(name), settings: c.settingsFingerprint)
            switch plan {
            case .startAsConfigured:
                break
            case .stayStopped:
                c.stoppedByOperator = true
                c.stack.wantsStart = false
                c.stack.startAttempted = true
                logger.notice("stays stopped: an operator stopped it under the previous Warden", metadata: unit(c))
            case .takeOver(let followUp):
                let (record, pidfd) = pinned!
                c.takeover = PendingTakeover(
                    identity: record.process, pidfd: pidfd, origin: .readoption(record), invocationID: record.invocationID)
                c.adoptionFollowUp = followUp
                if followUp == .stop { c.stoppedByOperator = true }
                adopted += 1
            }
        }
        logger.info("\(adopted) of \(contents.records.count) recorded component process(es) still run; re-adopting them")
    }

    /// After a Warden of this state directory was killed or crashed: the processes it had
    /// started but not yet recorded (it records after each spawn, so a kill in between
    /// leaves one) would run on beside the copies this Warden starts. They are known by
    /// the environment Warden gives every process it starts, which their descendants
    /// inherit: this state directory's `NOTIFY_SOCKET=` with a `WARDEN_UNIT=`. Those whose
    /// `INVOCATION_ID=` is not a recorded run's are killed (pid and start time checked)
    /// before anything starts, and said; the component then starts afresh.
    func stopUnrecordedLeftovers() {
        let socket = "NOTIFY_SOCKET=" + NotifySocketAddress.forStateDirectory(options.stateDirectory)
        let recorded = Set(components.values.compactMap { $0.takeover?.invocationID })
        var stopped: [String: [Int32]] = [:]
        let own = ThisProcess.pid
        for entry in ProcessTable.snapshot().values where entry.pid != own && !entry.isZombie {
            guard let environment = ProcessTable.environmentVariables(of: entry.pid), environment.contains(socket),
                let unit = environment.first(where: { $0.hasPrefix("WARDEN_UNIT=") })?.dropFirst("WARDEN_UNIT=".count)
            else { continue }
            let invocation = environment.first { $0.hasPrefix("INVOCATION_ID=") }.map { String($0.dropFirst("INVOCATION_ID=".count)) }
            if let invocation, recorded.contains(invocation) { continue }
            if ProcessTable.signal(Signal.kill, pid: entry.pid, startTime: entry.startTime) {
                stopped[String(unit), default: []].append(entry.pid)
            }
        }
        for (name, pids) in stopped.sorted(by: { $0.key < $1.key }) {
            let metadata: Logger.Metadata = components[name].map { unit($0) } ?? [WardenLogHandler.unitKey: "\(name)"]
            logger.notice(
                "killed PID \(pids.sorted().map(String.init).joined(separator: ", ")), started by the previous Warden but not recorded before it was killed; the component starts afresh",
                metadata: metadata)
        }
    }

    /// At the end of each pump, and before Warden begins a stop, restart or replacement
    /// (`Component.intent`): rewrites the records when a main process started, changed,
    /// exited or got an intent, or an operator's stop began or ended. A pending
    /// re-adoption keeps its record, so a crash before the takeover does not lose it.
    func persistComponentRecords() {
        guard let store = takeoverState.store else { return }
        var count = 0
        var dirty = false
        var stopped = 0
        for c in components.values {
            if c.stoppedByOperator {
                stopped += 1
                if !takeoverState.stoppedByOperator.contains(c.name) { dirty = true }
            }
            if let main = c.main, let id = c.invocationID {
                count += 1
                let known = takeoverState.records[c.name]
                if known?.process.pid != main.pid || known?.invocationID != id || known?.ready != c.isUp
                    || known?.intent != intent(of: c, main: main) || known?.settings == nil
                    || known?.stopCommandsBegun != (c.stopCommandsBegun == main.pid)
                {
                    dirty = true
                }
            } else if let record = c.takeover?.record {
                count += 1
                if takeoverState.records[c.name] != record { dirty = true }
            }
            if dirty { break }
        }
        guard dirty || count != takeoverState.records.count || stopped != takeoverState.stoppedByOperator.count else { return }
        let root = takeoverState.wardenCgroupRoot(cgroups)
        var current: [String: ComponentRecord] = [:]
        var stoppedByOperator: Set<String> = []
        for c in components.values {
            if c.stoppedByOperator { stoppedByOperator.insert(c.name) }
            if let main = c.main, let id = c.invocationID {
                if var known = takeoverState.records[c.name] ?? c.adoptedRecord, known.process.pid == main.pid,
                    known.invocationID == id
                {
                    known.ready = c.isUp
                    known.intent = intent(of: c, main: main)
                    known.stopCommandsBegun = c.stopCommandsBegun == main.pid
                    if known.settings == nil { known.settings = c.settingsFingerprint }
                    current[c.name] = known
                    continue
                }
                guard let start = ProcessControl.startTime(of: main.pid) else { continue }
                current[c.name] = ComponentRecord(
                    unit: c.name, process: ProcessIdentity(pid: main.pid, startTimeTicks: start),
                    cgroup: root == nil ? nil : PinnedProcess.cgroup(of: main.pid), invocationID: id, ready: c.isUp,
                    settings: c.settingsFingerprint, intent: intent(of: c, main: main),
                    stopCommandsBegun: c.stopCommandsBegun == main.pid)
            } else if let record = c.takeover?.record {
                current[c.name] = record
            }
        }
        takeoverState.records = current
        takeoverState.stoppedByOperator = stoppedByOperator
        do {
            try store.save(Array(current.values), stoppedByOperator: stoppedByOperator)
            takeoverState.saveFailureLogged = false
        } catch {
            if !takeoverState.saveFailureLogged {
                takeoverState.saveFailureLogged = true
                logger.warning("component records not written (a restarted Warden cannot re-adopt): \(error)")
            }
        }
    }

    /// The intent Warden has for `main`, the component's main process; nil when it has
    /// one for an earlier process only.
    func intent(of c: Component, main: WatchedProcess) -> ComponentIntent? {
        guard let intent = c.intent, intent.pid == main.pid else { return nil }
        return intent.kind
    }

    /// The intent Warden has for the component's running main process, if any.
    func currentIntent(of c: Component) -> ComponentIntent? {
        c.main.flatMap { intent(of: c, main: $0) }
    }

    /// Records what Warden begins doing to the component's main process (nil: keeping
    /// it), and writes the records at once: before the first signal goes out, so a Warden
    /// killed during the stop leaves a record that says so.
    func recordIntent(_ kind: ComponentIntent?, for c: Component) {
        if let kind, let main = c.main {
            c.intent = (kind, main.pid)
        } else {
            c.intent = nil
        }
        persistComponentRecords()
    }

    /// At the end of a shutdown: every component is down, nothing is left to re-adopt.
    func takeoversFinished() {
        cancelDuplicateKills()
        for c in allComponents {
            c.takeover?.release()
            c.takeover = nil
        }
        guard let store = takeoverState.store else { return }
        takeoverState.store = nil
        takeoverState.records = [:]
        takeoverState.stoppedByOperator = []
        do {
            try store.remove()
        } catch {
            logger.warning("component records not removed: \(error)")
        }
    }
}
