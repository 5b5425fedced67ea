import Logging
import WardenCore
import WardenLinux

/// The operator's verbs on the stack, as the control socket hands them over (loop
/// thread), and the component snapshots `status` answers with.
extension Supervisor {
    /// The snapshots `status` answers with, sorted by name (for tests and benchmarks).
    public func controlSnapshots() -> [ComponentSnapshot] {
        loop.executeAndWait { [self] in snapshots(of: allComponentsByName) }
    }

    // MARK: Answers (loop thread)

    var allComponentsByName: [Component] { allComponents.sorted { $0.name < $1.name } }

    /// `start`, `stop`, `restart`, `reset-failed`, `kill` of one component, requested by
    /// `peer`.
    func operatorRequest(
        _ operation: ControlOperation, for c: Component, id: Int?, peer: ControlPeer,
        request: ControlRequest = ControlRequest(op: .status)
    ) -> ControlResponse {
        let who = "requested by \(peer)"
        if operation != .reloadUnit { cancelIdleStart(c) }
        switch operation {
        case .start:
            logger.info("start \(who)", metadata: unit(c))
            c.stack.operatorStart()
            c.stoppedByOperator = false
            // A start while the stop is under way starts it again once stopped.
            recordIntent(currentIntent(of: c) == .stop ? .restart : currentIntent(of: c), for: c)
            post(c, .startRequested)
            return ControlResponse(id: id, message: "start of \(c.name) requested; now \(stateAfterStart(c))")
        case .stop:
            logger.info("stop \(who)", metadata: unit(c))
            c.stack.operatorStop()
            c.stoppedByOperator = true
            recordIntent(.stop, for: c)
            post(c, .stopRequested)
            return ControlResponse(id: id, message: "stop of \(c.name) requested; now \(c.machine.activeState) (\(c.machine.subState))")
        case .restart:
            logger.info("restart \(who)", metadata: unit(c))
            c.stack.operatorRestart()
            c.stoppedByOperator = false
            recordIntent(.restart, for: c)
            post(c, .restartRequested)
            return ControlResponse(id: id, message: "restart of \(c.name) requested; now \(stateAfterStart(c))")
        case .resetFailed:
            logger.info("reset-failed \(who)", metadata: unit(c))
            post(c, .resetFailedRequested)
            return ControlResponse(id: id, message: "\(c.name) is now \(c.machine.activeState) (\(c.machine.subState))")
        case .kill:
            return kill(c, request, id: id, who: who)
        case .reloadUnit:
            return reloadComponent(c, id: id, who: who)
        case .status, .logs, .reload, .emergencyOn, .emergencyOff, .emergencyStatus, .configSource:
            return .failure(id: id, ControlError(.unsupportedOperation, "'\(operation.rawValue)' reached the wrong branch"))
        }
    }

    /// The state after a start request, with why it did not run when its conditions
    /// stopped it (the request has been carried out by the time the answer is made).
    func stateAfterStart(_ c: Component) -> String {
        let state = "\(c.machine.activeState) (\(c.machine.subState))"
        guard c.machine.state == .inactive, let note = c.machine.conditionNote else { return state }
        return state + ": " + note
    }

    /// `systemctl kill`: the signal to the main process, the running command's process, or
    /// every process of the component (the scan first, then the pidfds, as a stop does).
    /// Nothing else changes: what the signal does is the component's business, and an
    /// exit it causes is judged like any other.
    func kill(_ c: Component, _ request: ControlRequest, id: Int?, who: String) -> ControlResponse {
        let target: (signal: SignalNumber, whom: KillWhom)
        switch request.killTarget() {
        case .success(let value): target = value
        case .failure(let error): return .failure(id: id, error)
        }
        let name = target.signal.name
        var reached = 0
        switch target.whom {
        case .main, .control:
            guard let process = target.whom == .main ? c.main : c.control else {
                return .failure(
                    id: id, ControlError(.unavailable, "\(c.name) has no \(target.whom == .main ? "main" : "control") process to signal"))
            }
            if (try? ProcessControl.sendSignal(target.signal.rawValue, toPidfd: process.pidfd)) != nil { reached = 1 }
        case .all:
            guard let run = c.run else {
                return .failure(id: id, ControlError(.unavailable, "\(c.name) has no processes to signal (\(c.machine.activeState))"))
            }
            // Each process once: the roots through their pidfds, the rest as found.
            var roots = 0
            for process in [c.main, c.control].compactMap({ $0 })
            where (try? ProcessControl.sendSignal(target.signal.rawValue, toPidfd: process.pidfd)) != nil {
                roots += 1
            }
            reached = roots + tracker.signalAll(target.signal.rawValue, of: run, sparing: Set(run.rootPIDs))
        }
        logger.info("kill \(name) (\(target.whom.rawValue)) \(who): \(reached) process(es)", metadata: unit(c))
        return ControlResponse(id: id, message: "\(name) sent to \(reached) process(es) of \(c.name) (\(target.whom.rawValue))")
    }

    /// Reads the configuration and reports its errors to the operator who asked, rather
    /// than only to the log as Signal.hangup does.
    func reloadForControl(id: Int?, peer: ControlPeer) -> ControlResponse {
        guard let reloadSource else {
            return .failure(id: id, ControlError(.unavailable, "this daemon was started without a configuration source to reload"))
        }
        logger.info("reloading the configuration (requested by \(peer))")
        let result = reloadSource()
        guard result.configuration != nil else {
            let errors = result.diagnostics.filter { $0.severity == .error }
            applyReload(result)  // logs the diagnostics, changes nothing
            return .failure(
                id: id,
                ControlError(
                    .invalidConfiguration,
                    "\(errors.count) error(s); nothing changed:\n" + errors.map(\.description).joined(separator: "\n")))
        }
        applyReload(result)
        return ControlResponse(id: id, message: "configuration reloaded")
    }

    /// `feed` finds `feed.service`; an alias (`redis` for `redis-server.service`) finds
    /// the unit it names.
    func lookUp(_ unit: String, includingRetired: Bool) -> Component? {
        for candidate in ControlRequest.candidateNames(unit) {
            let name = configuration.canonicalName(candidate)
            if let c = components[name] { return c }
            if includingRetired, let c = retired.first(where: { $0.name == name }) { return c }
        }
        return nil
    }

    func unknown(_ name: String, _ id: Int?) -> ControlResponse {
        let known = (Array(components.keys) + configuration.aliases.keys.filter { components[configuration.canonicalName($0)] != nil }).sorted()
        var message = "no component '\(name)'"
        if let path = configuration.masked[configuration.canonicalName(name)]
            ?? configuration.masked[configuration.canonicalName(name + ".service")]
        {
            return .failure(id: id, ControlError(.unknownUnit, "\(name) is masked (\(path)): Warden does not start it"))
        }
        if let close = Suggestion.closest(to: name, in: known) { message += "; did you mean '\(close)'?" }
        return .failure(id: id, ControlError(.unknownUnit, message))
    }

    /// The masked services of the configuration, as `status` shows them: never started,
    /// `loadState` masked, as systemd's LoadState.
    func maskedSnapshots() -> [ComponentSnapshot] {
        configuration.masked.keys.sorted().compactMap { name in
            guard configuration.aliases[name] == nil, components[name] == nil,
                let unit = UnitName(parsing: name), unit.kind == .service
            else { return nil }
            var snapshot = ComponentSnapshot(name: name, activeState: "inactive", subState: "dead", result: "success", slice: "-")
            snapshot.loadState = "masked"
            return snapshot
        }
    }

    /// Per unit, the settings of the configuration the kernel does not enforce here.
    func notEnforcedSettings() -> [String: [UnenforcedSetting]] {
        var ruledOut: [UnenforcedSetting] = []
        if let availability = options.cgroupAvailability {
            ruledOut = CgroupEnforcement.unenforced(plan: CgroupPlan.plan(for: configuration, host: host), availability: availability)
        }
        var byUnit: [String: [UnenforcedSetting]] = [:]
        for setting in ruledOut + refusedCgroupWrites where byUnit[setting.unit]?.contains(where: { $0.key == setting.key }) != true {
            byUnit[setting.unit, default: []].append(setting)
        }
        return byUnit
    }

    func snapshots(of list: [Component]) -> [ComponentSnapshot] {
        let uptime = ProcessUsageReader.systemUptimeSeconds()
        let hz = ProcessUsageReader.clockTicksPerSecond
        let notEnforced = list.isEmpty ? [:] : notEnforcedSettings()
        return list.map { c in
            let resources = c.config.resources
            var snapshot = ComponentSnapshot(
                name: c.name, activeState: c.machine.activeState, subState: c.machine.subState,
                result: c.machine.result.rawValue, mainPID: c.main?.pid, controlPID: c.control?.pid,
                restarts: c.machine.restartCount,
                cpuQuotaPercent: resources.cpuQuota.map { Double($0.perSecondUSec) / 10_000 },
                memoryHighBytes: resources.memoryHigh?.resolved(on: host)?.value,
                memoryMaxBytes: resources.memoryMax?.resolved(on: host)?.value,
                slice: c.config.effectiveSlice, ready: c.isUp, lastExit: c.lastExit.map(ControlExitStatus.init),
                statusText: c.statusText, dependencyFailure: c.stack.dependencyFailure, invocationID: c.invocationID,
                blockedReason: c.blockedReason, priority: configuration.effectivePriority(of: c.config).rawValue,
                conditionResult: c.machine.conditionNote)
            snapshot.reloadResult = c.machine.reloadResult?.rawValue
            snapshot.notEnforced = notEnforced[c.name]
            if let pid = c.main?.pid, let usage = ProcessUsageReader.read(pid: pid), hz > 0 {
                snapshot.usageSource = "process"
                snapshot.cpuUsageSeconds = Double(usage.cpuTicks) / hz
                if let uptime { snapshot.uptimeSeconds = max(0, uptime - Double(usage.startTicks) / hz) }
                snapshot.memoryCurrentBytes = usage.residentBytes
                snapshot.memoryPeakBytes = usage.residentPeakBytes
                snapshot.tasks = usage.threads
            }
            return snapshot
        }
    }
}
