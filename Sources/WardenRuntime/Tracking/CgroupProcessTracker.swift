import Logging
import WardenCore
import WardenLinux

/// Whether Warden may manage the cgroup it was started in, decided before anything is
/// written.
public enum CgroupPlacement: Hashable, Sendable {
    /// A delegated cgroup v2 group that holds only Warden: Warden moves itself into the
    /// supervisor leaf and builds its slice tree beneath `groupPath`.
    case manage(groupPath: String)
    /// Warden runs without cgroups (as on a hybrid v1/v2 host); `unenforced` lists the
    /// planned settings that will not hold, for the one message that says so.
    case withoutCgroups(reason: String, unenforced: [UnenforcedSetting])

    /// Decides from what discovery found and what the group holds now. Beyond
    /// discovery's writability check, the group must be Warden's alone: no process but
    /// Warden in it (a systemd `Delegate=yes` service, a container's root), and no
    /// child group Warden would not create, so that shutdown's removal of the whole
    /// subtree can never kill or remove anything of someone else's (a root cgroup
    /// shared with other processes is never taken over).
    public static func decide(
        discovery: CgroupDiscovery, plan: [CgroupGroupPlan], ownPID: Int32 = ThisProcess.pid,
        supervisorGroup: String = CgroupManager.Options().supervisorGroup
    ) -> CgroupPlacement {
        func without(_ reason: String) -> CgroupPlacement {
            let availability = CgroupAvailability(hierarchy: .unusable(reason: reason))
            return .withoutCgroups(
                reason: reason, unenforced: CgroupEnforcement.unenforced(plan: plan, availability: availability))
        }
        if case .unusable(let reason) = discovery.availability.hierarchy { return without(reason) }
        guard let groupPath = discovery.groupPath else { return without("Warden's own cgroup is unknown") }
        let group: CgroupDirectory
        do {
            group = try CgroupDirectory(openingPath: groupPath)
        } catch {
            return without("\(error)")
        }
        var processes = ((try? group.read("cgroup.procs")) ?? "").split(separator: "\n").compactMap { Int32($0) }
        if discovery.startedInSupervisorLeaf, let leaf = try? CgroupDirectory(openingPath: groupPath + "/" + supervisorGroup) {
            // Restarted in the leaf a killed Warden left: the leaf must hold only Warden
            // too (a shell left there would block the subtree's removal at shutdown).
            processes += ((try? leaf.read("cgroup.procs")) ?? "").split(separator: "\n").compactMap { Int32($0) }
        }
        let others = processes.filter { $0 != ownPID }
        if !others.isEmpty {
            let shown = others.prefix(5).map(String.init).joined(separator: " ")
            return without(
                "\(groupPath) also holds other processes (\(shown)\(others.count > 5 ? " …" : "")): "
                    + "not a group delegated to Warden alone (start Warden as a Delegate=yes service or as a container's init)")
        }
        let planned = Set(plan.compactMap { $0.path.split(separator: "/").first.map(String.init) } + [supervisorGroup])
        let children = (try? group.childNames()) ?? []
        let foreign = children.filter { !planned.contains($0) }.sorted()
        if !foreign.isEmpty {
            return without(
                "\(groupPath) has child groups Warden does not create (\(foreign.joined(separator: ", "))): "
                    + "Warden removes its whole subtree at shutdown, so it does not take over a group shared with others")
        }
        return .manage(groupPath: groupPath)
    }
}

/// Why the cgroup subtree could not be set up.
public struct CgroupSetupError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// The `ProcessTracker` for a delegated cgroup v2 subtree: each component runs in its
/// own leaf group, so membership is the group's `cgroup.procs`, "all gone" is
/// `cgroup.events` `populated 0` (announced by the kernel with `EPOLLPRI`, so a stop
/// waits without polling), and killing is `cgroup.kill`. Also owns what only a cgroup
/// can tell: OOM kills (`memory.events` `oom_kill`) and peak memory (`memory.peak`).
///
/// Owns the `CgroupManager`; like it, confined to the supervisor's loop thread once the
/// supervisor runs (it is built on the main thread before the loop exists).
public final class CgroupProcessTracker: ProcessTracker {
    public let manager: CgroupManager
    /// The groups of the current configuration, parents first.
    public private(set) var plan: [CgroupGroupPlan]
    /// What `establish` set up and could not enforce (said once at start).
    public private(set) var setupReport: CgroupSetupReport?

    /// An interface file opened for `EPOLLPRI` notifications.
    private var eventsWatches: [String: CgroupFileWatch] = [:]
    private var memoryEventsWatches: [String: CgroupFileWatch] = [:]
    /// Per unit: `memory.events oom_kill` already accounted for.
    private var oomKillsSeen: [String: UInt64] = [:]
    /// Per unit: the group its processes were placed in, until it is removed.
    private var placed: [String: String] = [:]
    /// Reaping of zombies (`reapAllOrphans` off, in tests) is the same as without cgroups.
    private let reaper: ProcfsProcessTracker

    public init(manager: CgroupManager, plan: [CgroupGroupPlan], procRoot: String = "/proc") {
        self.manager = manager
        self.plan = plan
        self.reaper = ProcfsProcessTracker(procRoot: procRoot)
    }

    /// `warden run`'s set-up in a group `CgroupPlacement` said Warden may manage: moves
    /// Warden into the supervisor leaf (no-internal-processes rule), then creates the
    /// slice tree and a leaf per component with controllers enabled top-down.
    public static func establish(
        groupPath: String, plan: [CgroupGroupPlan], options: CgroupManager.Options = CgroupManager.Options()
    ) throws(CgroupSetupError) -> CgroupProcessTracker {
        do {
            let manager = try CgroupManager(rootPath: groupPath, options: options)
            try manager.moveIntoSupervisorGroup()
            let tracker = CgroupProcessTracker(manager: manager, plan: plan)
            tracker.setupReport = try manager.setUp(plan)
            return tracker
        } catch {
            throw CgroupSetupError(description: "setting up the cgroup subtree in \(groupPath): \(error)")
        }
    }

    /// The group of a unit, relative to Warden's root (`trading.slice/feed.service`):
    /// the one its current run was placed in, else the plan's (a reload may have moved
    /// the unit to another slice, or removed it, while its old group still runs).
    public func path(of unit: String) -> String? {
        placed[unit] ?? plannedPath(of: unit)
    }

    private func plannedPath(of unit: String) -> String? {
        plan.last { $0.unit == unit }?.path
    }

    /// A reload's plan: groups created from now on use it. Slices that exist and whose
    /// settings changed get the new values at once; components pick theirs up when the
    /// reload restarts them.
    /// - Returns: what could not be applied.
    public func replacePlan(_ new: [CgroupGroupPlan]) -> [String] {
        var problems: [String] = []
        let old = Dictionary(plan.map { ($0.path, $0) }, uniquingKeysWith: { $1 })
        for group in new where group.unit.hasSuffix(".slice") && exists(group.path) {
            guard let before = old[group.path], before.writes != group.writes else { continue }
            do {
                let result = try manager.apply(group.writes, to: group.path, unit: group.unit)
                problems += result.unenforced.map(\.description)
            } catch {
                problems.append("\(group.unit): \(error)")
            }
        }
        plan = new
        return problems
    }

    private func exists(_ path: String) -> Bool {
        (try? manager.read("cgroup.events", of: path)) != nil
    }

    /// Before each run of a unit: (re)creates its group and any slice above it that a
    /// previous stop removed, and returns the directory descriptor to spawn into
    /// (`CLONE_INTO_CGROUP`). A group still holding processes from an earlier run
    /// (`KillMode=process`) is adopted as it is.
    public func prepareGroup(for unit: String) throws(CgroupError) -> (fd: Int32, unenforced: [UnenforcedSetting]) {
        if let old = placed[unit], old != plannedPath(of: unit), !exists(old) { placed[unit] = nil }
        guard let path = placed[unit] ?? plannedPath(of: unit) else {
            throw CgroupError(operation: "find group", path: manager.rootPath, errno: 0, detail: "\(unit) is not in the cgroup plan")
        }
        var unenforced: [UnenforcedSetting] = []
        if !exists(path) {
            // Slices only when missing: a slice's live values (a governor's quota) must
            // survive a component's restart.
            let groups = plan.filter { group in
                group.path == path || (path.hasPrefix(group.path + "/") && !exists(group.path))
            }
            unenforced = try manager.setUp(groups).unenforced
        }
        oomKillsSeen[unit] = oomKillCount(path) ?? 0
        placed[unit] = path
        return (try manager.directoryFD(for: path), unenforced)
    }

    /// Watches the unit's `cgroup.events` (and `memory.events`) for `EPOLLPRI`: the
    /// kernel notifies every change of `populated` and of the memory event counters.
    /// `changed` runs on the loop thread. Without the notification (registration
    /// failed) the caller keeps polling.
    /// - Returns: true when `cgroup.events` is watched.
    @discardableResult
    public func watch(
        unit: String, loop: EventLoop, eventsChanged: @escaping () -> Void, memoryEventsChanged: @escaping () -> Void
    ) -> Bool {
        guard let path = path(of: unit) else { return false }
        if eventsWatches[unit] == nil, let watch = openWatch("cgroup.events", of: path, loop: loop, handler: eventsChanged) {
            eventsWatches[unit] = watch
        }
        if memoryEventsWatches[unit] == nil,
            let watch = openWatch("memory.events", of: path, loop: loop, handler: memoryEventsChanged)
        {
            memoryEventsWatches[unit] = watch
        }
        return eventsWatches[unit] != nil
    }

    public func isWatched(_ unit: String) -> Bool { eventsWatches[unit] != nil }

    private func openWatch(_ file: String, of path: String, loop: EventLoop, handler: @escaping () -> Void) -> CgroupFileWatch? {
        guard let directory = try? manager.directoryFD(for: path) else { return nil }
        return CgroupFileWatch.open(file, beneath: directory, loop: loop, changed: handler)
    }

    /// Stops watching a unit's files (before its group is removed).
    public func unwatch(unit: String, loop: EventLoop) {
        eventsWatches.removeValue(forKey: unit)?.cancel(on: loop)
        memoryEventsWatches.removeValue(forKey: unit)?.cancel(on: loop)
    }

    /// OOM kills in the unit's group since last asked (`memory.events oom_kill`).
    public func newOOMKills(of unit: String) -> UInt64 {
        guard let path = path(of: unit), let count = oomKillCount(path) else { return 0 }
        let seen = oomKillsSeen[unit] ?? 0
        oomKillsSeen[unit] = count
        return count > seen ? count - seen : 0
    }

    /// One small read, not `stats(of:)`: this runs on every `memory.events` change.
    private func oomKillCount(_ path: String) -> UInt64? {
        guard let text = try? manager.read("memory.events", of: path) else { return nil }
        return (try? MemoryEvents.parse(text))?.oomKill
    }

    /// `cgroup.events populated`; nil when the group does not exist.
    public func isPopulated(_ unit: String) -> Bool? {
        guard let path = path(of: unit) else { return nil }
        return try? manager.events(of: path).populated
    }

    /// After a run stopped: kills what is left, records the peak memory and removes the
    /// group (and slices that became empty).
    public func stopGroup(of unit: String, reclaimBytes: UInt64? = nil) throws(CgroupError) -> CgroupStopReport? {
        guard let path = path(of: unit), exists(path) else { return nil }
        oomKillsSeen[unit] = nil
        let report = try manager.stop(path, reclaimBytes: reclaimBytes)
        placed[unit] = nil
        return report
    }

    /// Warden's shutdown: removes every group beneath Warden's root but the supervisor
    /// leaf it runs in, then lists whatever is still there (nothing, when clean).
    public func removeAll(loop: EventLoop) -> (removed: [String], left: [String], error: String?) {
        for unit in Array(eventsWatches.keys) + Array(memoryEventsWatches.keys) { unwatch(unit: unit, loop: loop) }
        var removed: [String] = []
        var failure: String?
        do {
            removed = try manager.removeAll()
        } catch {
            failure = "\(error)"
        }
        let left = ((try? CgroupDirectory(openingPath: manager.rootPath).childNames()) ?? [])
            .filter { $0 != manager.options.supervisorGroup }
        return (removed, left, failure)
    }

    // MARK: ProcessTracker

    public func liveProcesses(of run: TrackedRun) -> [Int32] {
        guard let path = path(of: run.unit) else { return [] }
        // Zombies are not listed in cgroup.procs: what is listed is alive.
        return ((try? manager.processes(in: path)) ?? []).sorted()
    }

    /// A forked daemon stays in the component's group: nothing to claim.
    public func claim(_ entry: ProcessEntry, for run: TrackedRun) {}

    public func signalAll(_ signal: Int32, of run: TrackedRun, sparing: Set<Int32>) -> Int {
        guard let path = path(of: run.unit) else { return 0 }
        let pids = (try? manager.processes(in: path)) ?? []
        if signal == Signal.kill, !pids.isEmpty {
            // cgroup.kill: one write, no race with forks between listing and killing.
            // On kernels without it (before 5.14) the signal goes to each pid below.
            if let report = try? manager.kill(path, timeoutUSec: 0), report.method != .signalLoop {
                return pids.count
            }
        }
        return signalEach(pids.filter { !sparing.contains($0) }, signal)
    }

    public func reapExited(of run: TrackedRun, watched: Set<Int32>) {
        reaper.reapExited(of: run, watched: watched)
    }

    public func forget(_ run: TrackedRun) {
        reaper.forget(run)
    }
}

extension CgroupStopReport {
    /// `peak memory 123 MiB` for the log, or nil without `memory.peak`.
    var peakDescription: String? {
        guard let bytes = memoryPeakBytes else { return nil }
        if bytes >= 10 << 20 { return "peak memory \(bytes >> 20) MiB" }
        return "peak memory \((bytes + 1023) >> 10) KiB"
    }
}
