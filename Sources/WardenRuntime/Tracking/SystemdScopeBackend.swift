import Logging
import WardenCore
import WardenLinux

/// Why a process could not be put into its component's scope. The process was killed
/// before it ran anything.
public struct ScopePlacementError: Error, CustomStringConvertible, Sendable {
    public var scope: String
    public var pid: Int32
    public var reason: String

    public var description: String { "placing pid \(pid) in \(scope): \(reason)" }
}

/// `[Warden] CgroupBackend=systemd`: every component's processes live in a transient
/// scope `warden-NAME.scope` in the component's `Slice=`, created through systemd's
/// D-Bus API, so `systemctl status`, `systemd-cgtop` and `systemd-cgls` show the stack
/// as units while Warden keeps supervising (restart policy, readiness, health checks).
///
/// Placement is race-free: each process is spawned gated (`spawnGatedProcess`), moved
/// into the scope (`StartTransientUnit` with `PIDs=[pid]` for a run's first process,
/// `AttachProcessesToUnit` for the later ones), and only then let go. A scope ends by
/// itself when its last process exits; systemd unloads it (`CollectMode=`), and a
/// scope still loaded after the component stopped is stopped or reset here, so no
/// `warden-*` unit is left behind.
///
/// Cgroup files are only read (`cgroup.procs` of the scope, `/proc/PID/cgroup`): the
/// cgroups are systemd's. Confined to the supervisor's loop thread.
public final class SystemdScopeBackend: ProcessTracker {
    public let bus: SystemdBus
    /// Where the cgroup v2 hierarchy is mounted (systemd's `ControlGroup` paths are
    /// relative to it).
    public let cgroupRoot: String
    public let procRoot: String
    /// What percentages of memory and of the task limit are resolved against.
    public let host: HostFacts?
    /// How long a scope's start job may take before the spawn fails.
    public var placementTimeoutUSec: UInt64 = 10_000_000

    /// Per unit: the scope's cgroup path (`/trading.slice/…/warden-feed.scope`) once a
    /// process was placed there.
    private var controlGroups: [String: String] = [:]
    /// Scopes Warden started and has not seen gone.
    private var scopes: Set<String> = []
    /// Transient slices Warden created (stopped at shutdown).
    private var createdSlices: [String] = []
    private let reaper: ProcfsProcessTracker
    /// Per unit: its scope's `memory.events`, and the `oom_kill` count already reported.
    private var memoryEventsWatches: [String: CgroupFileWatch] = [:]
    private var oomKillsSeen: [String: UInt64] = [:]
    /// Per unit: the slice's group and its `oom_kill` count when the scope's was last read
    /// (`newOOMKills` falls back to it once the scope's group is gone).
    private var sliceOOMKillsSeen: [String: (path: String, count: UInt64)] = [:]

    public init(bus: SystemdBus, host: HostFacts?, cgroupRoot: String = "/sys/fs/cgroup", procRoot: String = "/proc") {
        self.bus = bus
        self.host = host
        self.cgroupRoot = cgroupRoot
        self.procRoot = procRoot
        self.reaper = ProcfsProcessTracker(procRoot: procRoot)
    }

    /// Connects to systemd, or says plainly why `CgroupBackend=systemd` cannot work here.
    public static func connect(host: HostFacts?, cgroupRoot: String = "/sys/fs/cgroup") throws(SupervisorError) -> SystemdScopeBackend {
        do {
            return SystemdScopeBackend(bus: try SystemdBus(), host: host, cgroupRoot: cgroupRoot)
        } catch {
            throw SupervisorError(
                description: "CgroupBackend=systemd needs systemd's D-Bus API, which is not available here: "
                    + (error.errorMessage ?? error.description)
                    + "; use CgroupBackend=auto (the default) or delegated, or run Warden under systemd")
        }
    }

    public func scopeName(of unit: String) -> String { SystemdUnitPlan.scopeName(for: unit) }

    // MARK: Placement

    /// Puts a gated process into its component's scope (the caller then opens the
    /// gate). On failure the child is killed and reaped before this throws.
    /// - Returns: true when this process started the scope (a run's first process).
    public func place(
        _ gated: GatedProcess, service: ServiceConfig, configuration: Configuration, logger: Logger
    ) throws(ScopePlacementError) -> Bool {
        let scope = scopeName(of: service.name.description)
        do {
            try prepareSlices(for: service, configuration: configuration, host: host, logger: logger)
            return try moveIntoScope(gated.pid, scope: scope, service: service, host: host)
        } catch {
            gated.cancel()
            throw error
        }
    }

    /// Creates the Warden-defined slices above the component that systemd does not have
    /// (no unit file, not running) as transient slices with Warden's settings. A slice
    /// with a unit file (`scripts/install-systemd` installs Warden's) is systemd's as
    /// it is; a slice nobody defines is created by systemd itself with no settings.
    func prepareSlices(
        for service: ServiceConfig, configuration: Configuration, host: HostFacts?, logger: Logger
    ) throws(ScopePlacementError) {
        for name in SystemdUnitPlan.sliceChain(for: service, in: configuration) {
            guard let slice = configuration.slices.first(where: { $0.name.description == name }) else { continue }
            do {
                if let path = try bus.loadedUnitPath(name), !path.isEmpty {
                    let state = try bus.unitState(name)
                    let fragment = try bus.unitStringProperty(name, property: "FragmentPath")
                    if state.activeState == "active" || !fragment.isEmpty { continue }
                }
                try bus.startTransientUnit(name, properties: SystemdUnitPlan.sliceProperties(for: slice, host: host))
                createdSlices.append(name)
                logger.info("created transient \(name) (no unit file for it in systemd)")
            } catch {
                if error.errorName == "org.freedesktop.systemd1.UnitExists" { continue }
                throw ScopePlacementError(scope: name, pid: 0, reason: error.description)
            }
        }
    }

    /// A reload: the transient slices Warden created get their changed settings at once
    /// (`SetUnitProperties`, runtime); components pick up theirs when the reload
    /// restarts them into a new scope. Installed slices stay as their unit files say.
    public func configurationReloaded(from old: Configuration, to new: Configuration, logger: Logger) {
        for name in createdSlices {
            guard let before = old.slices.first(where: { $0.name.description == name }),
                let after = new.slices.first(where: { $0.name.description == name })
            else { continue }
            let changes = SystemdUnitPlan.propertyChanges(
                from: SystemdUnitPlan.sliceProperties(for: before, host: host),
                to: SystemdUnitPlan.sliceProperties(for: after, host: host))
            guard !changes.isEmpty else { continue }
            do {
                try bus.setProperties(changes, of: name)
                logger.info("\(name): \(changes.map(\.description).joined(separator: " "))")
            } catch {
                logger.warning("not applied after reload: \(error)")
            }
        }
    }

    /// A run's first process starts the scope; later ones join it while it is active.
    /// Returns true when the scope was created.
    private func moveIntoScope(
        _ pid: Int32, scope: String, service: ServiceConfig, host: HostFacts?
    ) throws(ScopePlacementError) -> Bool {
        func fail(_ reason: String) -> ScopePlacementError { ScopePlacementError(scope: scope, pid: pid, reason: reason) }
        let deadline = SystemdNotifier.monotonicNowUSec() + placementTimeoutUSec
        // A run's first process, with the previous run's scope released: straight to
        // StartTransientUnit, saving the look-ups (each a D-Bus round trip) on a restart.
        var lookFirst = scopes.contains(scope)
        while true {
            let state = lookFirst ? try? bus.loadedUnitPath(scope).map { _ in try bus.unitState(scope) } : nil
            lookFirst = true
            if let state, state.activeState == "active" {
                do {
                    try bus.attachProcesses([pid], to: scope)
                    try waitUntilPlaced(pid, scope: scope, job: nil, deadline: deadline)
                    return false
                } catch let error as SystemdBusError {
                    // The scope emptied between the look and the call: start a new one.
                    if error.errorMessage?.contains("not active") != true { throw fail(error.description) }
                } catch let error as ScopePlacementError {
                    throw error
                } catch {
                    throw fail("\(error)")
                }
            } else if let state, state.activeState == "failed" {
                // A failed scope of an earlier run (OOM kill) would block the name.
                try? bus.resetFailedUnit(scope)
            } else {
                do {
                    let properties = SystemdUnitPlan.scopeProperties(for: service, pids: [pid], host: host)
                    let job = try bus.startTransientUnit(scope, mode: "fail", properties: properties)
                    scopes.insert(scope)
                    try waitUntilPlaced(pid, scope: scope, job: job, deadline: deadline)
                    return true
                } catch let error as SystemdBusError {
                    // The previous run's scope is dead but not yet unloaded: systemd
                    // collects it within its next loop iteration.
                    if error.errorName != "org.freedesktop.systemd1.UnitExists" { throw fail(error.description) }
                } catch let error as ScopePlacementError {
                    throw error
                } catch {
                    throw fail("\(error)")
                }
            }
            if SystemdNotifier.monotonicNowUSec() >= deadline {
                throw fail("the earlier \(scope) did not go away within \(placementTimeoutUSec / 1_000_000) s")
            }
            ThisProcess.sleep(microseconds: 5_000)
        }
    }

    /// Waits until `/proc/PID/cgroup` shows the scope (systemd moves the process when it
    /// runs the start job, just after the call returned). Polls fast at first: a start
    /// waits for this.
    private func waitUntilPlaced(_ pid: Int32, scope: String, job: String?, deadline: UInt64) throws(ScopePlacementError) {
        var pause: UInt32 = 100
        var rounds = 0
        var job = job
        while true {
            if let path = cgroupPath(of: pid), path.hasSuffix("/" + scope) {
                controlGroups[scope] = path
                return
            }
            rounds += 1
            if rounds % 16 == 0, let started = job, (try? bus.jobIsPending(started)) == false {
                let state = (try? bus.unitState(scope)).map { "\($0.activeState) (\($0.subState))" } ?? "gone"
                // A scope can come up active without the process (under load, just after
                // a reload stopped the scope of that name): the process joins it as a
                // later process would, and the wait goes on.
                if state.hasPrefix("active "), (try? bus.attachProcesses([pid], to: scope)) != nil {
                    job = nil
                    continue
                }
                // The job is over and the process is not there: the start failed.
                let result = (try? bus.unitStringProperty(scope, property: "Result", interface: "org.freedesktop.systemd1.Scope")) ?? "?"
                throw ScopePlacementError(
                    scope: scope, pid: pid,
                    reason: "the start job finished but the process is not in the scope (unit \(state), result \(result))")
            }
            if SystemdNotifier.monotonicNowUSec() >= deadline {
                throw ScopePlacementError(
                    scope: scope, pid: pid, reason: "not moved into the scope within \(placementTimeoutUSec / 1_000_000) s")
            }
            ThisProcess.sleep(microseconds: pause)
            pause = min(pause * 2, 5_000)
        }
    }

    /// The process's cgroup v2 path (`0::/…` in `/proc/PID/cgroup`).
    func cgroupPath(of pid: Int32) -> String? {
        guard let text = try? LocalFileSystem().readFile("\(procRoot)/\(pid)/cgroup") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        return nil
    }

    /// The scope's cgroup path, relative to the cgroup root.
    public func controlGroup(of unit: String) -> String? { controlGroups[scopeName(of: unit)] }

    // MARK: OOM kills

    /// Watches the scope's `memory.events` (reading only: the group is systemd's), so an
    /// OOM kill of any process of the component is seen as it is in a delegated subtree:
    /// systemd's own `OOMPolicy=` does not apply to a scope Warden supervises.
    public func watchMemoryEvents(of unit: String, loop: EventLoop, changed: @escaping () -> Void) {
        guard memoryEventsWatches[unit] == nil, let group = controlGroup(of: unit),
            let directory = try? CgroupDirectory(openingPath: cgroupRoot + group)
        else { return }
        oomKillsSeen[unit] = oomKillCount(directory)
        noteSliceOOMKills(of: unit, scopeGroup: group)
        memoryEventsWatches[unit] = CgroupFileWatch.open("memory.events", beneath: directory.fd, loop: loop, changed: changed)
    }

    /// OOM kills in the unit's scope since last asked (`memory.events oom_kill`). When the
    /// OOM killer took the scope's last process, systemd may have removed the scope's group
    /// before Warden reads it; the slice's count, which holds its children's, then tells,
    /// since the last time the scope's own could be read.
    public func newOOMKills(of unit: String) -> UInt64 {
        guard let group = controlGroup(of: unit) else { return 0 }
        if let directory = try? CgroupDirectory(openingPath: cgroupRoot + group), let count = oomKillCount(directory) {
            let seen = oomKillsSeen[unit] ?? 0
            oomKillsSeen[unit] = count
            noteSliceOOMKills(of: unit, scopeGroup: group)
            return count > seen ? count - seen : 0
        }
        guard let slice = sliceOOMKillsSeen[unit], let directory = try? CgroupDirectory(openingPath: slice.path),
            let count = oomKillCount(directory)
        else { return 0 }
        sliceOOMKillsSeen[unit] = (slice.path, count)
        return count > slice.count ? count - slice.count : 0
    }

    public func unwatchMemoryEvents(of unit: String, loop: EventLoop) {
        memoryEventsWatches.removeValue(forKey: unit)?.cancel(on: loop)
        oomKillsSeen[unit] = nil
        sliceOOMKillsSeen[unit] = nil
    }

    private func noteSliceOOMKills(of unit: String, scopeGroup: String) {
        let slice = cgroupRoot + String(scopeGroup[..<(scopeGroup.lastIndex(of: "/") ?? scopeGroup.startIndex)])
        guard let directory = try? CgroupDirectory(openingPath: slice), let count = oomKillCount(directory) else { return }
        sliceOOMKillsSeen[unit] = (slice, count)
    }

    private func oomKillCount(_ directory: CgroupDirectory) -> UInt64? {
        guard let text = try? directory.read("memory.events") else { return nil }
        return (try? MemoryEvents.parse(text))?.oomKill
    }

    // MARK: After a stop, at shutdown

    /// After a component stopped: a scope still holding processes on purpose
    /// (`KillMode=process`) stays; an empty one that systemd has not unloaded yet is
    /// stopped, a failed one reset, so nothing of the run stays listed.
    public func componentStopped(_ unit: String, keepsProcesses: Bool, logger: Logger) {
        let scope = scopeName(of: unit)
        guard scopes.contains(scope) else { return }
        if keepsProcesses, !(processes(ofScope: scope)?.isEmpty ?? true) {
            logger.notice("processes remain in \(scope); keeping the scope", metadata: [WardenLogHandler.unitKey: "\(unit)"])
            return
        }
        release(scope, logger: logger)
    }

    /// Warden's shutdown: every scope it started and every transient slice it created
    /// is stopped (they are empty by now) and, if failed, reset. Returns what could not be.
    public func releaseAll(logger: Logger) -> [String] {
        var left: [String] = []
        for scope in scopes.sorted() where !release(scope, logger: logger) { left.append(scope) }
        for slice in createdSlices.reversed() {
            do {
                if try bus.loadedUnitPath(slice) != nil {
                    let job = try bus.stopUnit(slice)
                    _ = try bus.waitForJob(job, timeoutUSec: 5_000_000)
                }
            } catch {
                if error.errorName != "org.freedesktop.systemd1.NoSuchUnit" {
                    logger.warning("stopping transient \(slice): \(error)")
                    left.append(slice)
                }
            }
        }
        createdSlices.removeAll()
        return left
    }

    @discardableResult
    private func release(_ scope: String, logger: Logger) -> Bool {
        do {
            guard try bus.loadedUnitPath(scope) != nil else {
                forgetScope(scope)
                return true
            }
            let state = try bus.unitState(scope)
            switch state.activeState {
            case "failed":
                try bus.resetFailedUnit(scope)
            case "inactive":
                break
            default:
                let job = try bus.stopUnit(scope)
                _ = try bus.waitForJob(job, timeoutUSec: 5_000_000)
                if (try? bus.unitState(scope))?.activeState == "failed" { try bus.resetFailedUnit(scope) }
            }
            forgetScope(scope)
            return true
        } catch {
            if error.errorName == "org.freedesktop.systemd1.NoSuchUnit" {
                forgetScope(scope)
                return true
            }
            logger.warning("releasing \(scope): \(error)")
            return false
        }
    }

    private func forgetScope(_ scope: String) {
        scopes.remove(scope)
        controlGroups[scope] = nil
    }

    /// The scope's live processes (`cgroup.procs` lists no zombies); nil when its
    /// cgroup is gone or was never known.
    private func processes(ofScope scope: String) -> [Int32]? {
        guard let path = controlGroups[scope],
            let text = try? LocalFileSystem().readFile(cgroupRoot + path + "/cgroup.procs")
        else { return nil }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    // MARK: ProcessTracker

    public func liveProcesses(of run: TrackedRun) -> [Int32] {
        (processes(ofScope: scopeName(of: run.unit)) ?? []).sorted()
    }

    public func signalAll(_ signal: Int32, of run: TrackedRun, sparing: Set<Int32>) -> Int {
        signalEach((processes(ofScope: scopeName(of: run.unit)) ?? []).filter { !sparing.contains($0) }, signal)
    }

    /// A forked daemon stays in the component's scope: nothing to claim.
    public func claim(_ entry: ProcessEntry, for run: TrackedRun) {}

    public func reapExited(of run: TrackedRun, watched: Set<Int32>) {
        reaper.reapExited(of: run, watched: watched)
    }

    public func forget(_ run: TrackedRun) {
        reaper.forget(run)
    }
}
