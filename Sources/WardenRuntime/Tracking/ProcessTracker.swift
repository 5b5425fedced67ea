import WardenCore
import WardenLinux

/// What the supervisor tells a tracker about one run of a component.
public struct TrackedRun: Hashable, Sendable {
    /// The unit name (`feed.service`).
    public var unit: String
    /// The run's `$INVOCATION_ID`, set in the environment of every process Warden starts
    /// for it (and inherited by their descendants).
    public var invocationID: String
    /// The main and control processes Warden started or adopted and still watches.
    public var rootPIDs: [Int32]

    public init(unit: String, invocationID: String, rootPIDs: [Int32]) {
        self.unit = unit
        self.invocationID = invocationID
        self.rootPIDs = rootPIDs
    }
}

/// One `ProcessTracker.signalAll`: `signal` to every live process of `run` but `sparing`.
public struct SignalRequest: Sendable {
    public var signal: Int32
    public var run: TrackedRun
    public var sparing: Set<Int32>

    public init(_ signal: Int32, of run: TrackedRun, sparing: Set<Int32>) {
        self.signal = signal
        self.run = run
        self.sparing = sparing
    }
}

/// Finds and signals every process of a component, so a stop can tell when nothing is
/// left (`allProcessesGone`) and can kill what is.
///
/// The seam for the cgroup issue: a cgroup-backed tracker reads `cgroup.procs`, learns
/// emptiness from `cgroup.events` (`populated 0`) and kills with `cgroup.kill`; it then
/// sets `reportsEmptiness` and calls back instead of being polled.
public protocol ProcessTracker: AnyObject {
    /// The live (not zombie) processes of the run, found now.
    func liveProcesses(of run: TrackedRun) -> [Int32]
    /// The live processes of each of `runs`, in their order, found by one look: what a
    /// turn of the event loop asks when many components wait for their processes (a
    /// stop of the whole stack), where a look per component would read the same
    /// orphans once for each.
    func liveProcesses(of runs: [TrackedRun]) -> [[Int32]]
    /// Sends `signal` to every live process of the run but those in `sparing` (the main
    /// and control processes, signalled first through their pidfds: a second SIGTERM is
    /// "stop now" to many programs); returns how many were signalled.
    func signalAll(_ signal: Int32, of run: TrackedRun, sparing: Set<Int32>) -> Int
    /// `signalAll` for each request, in their order, after one look: a shutdown signals
    /// every component in one turn, where a look per component would read the same
    /// orphans once for each. How many each request signalled.
    func signalAll(_ requests: [SignalRequest]) -> [Int]
    /// Counts `entry` as a process of the run from now on, with its descendants: a
    /// daemon named by a root-owned `PIDFile=` that the tracker could not attribute (a
    /// double-forked daemon that rewrote its environment for its process title, as nginx
    /// and PostgreSQL do, has no ancestry and no `INVOCATION_ID=` left to go by).
    func claim(_ entry: ProcessEntry, for run: TrackedRun)
    /// Reaps the run's exited processes that are children of this process and that no
    /// `EventLoop.watchExit` waits for (`watched`), so they do not linger as zombies.
    func reapExited(of run: TrackedRun, watched: Set<Int32>)
    /// Forgets what was learnt about a run that is over.
    func forget(_ run: TrackedRun)
}

/// The tracker for hosts without a usable cgroup: Warden is PID 1 or a child subreaper,
/// so every descendant of a component, even one that double-forked and called
/// `setsid()`, stays a descendant of Warden; `/proc` is scanned to find them.
///
/// A descendant of Warden belongs to a run when (in this order):
/// 1. it is, or descends from, a root process of the run (the main or control process);
/// 2. it was found to belong to the run by an earlier scan (same pid and start time),
///    which keeps zombies and processes that cleared their environment attributed;
/// 3. its initial environment (`/proc/PID/environ`) holds the run's `INVOCATION_ID=`:
///    this catches orphans reparented to Warden, whose ancestry is gone;
/// 4. it is an orphan whose session or process group is led by a process of the run,
///    live or dead: a daemon's workers, left when the daemon is killed, after it rewrote
///    its environment for its process title (nginx, PostgreSQL) so rule 3 finds nothing.
///    The kernel does not reuse a pid that a live process's session or group still
///    names, so the run's record of the leader stays the leader's.
/// Sessions and groups alone are not enough: a daemon's `setsid()` leaves both, while
/// the environment is inherited across fork, setsid and exec unless the program clears
/// it on purpose. A process that does both (clears its environment and leaves the
/// session of every process of the run) escapes, as it would escape systemd's
/// process-group based `KillMode=` fallback; cgroups close that hole.
public final class ProcfsProcessTracker: ProcessTracker {
    private let procRoot: String
    private let ownPID: Int32
    /// Per unit: processes attributed by earlier scans, pid → start time.
    private var known: [String: [Int32: UInt64]] = [:]
    /// The root processes of every run Warden watches (the supervisor's main and
    /// control processes), asked at each scan. A direct child of Warden in this set is
    /// some run's root, not a reparented orphan: its subtree is walked only for its own
    /// run. Without it every direct child is looked at for every run, which makes
    /// stopping N components cost N² reads. Called on the scanning thread.
    public var watchedRoots: () -> Set<Int32> = { [] }

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
        self.ownPID = ThisProcess.pid
    }

    /// The run's processes in `table`, zombies included. `watched` are the roots of every
    /// run (a direct child of Warden among them is another run's, never an orphan);
    /// `invocationIDs` caches the `INVOCATION_ID=` read from each orphan's environment
    /// ("" for none) across the runs of one look.
    private func members(
        of run: TrackedRun, in table: [Int32: ProcessEntry], watched: Set<Int32>, invocationIDs: inout [Int32: String]
    ) -> [ProcessEntry] {
        let roots = Set(run.rootPIDs)
        let remembered = known[run.unit] ?? [:]
        var verdict: [Int32: Bool] = [:]
        var found: [ProcessEntry] = []

        // Rule 3, each orphan's environment read once per look.
        func hasMarker(_ pid: Int32) -> Bool {
            if let id = invocationIDs[pid] { return id == run.invocationID }
            let id = ProcessTable.environmentValue(of: pid, named: "INVOCATION_ID", procRoot: procRoot) ?? ""
            invocationIDs[pid] = id
            return id == run.invocationID
        }

        // Rule 4. A leader that is in the table with another start time is a reused pid,
        // which cannot lead this entry's session; one not in it is gone or outside the
        // subtrees read, and is asked directly.
        func ledByRun(_ entry: ProcessEntry) -> Bool {
            for leader in Set([entry.sessionID, entry.processGroupID]) where leader > 1 && leader != entry.pid {
                let isRoot = roots.contains(leader)
                guard isRoot || remembered[leader] != nil else { continue }
                if isRoot { return true }
                let current = table[leader] ?? ProcessTable.entry(of: leader, procRoot: procRoot)
                if current == nil || current?.startTime == remembered[leader] { return true }
            }
            return false
        }

        // Walks up to Warden; nil when `pid` does not descend from it.
        func belongs(_ pid: Int32, depth: Int = 0) -> Bool? {
            if let known = verdict[pid] { return known }
            guard let entry = table[pid], depth < 512 else { return nil }
            if roots.contains(pid) || remembered[pid] == entry.startTime {
                verdict[pid] = true
                return true
            }
            if entry.parentPID == ownPID {
                // A direct child that is not a root of this run: a root of another run,
                // or an orphan reparented here.
                let mine = !watched.contains(pid) && (ledByRun(entry) || hasMarker(pid))
                verdict[pid] = mine
                return mine
            }
            guard entry.parentPID > 1, entry.parentPID != pid, let parent = belongs(entry.parentPID, depth: depth + 1)
            else { return nil }
            // Not under a root of the run: maybe the run's process anyway (a daemon whose
            // parent belongs to nobody we know is rare; the marker decides).
            let mine = parent || hasMarker(pid)
            verdict[pid] = mine
            return mine
        }

        for (pid, entry) in table where pid != ownPID {
            if belongs(pid) == true { found.append(entry) }
        }
        return found
    }

    private func scan(_ run: TrackedRun) -> [ProcessEntry] { scan([run])[0] }

    private func scan(_ runs: [TrackedRun]) -> [[ProcessEntry]] {
        let watched = watchedRoots()
        let table = look(below: runs, watched: watched)
        var invocationIDs: [Int32: String] = [:]
        return runs.map { run in
            let found = members(of: run, in: table, watched: watched, invocationIDs: &invocationIDs)
            var memory: [Int32: UInt64] = [:]
            for entry in found { memory[entry.pid] = entry.startTime }
            known[run.unit] = memory
            return found
        }
    }

    /// The part of the process table the runs' members can be in.
    private func look(below runs: [TrackedRun], watched: Set<Int32>) -> [Int32: ProcessEntry] {
        // Every member is a root or a remembered process, below one of them, or an orphan
        // reparented to Warden (see `members`), so the subtrees below these are all the
        // table needs. After a crash with nothing left this is a handful of reads instead
        // of the whole /proc: a scan of all of /proc would be most of a restart's cost.
        //
        // The runs' own subtrees are walked before Warden's children are read. A process
        // whose parent exits during the walk moves to Warden (PID 1 or subreaper) in one
        // step, so it is in its parent's list when that is read, or in Warden's, read
        // last: the walk cannot miss it, and the main process may be signalled before the
        // walk (as fast as a minimal init passes a stop signal on). Read the other way
        // round, a process could be in neither list.
        var starts: [Int32] = []
        for run in runs {
            starts += run.rootPIDs
            if let remembered = known[run.unit] { starts += remembered.keys }
        }
        guard var own = ProcessTable.subtreeSnapshot(of: starts, procRoot: procRoot),
            let children = ProcessTable.children(of: ownPID, procRoot: procRoot)
        else { return ProcessTable.snapshot(procRoot: procRoot) }
        // Warden's direct children that are nobody's root are orphans reparented here
        // (one of them may be a run's); the others are the roots of runs.
        let orphans = children.filter { !watched.contains($0) && own[$0] == nil }
        if !orphans.isEmpty, let more = ProcessTable.subtreeSnapshot(of: orphans, procRoot: procRoot) {
            own.merge(more) { first, _ in first }
        }
        return own
    }

    public func liveProcesses(of run: TrackedRun) -> [Int32] {
        scan(run).filter { !$0.isZombie }.map(\.pid).sorted()
    }

    public func liveProcesses(of runs: [TrackedRun]) -> [[Int32]] {
        scan(runs).map { $0.filter { !$0.isZombie }.map(\.pid).sorted() }
    }

    public func signalAll(_ signal: Int32, of run: TrackedRun, sparing: Set<Int32>) -> Int {
        signalAll([SignalRequest(signal, of: run, sparing: sparing)])[0]
    }

    public func signalAll(_ requests: [SignalRequest]) -> [Int] {
        var runs: [TrackedRun] = []
        for request in requests where !runs.contains(request.run) { runs.append(request.run) }
        var found: [TrackedRun: [ProcessEntry]] = [:]
        for (run, members) in zip(runs, scan(runs)) { found[run] = members }
        return requests.map { request in
            var count = 0
            for entry in found[request.run] ?? [] where !entry.isZombie && !request.sparing.contains(entry.pid) {
                if ProcessTable.signal(request.signal, pid: entry.pid, startTime: entry.startTime, procRoot: procRoot) {
                    count += 1
                }
            }
            return count
        }
    }

    public func claim(_ entry: ProcessEntry, for run: TrackedRun) {
        known[run.unit, default: [:]][entry.pid] = entry.startTime
    }


    public func reapExited(of run: TrackedRun, watched: Set<Int32>) {
        for entry in scan(run) where entry.isZombie && entry.parentPID == ownPID && !watched.contains(entry.pid) {
            _ = ProcessTable.reapIfExited(entry.pid)
        }
    }

    public func forget(_ run: TrackedRun) {
        known[run.unit] = nil
    }
}

/// The tracker when /proc cannot be read for this PID namespace (`unshare --pid` without
/// `--mount-proc`, a container given the host's /proc, or no /proc at all): every pid
/// read there would name some other process, and a stop would wait for processes that
/// are not the component's. Each process Warden starts leads a session and a process
/// group of its own (`setsid` in the spawn), so the group reaches it and whatever it
/// forks that stays in the group, and `kill(-group, 0)` tells whether any is left. A
/// process that leaves its group (a daemon's `setsid`) escapes, as it escapes systemd's
/// process-group fallback; cgroups close that hole. Exited members are reaped by Warden
/// as PID 1 or subreaper, never here: reaping a group could take the main process's
/// status from its own watcher.
public final class ProcessGroupTracker: ProcessTracker {
    /// Per unit: the process groups of its runs' root processes, kept after the roots
    /// are reaped (their groups may live on).
    private var groups: [String: Set<Int32>] = [:]

    public init() {}

    private func groups(of run: TrackedRun) -> Set<Int32> {
        var known = groups[run.unit] ?? []
        known.formUnion(run.rootPIDs.filter { $0 > 1 })
        groups[run.unit] = known
        return known
    }

    /// One stand-in per group that still has a member: the group's number.
    public func liveProcesses(of run: TrackedRun) -> [Int32] {
        groups(of: run).filter(ProcessControl.processGroupExists).sorted()
    }

    /// A group's signal reaches its leader too: `sparing` cannot be honoured here.
    public func signalAll(_ signal: Int32, of run: TrackedRun, sparing: Set<Int32>) -> Int {
        groups(of: run).filter { ProcessControl.signal(signal, pid: -$0) }.count
    }

    /// The daemon's own process group (it left the root's with `setsid()`) joins the run's.
    public func claim(_ entry: ProcessEntry, for run: TrackedRun) {
        if entry.processGroupID > 1 { groups[run.unit, default: []].insert(entry.processGroupID) }
    }

    public func reapExited(of run: TrackedRun, watched: Set<Int32>) {}

    public func forget(_ run: TrackedRun) {
        groups[run.unit] = nil
    }
}

extension ProcessTracker {
    /// A look per run, for trackers whose look costs the same alone or together.
    public func liveProcesses(of runs: [TrackedRun]) -> [[Int32]] {
        runs.map { liveProcesses(of: $0) }
    }

    public func signalAll(_ requests: [SignalRequest]) -> [Int] {
        requests.map { signalAll($0.signal, of: $0.run, sparing: $0.sparing) }
    }

    /// Sends `signal` to each of `pids` but PID 1 and Warden itself; how many it reached.
    func signalEach(_ pids: [Int32], _ signal: Int32) -> Int {
        let own = ThisProcess.pid
        return pids.filter { $0 > 1 && $0 != own && ProcessControl.signal(signal, pid: $0) }.count
    }
}
