import Logging
import WardenCore
import WardenLinux

/// The control socket (`warden status`, `start`, `stop`, `emergency`, …): a
/// `ControlServer` on the supervisor's loop, so every request is answered between two
/// events with the stack as it is, without locks. It turns requests into the
/// supervisor's operator verbs and the governor's emergency commands, and their outcomes
/// into responses.
public final class ControlEndpoint: @unchecked Sendable {
    let supervisor: Supervisor
    /// What `logs` answers from; without one, `logs` answers `unavailable`.
    let outputBuffer: ComponentOutputBuffer?
    /// Answers `emergency on|off|status`; nil: `unavailable`. Loop thread.
    var governor: GovernorDriver?
    /// Answers `config-source`; nil: `unavailable`. Set before the loop runs.
    var configSource: ControlConfigSource?
    private var server: ControlServer?

    /// Opens a control socket at `path` answered by `supervisor`. The socket file gets
    /// `groupID` as its group when given; `policy` decides who may do what.
    public init(
        path: String, mode: UInt32 = 0o660, groupID: UInt32? = nil, policy: ControlAccessPolicy,
        supervisor: Supervisor, outputBuffer: ComponentOutputBuffer? = nil,
        requestTimeout: TimeSpan = ControlProtocol.requestTimeout
    ) throws(ProcessControlError) {
        self.supervisor = supervisor
        self.outputBuffer = outputBuffer
        server = try ControlServer(
            path: path, mode: mode, groupID: groupID, policy: policy, loop: supervisor.loop,
            requestTimeout: requestTimeout,
            handler: { [unowned self] request, operation, peer in self.answer(request, operation, peer: peer) })
    }

    /// Opens the control socket as `warden.conf` says: `ControlSocket=` (default
    /// `STATE/control.sock` under the supervisor's state directory), group
    /// `ControlSocketGroup=`, read-only access for `ReadOnlyGroup=`. Fails with the
    /// reason: without the socket an operator can neither stop nor inspect Warden, so the
    /// daemon refuses to start unless `ControlSocketOptional=yes`.
    public static func open(
        settings: WardenSettings, supervisor: Supervisor, outputBuffer: ComponentOutputBuffer? = nil
    ) -> Result<ControlEndpoint, ControlEndpointError> {
        let path = settings.controlSocket ?? supervisor.options.stateDirectory + "/control.sock"
        var groupID: UInt32?
        var readOnlyGroupID: UInt32?
        do throws(UserLookupError) {
            if let name = settings.controlSocketGroup { groupID = try UserDatabase.groupID(name) }
            if let name = settings.readOnlyGroup { readOnlyGroupID = try UserDatabase.groupID(name) }
        } catch {
            return .failure(ControlEndpointError(description: "ControlSocketGroup=/ReadOnlyGroup=: \(error)"))
        }
        let (fileGroup, mode) = socketAccess(controlGroupID: groupID, readOnlyGroupID: readOnlyGroupID)
        do {
            let endpoint = try ControlEndpoint(
                path: path, mode: mode, groupID: fileGroup,
                policy: ControlAccessPolicy(controlGroupID: groupID, readOnlyGroupID: readOnlyGroupID),
                supervisor: supervisor, outputBuffer: outputBuffer)
            supervisor.logger.info(
                "control socket at \(path) (mode \(String(mode, radix: 8))\(fileGroup.map { ", group \($0)" } ?? ""))")
            return .success(endpoint)
        } catch {
            return .failure(ControlEndpointError(description: "\(error)"))
        }
    }

    /// The socket file's group and mode: every configured group must be able to connect,
    /// and the daemon's own check (`ControlAccessPolicy`, from SO_PEERCRED) decides what
    /// each may do. A file has one group, so with two different groups it is open to
    /// every user (0666) and the check alone refuses the rest.
    static func socketAccess(controlGroupID: UInt32?, readOnlyGroupID: UInt32?) -> (group: UInt32?, mode: UInt32) {
        switch (controlGroupID, readOnlyGroupID) {
        case (nil, nil): (nil, 0o660)
        case (let group?, nil), (nil, let group?): (group, 0o660)
        case (let control?, let readOnly?): control == readOnly ? (control, 0o660) : (nil, 0o666)
        }
    }

    /// Answers `config-source` with `source` from now on.
    public func answerConfigSource(with source: ControlConfigSource) {
        supervisor.loop.executeAndWait { [self] in configSource = source }
    }

    /// Hands `emergency` requests to `driver` from now on.
    public func answerEmergencies(with driver: GovernorDriver?) {
        supervisor.loop.executeAndWait { [self] in governor = driver }
    }

    /// Closes the socket and removes its file; before the supervisor's `close()`.
    public func close() {
        supervisor.loop.executeAndWait { [self] in
            server?.close()
            server = nil
        }
    }

    // MARK: Answers (loop thread)

    func answer(_ request: ControlRequest, _ operation: ControlOperation, peer: ControlPeer) -> ControlResponse {
        let id = request.id
        if operation == .status {
            guard let name = request.unitName else {
                let all = supervisor.snapshots(of: supervisor.allComponentsByName) + supervisor.maskedSnapshots()
                return ControlResponse(id: id, components: all.sorted { $0.name < $1.name })
            }
            guard let c = supervisor.lookUp(name, includingRetired: true) else {
                let masked = supervisor.maskedSnapshots().filter { m in ControlRequest.candidateNames(name).contains(m.name) }
                return masked.isEmpty ? supervisor.unknown(name, id) : ControlResponse(id: id, components: masked)
            }
            return ControlResponse(id: id, components: supervisor.snapshots(of: [c]))
        }
        if operation == .logs {
            let name = request.unitName ?? ""
            guard let c = supervisor.lookUp(name, includingRetired: true) else { return supervisor.unknown(name, id) }
            guard let buffer = outputBuffer else {
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
        if operation == .configSource {
            guard let configSource else {
                return .failure(id: id, ControlError(.unavailable, "this daemon does not know where its configuration came from"))
            }
            return ControlResponse(id: id, configSource: configSource)
        }
        if operation == .emergencyOn || operation == .emergencyOff || operation == .emergencyStatus {
            return answerEmergency(request, operation, peer: peer)
        }
        guard supervisor.phase == .running else {
            return .failure(id: id, ControlError(.unavailable, "Warden is \(supervisor.phase == .idle ? "not started yet" : "shutting down")"))
        }
        if operation == .reload { return supervisor.reloadForControl(id: id, peer: peer) }
        let name = request.unitName ?? ""
        guard let c = supervisor.lookUp(name, includingRetired: false) else { return supervisor.unknown(name, id) }
        return supervisor.operatorRequest(operation, for: c, id: id, peer: peer, request: request)
    }

    func answerEmergency(_ request: ControlRequest, _ operation: ControlOperation, peer: ControlPeer) -> ControlResponse {
        let id = request.id
        guard let driver = governor else {
            return .failure(id: id, ControlError(.unavailable, "this daemon runs no governor"))
        }
        if operation != .emergencyStatus && supervisor.phase != .running {
            return .failure(id: id, ControlError(.unavailable, "Warden is \(supervisor.phase == .idle ? "not started yet" : "shutting down")"))
        }
        switch operation {
        case .emergencyOn:
            let manual: ManualEmergencyRequest
            switch (request.emergency ?? ControlEmergencyRequest()).manualRequest() {
            case .success(let value): manual = value
            case .failure(let error): return .failure(id: id, error)
            }
            switch driver.manualOn(manual, requestedBy: "\(peer)") {
            case .success(let status):
                return ControlResponse(id: id, message: "emergency on: tier \(status.tier), \(status.changes.count) value(s) changed", emergency: status)
            case .failure(let error):
                return .failure(id: id, error)
            }
        case .emergencyOff:
            switch driver.manualOff(requestedBy: "\(peer)") {
            case .success(let outcome): return ControlResponse(id: id, message: outcome.message, emergency: outcome.status)
            case .failure(let error): return .failure(id: id, error)
            }
        default:
            return ControlResponse(id: id, emergency: driver.status())
        }
    }
}

/// Why the control socket could not be opened.
public struct ControlEndpointError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
