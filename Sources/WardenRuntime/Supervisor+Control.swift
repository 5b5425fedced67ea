import Glibc
import Logging
import Synchronization
import WardenCore
import WardenLinux

/// The control socket of a supervisor (`warden status`, `start`, `stop`, …): the
/// `ControlServer` runs on the supervisor's loop, so every request is answered between
/// two events with the supervisor's state as it is, without locks.
///
/// The server and the output buffer are kept in a side table keyed by the supervisor's
/// identity: this extension adds no stored properties to `Supervisor`.
extension Supervisor {
    /// Opens the control socket as `warden.conf` says: `ControlSocket=` (default
    /// `STATE/control.sock` under the supervisor's state directory), mode 0660, group
    /// `ControlSocketGroup=`, read-only access for `ReadOnlyGroup=`. A failure is logged
    /// and the daemon runs on without a control socket (a bad value must not take the
    /// supervised stack down). `outputBuffer` is what `logs` answers from; without one,
    /// `logs` answers `unavailable`.
    /// Opens the control socket. Returns why it could not be opened, or nil: without it
    /// an operator can neither stop nor inspect Warden, so the daemon refuses to start
    /// unless `ControlSocketOptional=yes`.
    @discardableResult
    public func startControl(settings: WardenSettings, outputBuffer: ComponentOutputBuffer? = nil) -> String? {
        let path = settings.controlSocket ?? options.stateDirectory + "/control.sock"
        var groupID: UInt32?
        var readOnlyGroupID: UInt32?
        do throws(UserLookupError) {
            if let name = settings.controlSocketGroup { groupID = try UserDatabase.groupID(name) }
            if let name = settings.readOnlyGroup { readOnlyGroupID = try UserDatabase.groupID(name) }
        } catch {
            return "ControlSocketGroup=/ReadOnlyGroup=: \(error)"
        }
        let (fileGroup, mode) = Self.controlSocketAccess(controlGroupID: groupID, readOnlyGroupID: readOnlyGroupID)
        do {
            _ = try startControlServer(
                path: path, mode: mode, groupID: fileGroup,
                policy: ControlAccessPolicy(controlGroupID: groupID, readOnlyGroupID: readOnlyGroupID),
                outputBuffer: outputBuffer)
            logger.info("control socket at \(path) (mode \(String(mode, radix: 8))\(fileGroup.map { ", group \($0)" } ?? ""))")
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The socket file's group and mode: every configured group must be able to connect,
    /// and the daemon's own check (`ControlAccessPolicy`, from SO_PEERCRED) decides what
    /// each may do. A file has one group, so with two different groups it is open to
    /// every user (0666) and the check alone refuses the rest.
    static func controlSocketAccess(controlGroupID: UInt32?, readOnlyGroupID: UInt32?) -> (group: UInt32?, mode: mode_t) {
        switch (controlGroupID, readOnlyGroupID) {
        case (nil, nil): (nil, 0o660)
        case (let group?, nil), (nil, let group?): (group, 0o660)
        case (let control?, let readOnly?): control == readOnly ? (control, 0o660) : (nil, 0o666)
        }
    }

    /// Opens a control socket at `path` answered by this supervisor. The socket file
    /// gets `groupID` as its group when given; `policy` decides who may do what.
    @discardableResult
    public func startControlServer(
        path: String, mode: mode_t = 0o660, groupID: UInt32? = nil, policy: ControlAccessPolicy,
        outputBuffer: ComponentOutputBuffer? = nil,
        requestTimeout: TimeSpan = ControlProtocol.requestTimeout
    ) throws(ProcessControlError) -> ControlServer {
        let server = try ControlServer(
            path: path, mode: mode, groupID: groupID, policy: policy, loop: loop, requestTimeout: requestTimeout,
            handler: { [unowned self] request, operation, peer in
                self.answerControl(request, operation, peer: peer)
            })
        let key = ObjectIdentifier(self)
        let previous = controlSideTable.withLock { table in
            let old = table[key]
            table[key] = ControlAttachment(server: server, outputBuffer: outputBuffer)
            return old
        }
        if let previous { loop.execute { previous.server.close() } }
        return server
    }

    /// Closes the control socket and removes its file. Call before `close()`.
    public func stopControlServer() {
        let key = ObjectIdentifier(self)
        guard let attachment = controlSideTable.withLock({ $0.removeValue(forKey: key) }) else { return }
        if loop.isOnLoopThread {
            attachment.server.close()
        } else {
            loop.executeAndWait { attachment.server.close() }
        }
    }

    /// The snapshots `status` answers with, sorted by name (for tests and benchmarks).
    public func controlSnapshots() -> [ComponentSnapshot] {
        loop.executeAndWait { [self] in snapshots(of: allComponentsByName) }
    }

    // MARK: Answers (loop thread)

    var allComponentsByName: [Component] { allComponents.sorted { $0.name < $1.name } }

    func answerControl(_ request: ControlRequest, _ operation: ControlOperation, peer: ControlPeer) -> ControlResponse {
        let id = request.id
        if operation == .status {
            guard let name = request.unitName else { return ControlResponse(id: id, components: snapshots(of: allComponentsByName)) }
            guard let c = lookUp(name, includingRetired: true) else { return unknown(name, id) }
            return ControlResponse(id: id, components: snapshots(of: [c]))
        }
        if operation == .logs {
            let name = request.unitName ?? ""
            guard let c = lookUp(name, includingRetired: true) else { return unknown(name, id) }
            guard let buffer = controlSideTable.withLock({ $0[ObjectIdentifier(self)]?.outputBuffer }) else {
                return .failure(
                    id: id,
                    ControlError(.unavailable, "this daemon keeps no output buffer; component output goes to Warden's log (stderr or the journal)"))
            }
            let count = request.lines ?? ControlProtocol.defaultLogLines
            if let after = request.after {
                return ControlResponse(id: id, lines: buffer.lines(after: after, limit: count, tag: c.tag))
            }
            return ControlResponse(id: id, lines: buffer.last(count, tag: c.tag))
        }
        if operation == .emergencyOn || operation == .emergencyOff || operation == .emergencyStatus {
            return answerEmergency(request, operation, peer: peer)
        }
        guard phase == .running else {
            return .failure(id: id, ControlError(.unavailable, "Warden is \(phase == .idle ? "not started yet" : "shutting down")"))
        }
        if operation == .reload { return reloadForControl(id: id, peer: peer) }
        let name = request.unitName ?? ""
        guard let c = lookUp(name, includingRetired: false) else { return unknown(name, id) }
        let who = "requested by \(peer)"
        switch operation {
        case .start:
            logger.info("start \(who)", metadata: unit(c))
            c.explicitStop = false
            c.dependencyFailure = nil
            c.startAttempted = true
            c.readySinceStart = false
            c.startQueued = true
            post(c, .startRequested)
            return ControlResponse(id: id, message: "start of \(c.name) requested; now \(c.machine.activeState) (\(c.machine.subState))")
        case .stop:
            logger.info("stop \(who)", metadata: unit(c))
            c.wantsStart = false
            if !c.isDown { c.explicitStop = true }
            post(c, .stopRequested)
            return ControlResponse(id: id, message: "stop of \(c.name) requested; now \(c.machine.activeState) (\(c.machine.subState))")
        case .restart:
            logger.info("restart \(who)", metadata: unit(c))
            c.wantsStart = false
            c.dependencyFailure = nil
            c.startAttempted = true
            post(c, .restartRequested)
            return ControlResponse(id: id, message: "restart of \(c.name) requested; now \(c.machine.activeState) (\(c.machine.subState))")
        case .resetFailed:
            logger.info("reset-failed \(who)", metadata: unit(c))
            post(c, .resetFailedRequested)
            return ControlResponse(id: id, message: "\(c.name) is now \(c.machine.activeState) (\(c.machine.subState))")
        case .status, .logs, .reload, .emergencyOn, .emergencyOff, .emergencyStatus:
            return .failure(id: id, ControlError(.unsupportedOperation, "'\(operation.rawValue)' reached the wrong branch"))
        }
    }

    /// Reads the configuration and reports its errors to the operator who asked, rather
    /// than only to the log as SIGHUP does.
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

    /// `feed` finds `feed.service`.
    func lookUp(_ unit: String, includingRetired: Bool) -> Component? {
        for name in ControlRequest.candidateNames(unit) {
            if let c = components[name] { return c }
            if includingRetired, let c = retired.first(where: { $0.name == name }) { return c }
        }
        return nil
    }

    func unknown(_ name: String, _ id: Int?) -> ControlResponse {
        let known = components.keys.sorted()
        var message = "no component '\(name)'"
        if let close = Suggestion.closest(to: name, in: known) { message += "; did you mean '\(close)'?" }
        return .failure(id: id, ControlError(.unknownUnit, message))
    }

    func snapshots(of list: [Component]) -> [ComponentSnapshot] {
        let uptime = ProcessUsageReader.systemUptimeSeconds()
        let hz = ProcessUsageReader.clockTicksPerSecond
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
                statusText: c.statusText, dependencyFailure: c.dependencyFailure, invocationID: c.invocationID,
                blockedReason: c.blockedReason, priority: configuration.effectivePriority(of: c.config).rawValue)
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

/// What a supervisor's control socket needs beyond the supervisor itself.
struct ControlAttachment: @unchecked Sendable {
    let server: ControlServer
    let outputBuffer: ComponentOutputBuffer?
}

/// Side table: supervisor identity → its control socket (see the extension's comment).
let controlSideTable = Mutex<[ObjectIdentifier: ControlAttachment]>([:])
