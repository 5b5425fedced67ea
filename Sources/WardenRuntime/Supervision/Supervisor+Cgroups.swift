import Logging
import WardenCore
import WardenLinux

/// The supervisor's cgroup effects: placing a run in its group, learning from the
/// group's events, cleaning up after a stop and at shutdown. Loop thread only.
extension Supervisor {
    /// Before a spawn: the component's group exists (recreated after a stop removed it)
    /// and is watched; returns the descriptor for `CLONE_INTO_CGROUP`. Control processes
    /// (`ExecStartPre=`, `ExecStop=`, …) join the same group, as under systemd.
    func placeInGroup(_ c: Component, _ cgroups: CgroupProcessTracker) throws(CgroupError) -> Int32 {
        let (fd, unenforced) = try cgroups.prepareGroup(for: c.name)
        for line in CgroupEnforcement.messages(unenforced) {
            logger.warning("not enforced: \(line)", metadata: unit(c))
        }
        for setting in unenforced where !refusedCgroupWrites.contains(setting) { refusedCgroupWrites.append(setting) }
        if !cgroups.isWatched(c.name) {
            let watched = cgroups.watch(
                unit: c.name, loop: loop,
                eventsChanged: { [unowned self, weak c] in
                    guard let c else { return }
                    // populated changed: let the scan confirm what is left.
                    c.needsGoneCheck = true
                    self.pump()
                },
                memoryEventsChanged: { [unowned self, weak c] in
                    guard let c else { return }
                    self.memoryEventsChanged(c)
                })
            if !watched {
                logger.notice("cgroup.events cannot be watched; polling for leftover processes", metadata: unit(c))
            }
        }
        return fd
    }

    /// An OOM kill of any process of the component (not only the main process) stops it,
    /// systemd's `OOMPolicy=stop`; the restart follows `Restart=`.
    func memoryEventsChanged(_ c: Component) {
        let kills = cgroups?.newOOMKills(of: c.name) ?? scopes?.newOOMKills(of: c.name) ?? 0
        guard kills > 0 else { return }
        logger.warning(
            "OOM kill: the kernel's OOM killer killed \(kills) process(es) of the component (memory.events oom_kill)",
            metadata: unit(c))
        post(c, .oomKilled)
    }

    /// After `markStopped`: record the peak memory and remove the group, unless
    /// `KillMode=process` (or `SendSIGKILL=no`) left processes in it on purpose;
    /// those keep the group, which the next start adopts and shutdown removes.
    func cleanUpGroup(_ c: Component, _ cgroups: CgroupProcessTracker) {
        let policy = c.machine.policy
        let leavesProcesses = policy.killMode == .process || !policy.sendSIGKILL
        if leavesProcesses, cgroups.isPopulated(c.name) == true {
            logger.notice(
                "processes remain in the cgroup (KillMode=\(policy.killMode.rawValue), SendSIGKILL=\(policy.sendSIGKILL ? "yes" : "no")); keeping the group", metadata: unit(c))
            return
        }
        cgroups.unwatch(unit: c.name, loop: loop)
        do {
            guard let report = try cgroups.stopGroup(of: c.name) else { return }
            var parts = ["stopped"]
            if let peak = report.peakDescription { parts.append(peak) }
            if let kills = report.memoryEvents?.oomKill, kills > 0 { parts.append("\(kills) OOM kill(s)") }
            if report.kill.method != .nothingToKill {
                parts.append("leftover processes killed (\(report.kill.method.rawValue))")
            }
            logger.info("\(parts.joined(separator: "; "))", metadata: unit(c))
        } catch {
            logger.warning("cleaning up the cgroup: \(error)", metadata: unit(c))
        }
    }

    /// The end of a shutdown: nothing of Warden's may stay in its subtree but the leaf
    /// it runs in (removed by whoever created Warden's group: systemd, the container
    /// runtime). Anything left makes the exit status non-zero.
    func removeSubtree(_ cgroups: CgroupProcessTracker) {
        let outcome = cgroups.removeAll(loop: loop)
        if let error = outcome.error {
            logger.error("removing the cgroup subtree: \(error)")
            exitCode = SupervisorExitCode.failure
        }
        if !outcome.left.isEmpty {
            logger.error(
                "cgroups left behind in \(cgroups.manager.rootPath): \(outcome.left.sorted().joined(separator: ", "))")
            exitCode = SupervisorExitCode.failure
        } else {
            logger.info(
                "cgroup subtree removed (\(outcome.removed.count) group(s)); only \(cgroups.manager.options.supervisorGroup) remains")
        }
    }
}

/// `CgroupBackend=systemd`: the placement hook and the scopes' end. Loop thread only.
extension Supervisor {
    /// Spawns a component's process. With the systemd backend the child waits at a gate
    /// until it is in its scope, so it never runs (or forks) outside it; a failed
    /// placement kills it and fails the spawn.
    func spawnPlaced(_ request: SpawnRequest, for c: Component) throws(SpawnError) -> SpawnedProcess {
        guard let scopes else { return try spawnProcess(request) }
        let gated = try spawnGatedProcess(request)
        do {
            let created = try scopes.place(
                gated, service: c.config, configuration: configuration, logger: logger)
            if created {
                logger.info(
                    "in \(scopes.scopeName(of: c.name)) (\(scopes.controlGroup(of: c.name) ?? c.config.effectiveSlice))",
                    metadata: unit(c))
            }
            scopes.watchMemoryEvents(of: c.name, loop: loop) { [unowned self, weak c] in
                guard let c else { return }
                self.memoryEventsChanged(c)
            }
        } catch {
            // The child was killed at the gate: nothing ran.
            throw SpawnError(step: error.description + " (the child was cancelled at the gate)", errno: Errno.canceled)
        }
        return try gated.open()
    }

    /// After `markStopped`: the run's scope goes, unless `KillMode=process` (or
    /// `SendSIGKILL=no`) left processes in it on purpose.
    func releaseScope(_ c: Component, _ scopes: SystemdScopeBackend) {
        let policy = c.machine.policy
        scopes.unwatchMemoryEvents(of: c.name, loop: loop)
        scopes.componentStopped(
            c.name, keepsProcesses: policy.killMode == .process || !policy.sendSIGKILL, logger: logger)
    }

    /// The end of a shutdown: no `warden-*` scope and no transient slice of Warden's stays.
    func releaseScopes(_ scopes: SystemdScopeBackend) {
        let left = scopes.releaseAll(logger: logger)
        if left.isEmpty {
            logger.info("systemd scopes released")
        } else {
            logger.error("units left behind in systemd: \(left.joined(separator: ", "))")
            exitCode = SupervisorExitCode.failure
        }
    }
}
