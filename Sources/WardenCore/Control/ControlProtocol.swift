// The control socket's protocol (docs/control-protocol.md): one JSON object per line in
// each direction. Every request carries the protocol version `v` and an `id` the answer
// echoes, so a client may pipeline requests. Types here are pure and `Codable`; the JSON
// coder lives in the effects layer. Decoding ignores fields it does not know, so a newer
// client or daemon may add fields without breaking the other side.

/// Constants of the control protocol.
public enum ControlProtocol {
    /// The only version this daemon speaks; a request with another gets
    /// `unsupported-version`.
    public static let version = 1
    /// A request line longer than this gets `too-large` and the connection is closed:
    /// nothing legitimate comes close (a request is a verb and a unit name).
    public static let maximumRequestBytes = 64 * 1024
    /// A client that has not finished its request line this long after connecting (or
    /// after its previous answer) gets `timeout` and is disconnected.
    public static let requestTimeout = TimeSpan.seconds(5)
    /// `logs` without `lines`, and its upper bound.
    public static let defaultLogLines = 50
    public static let maximumLogLines = 10_000
}

/// What a request asks for.
public enum ControlOperation: String, CaseIterable, Codable, Hashable, Sendable {
    /// Every component, or one (`unit`).
    case status
    case start
    case stop
    case restart
    /// Re-read the whole configuration (as SIGHUP does); takes no unit.
    case reload
    case resetFailed = "reset-failed"
    /// The last lines of one component's output.
    case logs
    /// `warden emergency on`: the governor's manual emergency mode (`emergency` carries
    /// the quota, targets, freeze and duration).
    case emergencyOn = "emergency-on"
    /// `warden emergency off`: manual mode ends, everything restored exactly.
    case emergencyOff = "emergency-off"
    /// `warden emergency status`: the governor's tier, mode and every change in force.
    case emergencyStatus = "emergency-status"

    /// Read-only operations are also allowed to `ReadOnlyGroup=`.
    public var isReadOnly: Bool { self == .status || self == .logs || self == .emergencyStatus }

    /// Operations that act on exactly one component.
    public var needsUnit: Bool {
        switch self {
        case .start, .stop, .restart, .resetFailed, .logs: true
        case .status, .reload, .emergencyOn, .emergencyOff, .emergencyStatus: false
        }
    }
}

/// One request line: `{"v":1,"id":7,"op":"restart","unit":"feed"}`.
///
/// `op` stays a string so an operation this daemon does not know is answered with
/// `unsupported-operation` rather than `malformed`.
public struct ControlRequest: Codable, Hashable, Sendable {
    public var v: Int
    public var id: Int?
    public var op: String
    /// A component name (`feed` or `feed.service`).
    public var unit: String?
    /// `logs`: how many lines (default `ControlProtocol.defaultLogLines`).
    public var lines: Int?
    /// `logs`: only lines with a sequence number above this (`logs -f` polls with the
    /// last number it printed). Absent: the last `lines` lines.
    public var after: Int?
    /// `emergency-on`: what to throttle, how hard and for how long (absent: the defaults).
    public var emergency: ControlEmergencyRequest?

    public init(
        v: Int = ControlProtocol.version, id: Int? = nil, op: ControlOperation, unit: String? = nil, lines: Int? = nil,
        after: Int? = nil, emergency: ControlEmergencyRequest? = nil
    ) {
        self.v = v
        self.id = id
        self.op = op.rawValue
        self.unit = unit
        self.lines = lines
        self.after = after
        self.emergency = emergency
    }

    /// The operation, when this daemon knows it.
    public var operation: ControlOperation? { ControlOperation(rawValue: op) }

    /// The unit as given, trimmed; the daemon also accepts it without `.service`.
    public var unitName: String? {
        guard let unit else { return nil }
        let trimmed = unit.trimmingWhitespace()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The names a unit argument may mean: itself, and `NAME.service` for a bare `NAME`.
    public static func candidateNames(_ unit: String) -> [String] {
        unit.contains(".") ? [unit] : [unit, unit + ".service"]
    }

    /// Checks what the JSON decoder cannot: version, known operation, a unit where one
    /// is needed, a sane line count.
    public func validated() -> Result<ControlOperation, ControlError> {
        guard v == ControlProtocol.version else {
            return .failure(
                ControlError(.unsupportedVersion, "protocol version \(v) is not supported; this daemon speaks \(ControlProtocol.version)"))
        }
        guard let operation else {
            let known = ControlOperation.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(ControlError(.unsupportedOperation, "unknown operation '\(op)'; known: \(known)"))
        }
        if operation.needsUnit && (unitName ?? "").isEmpty {
            return .failure(ControlError(.malformed, "'\(op)' needs a unit"))
        }
        if let lines, lines < 1 || lines > ControlProtocol.maximumLogLines {
            return .failure(ControlError(.malformed, "lines must be 1…\(ControlProtocol.maximumLogLines), not \(lines)"))
        }
        if let after, after < 0 {
            return .failure(ControlError(.malformed, "after must be a sequence number (0 or more), not \(after)"))
        }
        if let emergency {
            guard operation == .emergencyOn else {
                return .failure(ControlError(.malformed, "'emergency' belongs to 'emergency-on' only, not '\(op)'"))
            }
            if case .failure(let error) = emergency.manualRequest() { return .failure(error) }
        }
        return .success(operation)
    }
}

/// A typed error code. A struct over a string rather than an enum, so a client decodes
/// codes a newer daemon introduces.
public struct ControlErrorCode: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    /// The request line is not a JSON object of the expected shape.
    public static let malformed = ControlErrorCode(rawValue: "malformed")
    /// The request line exceeds `ControlProtocol.maximumRequestBytes`.
    public static let tooLarge = ControlErrorCode(rawValue: "too-large")
    /// The request line did not arrive in time.
    public static let timeout = ControlErrorCode(rawValue: "timeout")
    public static let unsupportedVersion = ControlErrorCode(rawValue: "unsupported-version")
    public static let unsupportedOperation = ControlErrorCode(rawValue: "unsupported-operation")
    /// The peer may not do this (not root, not in `ControlSocketGroup=`).
    public static let forbidden = ControlErrorCode(rawValue: "forbidden")
    /// No component of that name.
    public static let unknownUnit = ControlErrorCode(rawValue: "unknown-unit")
    /// The daemon cannot do it now (shutting down) or at all (no output buffer, no
    /// configuration source).
    public static let unavailable = ControlErrorCode(rawValue: "unavailable")
    /// `reload`: the configuration on disk has errors; nothing changed.
    public static let invalidConfiguration = ControlErrorCode(rawValue: "invalid-configuration")
    /// Too many clients are connected.
    public static let busy = ControlErrorCode(rawValue: "busy")
    /// `emergency-on`: the governor refuses the request (a `Priority=critical` group).
    public static let refused = ControlErrorCode(rawValue: "refused")
}

/// An error answer's payload.
public struct ControlError: Error, Codable, Hashable, Sendable, CustomStringConvertible {
    public var code: ControlErrorCode
    public var message: String

    public init(_ code: ControlErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// How a process ended, in JSON: `{"exited":3}` or `{"signal":"KILL","coreDumped":false}`.
public struct ControlExitStatus: Codable, Hashable, Sendable {
    /// The exit code, for a process that exited.
    public var exited: Int32?
    /// The signal's name without `SIG`, for a process killed by one.
    public var signal: String?
    public var coreDumped: Bool?
    /// True for a process whose status only its parent could read (an adopted one).
    public var unknown: Bool?

    public init(_ status: ExitStatus) {
        switch status {
        case .exited(let code):
            exited = code
        case .killed(let number, let core):
            signal = SignalNumber(rawValue: number).name.replacingPrefix("SIG")
            coreDumped = core
        case .unknown:
            unknown = true
        }
    }

    public init(exited: Int32? = nil, signal: String? = nil, coreDumped: Bool? = nil) {
        self.exited = exited
        self.signal = signal
        self.coreDumped = coreDumped
    }

    /// `status=3`, `signal=KILL`, `signal=SEGV (core)`: how systemctl shows it.
    public var text: String {
        if let exited { return "status=\(exited)" }
        if let signal { return "signal=\(signal)" + (coreDumped == true ? " (core)" : "") }
        if unknown == true { return "unknown (adopted)" }
        return "-"
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}

/// One component in a `status` answer. The field names are the stable JSON shape
/// documented in docs/control-protocol.md; absent values are omitted, never sentinels.
public struct ComponentSnapshot: Codable, Hashable, Sendable {
    public var name: String
    /// systemd's ActiveState (`active`, `activating`, `failed`, …) and SubState.
    public var activeState: String
    public var subState: String
    /// systemd's Result (`success`, `exit-code`, …).
    public var result: String
    public var mainPID: Int32?
    public var controlPID: Int32?
    /// Automatic restarts since the last operator start.
    public var restarts: Int
    /// Seconds the main process has been running.
    public var uptimeSeconds: Double?
    /// CPU time (user + system) the main process used so far.
    public var cpuUsageSeconds: Double?
    /// CPU limit in percent of one CPU (`CPUQuota=`), when set.
    public var cpuQuotaPercent: Double?
    public var memoryCurrentBytes: UInt64?
    public var memoryPeakBytes: UInt64?
    /// `MemoryHigh=` / `MemoryMax=`, when set.
    public var memoryHighBytes: UInt64?
    public var memoryMaxBytes: UInt64?
    /// Threads of the main process (tasks of the cgroup once cgroups are wired).
    public var tasks: Int?
    /// Where the figures come from: `cgroup` or `process` (the main process alone, from
    /// /proc, when the component has no cgroup).
    public var usageSource: String?
    public var slice: String
    /// The component signalled readiness and has not stopped since.
    public var ready: Bool
    public var lastExit: ControlExitStatus?
    /// The last `STATUS=` it sent.
    public var statusText: String?
    /// A `Requires=`/`BindsTo=` unit that failed, so this one was not started.
    public var dependencyFailure: String?
    public var invocationID: String?
    /// Why the component is `blocked` (`blocked: duplicate PID 1234 (cmdline)`).
    public var blockedReason: String?
    /// `Priority=` as in force (`critical`, `normal`, `batch`); what readiness probes judge.
    public var priority: String?

    public init(
        name: String, activeState: String, subState: String, result: String, mainPID: Int32? = nil,
        controlPID: Int32? = nil, restarts: Int = 0, uptimeSeconds: Double? = nil, cpuUsageSeconds: Double? = nil,
        cpuQuotaPercent: Double? = nil, memoryCurrentBytes: UInt64? = nil, memoryPeakBytes: UInt64? = nil,
        memoryHighBytes: UInt64? = nil, memoryMaxBytes: UInt64? = nil, tasks: Int? = nil, usageSource: String? = nil,
        slice: String, ready: Bool = false, lastExit: ControlExitStatus? = nil, statusText: String? = nil,
        dependencyFailure: String? = nil, invocationID: String? = nil, blockedReason: String? = nil,
        priority: String? = nil
    ) {
        self.name = name
        self.activeState = activeState
        self.subState = subState
        self.result = result
        self.mainPID = mainPID
        self.controlPID = controlPID
        self.restarts = restarts
        self.uptimeSeconds = uptimeSeconds
        self.cpuUsageSeconds = cpuUsageSeconds
        self.cpuQuotaPercent = cpuQuotaPercent
        self.memoryCurrentBytes = memoryCurrentBytes
        self.memoryPeakBytes = memoryPeakBytes
        self.memoryHighBytes = memoryHighBytes
        self.memoryMaxBytes = memoryMaxBytes
        self.tasks = tasks
        self.usageSource = usageSource
        self.slice = slice
        self.ready = ready
        self.lastExit = lastExit
        self.statusText = statusText
        self.dependencyFailure = dependencyFailure
        self.invocationID = invocationID
        self.blockedReason = blockedReason
        self.priority = priority
    }
}

/// Whether the stack is ready, as `/readyz` and `warden status --check` judge it: every
/// `Priority=critical` component active and ready; with no critical component, every
/// component active and ready, or stopped cleanly (a finished oneshot, an operator's
/// stop). What a kubelet's readiness probe or a deploy script waits for.
public struct StackReadiness: Hashable, Sendable {
    public var ready: Bool
    /// `feed.service (activating)` for each component that keeps the stack from ready.
    public var waitingFor: [String]

    public init(_ components: [ComponentSnapshot], shuttingDown: Bool = false) {
        let critical = components.filter { $0.priority == "critical" }
        let judged = critical.isEmpty ? components : critical
        var waiting: [String] = []
        for c in judged.sorted(by: { $0.name < $1.name }) {
            let up = c.activeState == "active" && c.ready
            let cleanlyDown = critical.isEmpty && c.activeState == "inactive" && c.result == "success"
            if !up && !cleanlyDown {
                waiting.append("\(c.name) (\(c.activeState == "active" ? "not ready" : c.activeState))")
            }
        }
        self.waitingFor = waiting
        self.ready = waiting.isEmpty && !shuttingDown
        if shuttingDown { waitingFor.insert("Warden is shutting down", at: 0) }
    }

    /// One line: `ready` or `not ready: …`.
    public var text: String {
        ready ? "ready" : "not ready: " + waitingFor.joined(separator: ", ")
    }
}

/// One line of a component's output, as `logs` returns it.
public struct ControlLogLine: Codable, Hashable, Sendable {
    /// Wall-clock time it was logged, seconds since the epoch.
    public var time: Double
    public var text: String
    /// Numbers the component's lines from 1 in the order they were kept; a gap between
    /// two answers means lines dropped out of the bounded buffer in between. Absent from
    /// daemons older than `logs -f`.
    public var seq: Int?

    public init(time: Double, text: String, seq: Int? = nil) {
        self.time = time
        self.text = text
        self.seq = seq
    }
}

/// One answer line: either `error`, or the result fields of the operation.
public struct ControlResponse: Codable, Hashable, Sendable {
    public var v: Int
    /// The request's `id`; absent when the request could not be read.
    public var id: Int?
    public var error: ControlError?
    /// `status`.
    public var components: [ComponentSnapshot]?
    /// `logs`.
    public var lines: [ControlLogLine]?
    /// For operations that change something: what the daemon did.
    public var message: String?
    /// `emergency-on`, `emergency-off`, `emergency-status`: the governor afterwards.
    public var emergency: ControlEmergencyStatus?

    public init(
        id: Int?, error: ControlError? = nil, components: [ComponentSnapshot]? = nil, lines: [ControlLogLine]? = nil,
        message: String? = nil, emergency: ControlEmergencyStatus? = nil
    ) {
        self.v = ControlProtocol.version
        self.id = id
        self.error = error
        self.components = components
        self.lines = lines
        self.message = message
        self.emergency = emergency
    }

    public static func failure(id: Int?, _ error: ControlError) -> ControlResponse {
        ControlResponse(id: id, error: error)
    }
}

/// Who may do what on the control socket. Pure: the caller supplies the peer's
/// credentials (`SO_PEERCRED` and its supplementary groups) and the configured groups.
public struct ControlAccessPolicy: Hashable, Sendable {
    /// `ControlSocketGroup=`: every operation.
    public var controlGroupID: UInt32?
    /// `ReadOnlyGroup=`: `status` and `logs`.
    public var readOnlyGroupID: UInt32?

    public init(controlGroupID: UInt32? = nil, readOnlyGroupID: UInt32? = nil) {
        self.controlGroupID = controlGroupID
        self.readOnlyGroupID = readOnlyGroupID
    }

    /// What a peer may do: `.all`, `.readOnly`, or `.none`.
    public enum Grant: Hashable, Sendable { case all, readOnly, none }

    /// Root, or the control group among the peer's groups (primary or supplementary),
    /// gets everything; the read-only group gets read-only operations.
    public func grant(userID: UInt32, groupIDs: [UInt32]) -> Grant {
        if userID == 0 { return .all }
        if let controlGroupID, groupIDs.contains(controlGroupID) { return .all }
        if let readOnlyGroupID, groupIDs.contains(readOnlyGroupID) { return .readOnly }
        return .none
    }

    /// Nil when allowed; otherwise the `forbidden` error to answer.
    public func check(_ operation: ControlOperation, userID: UInt32, groupIDs: [UInt32]) -> ControlError? {
        switch grant(userID: userID, groupIDs: groupIDs) {
        case .all: return nil
        case .readOnly where operation.isReadOnly: return nil
        case .readOnly:
            return ControlError(.forbidden, "uid \(userID) may only read (ReadOnlyGroup=); '\(operation.rawValue)' needs root or ControlSocketGroup=")
        case .none:
            return ControlError(.forbidden, "uid \(userID) is neither root nor in ControlSocketGroup=/ReadOnlyGroup=")
        }
    }
}

/// Splits a byte stream into request lines with a cap on the line length. Pure, so the
/// limits are tested without sockets.
public struct ControlLineFramer: Sendable {
    public let maximumLineBytes: Int
    private var pending: [UInt8] = []

    public init(maximumLineBytes: Int = ControlProtocol.maximumRequestBytes) {
        self.maximumLineBytes = maximumLineBytes
    }

    /// Bytes received but not yet part of a complete line.
    public var pendingByteCount: Int { pending.count }

    public enum Output: Hashable, Sendable {
        /// A complete line without its `\n` (and without a trailing `\r`).
        case line([UInt8])
        /// The current line grew past the cap; the stream cannot be resynchronised.
        case tooLarge
    }

    /// Appends received bytes and returns the lines completed; stops at `tooLarge`.
    public mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> [Output] {
        var out: [Output] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                out.append(.line(pending))
                pending.removeAll(keepingCapacity: true)
            } else {
                guard pending.count < maximumLineBytes else {
                    out.append(.tooLarge)
                    pending = []
                    return out
                }
                pending.append(byte)
            }
        }
        return out
    }
}

// MARK: The governor's emergency mode

/// `emergency-on`'s parameters: `{"cpuQuotaPerSecUSec":500000,"targets":["backtest"],
/// "freeze":["batch"],"durationUSec":600000000}`. Every field is optional; numbers carry
/// their unit, as systemd's D-Bus properties do (the CLI parses `--cpu-quota 50%` and
/// `--for 10min` in systemd's syntax and sends the numbers).
public struct ControlEmergencyRequest: Codable, Hashable, Sendable {
    /// CPU time per second of wall time for each throttled group (`CPUQuota=50%` is
    /// 500000); absent: each group's `EmergencyCPUQuota=`.
    public var cpuQuotaPerSecUSec: UInt64?
    /// Slices or components (`NAME` means `NAME.service`), or `ThrottleSlices=` systemd
    /// slices; absent or empty: what the critical tier throttles.
    public var targets: [String]?
    /// What to freeze as well; the only value is `batch` (the batch groups).
    public var freeze: [String]?
    /// How long until manual mode ends by itself; absent: until `emergency-off`.
    public var durationUSec: UInt64?

    public init(cpuQuotaPerSecUSec: UInt64? = nil, targets: [String]? = nil, freeze: [String]? = nil, durationUSec: UInt64? = nil) {
        self.cpuQuotaPerSecUSec = cpuQuotaPerSecUSec
        self.targets = targets
        self.freeze = freeze
        self.durationUSec = durationUSec
    }

    /// The request as the governor takes it, or the `malformed` error to answer.
    public func manualRequest() -> Result<ManualEmergencyRequest, ControlError> {
        if let quota = cpuQuotaPerSecUSec, quota == 0 {
            return .failure(ControlError(.malformed, "cpuQuotaPerSecUSec must be above 0"))
        }
        var freezeBatch = false
        for word in freeze ?? [] {
            guard word == "batch" else {
                return .failure(ControlError(.malformed, "freeze '\(word)' is not supported; the only value is 'batch'"))
            }
            freezeBatch = true
        }
        if let duration = durationUSec, duration == 0 {
            return .failure(ControlError(.malformed, "durationUSec must be above 0 (omit it for no expiry)"))
        }
        let names = (targets ?? []).map { $0.trimmingWhitespace() }
        if names.contains(where: \.isEmpty) { return .failure(ControlError(.malformed, "an empty target name")) }
        return .success(
            ManualEmergencyRequest(
                cpuQuota: cpuQuotaPerSecUSec.map { CPUQuota(perSecondUSec: $0) }, targets: names, freezeBatch: freezeBatch,
                duration: durationUSec.map { TimeSpan(usec: $0) }))
    }
}

/// One value the governor changed, as `emergency-status` lists it.
public struct ControlGovernorChange: Codable, Hashable, Sendable {
    /// The slice or component (`backtest.service`), or the systemd slice.
    public var target: String
    /// `group` (a cgroup in Warden's tree) or `systemd-slice` (a D-Bus runtime property).
    public var kind: String
    /// The group's path below Warden's cgroup root, or the systemd unit's name.
    public var path: String
    /// The cgroup file (`cpu.max`) or the D-Bus property (`CPUQuotaPerSecUSec`).
    public var file: String
    /// What the governor wrote.
    public var written: String
    /// What was there before: what `emergency off` writes back.
    public var previous: String
    /// For a conflict: what is there now (someone changed it; it will not be overwritten).
    public var found: String?

    public init(_ change: GovernorChange, found: String? = nil) {
        target = change.target
        kind = change.kind.rawValue
        path = change.path
        file = change.file
        written = change.written
        previous = change.previous
        self.found = found
    }
}

/// The manual request in force.
public struct ControlEmergencyManual: Codable, Hashable, Sendable {
    public var cpuQuotaPerSecUSec: UInt64?
    public var targets: [String]
    public var freezeBatch: Bool
    public var durationUSec: UInt64?
    /// Seconds until manual mode ends by itself; absent: until `emergency off`.
    public var expiresInSeconds: Double?

    public init(_ request: ManualEmergencyRequest, until: MonotonicInstant?, now: MonotonicInstant) {
        cpuQuotaPerSecUSec = request.cpuQuota?.perSecondUSec
        targets = request.targets
        freezeBatch = request.freezeBatch
        durationUSec = request.duration?.usec
        expiresInSeconds = until.map { Double($0.since(now).usec) / 1_000_000 }
    }
}

/// The governor as `emergency-on`, `emergency-off` and `emergency-status` answer (and
/// `warden emergency status --json` prints): the stable shape of docs/control-protocol.md.
public struct ControlEmergencyStatus: Codable, Hashable, Sendable {
    /// `normal`, `warning`, `critical`, `severe`.
    public var tier: String
    /// `automatic` (the signals decide) or `manual` (an operator did).
    public var mode: String
    /// `[Governor] Enabled=`: automatic decisions are made. Manual mode works either way.
    public var automaticEnabled: Bool
    /// Seconds since the tier was entered.
    public var tierSeconds: Double
    /// Present in manual mode.
    public var manual: ControlEmergencyManual?
    /// Every value changed and not yet restored, in the order written.
    public var changes: [ControlGovernorChange]
    /// Values someone else changed since the governor wrote them: left as they are, never
    /// overwritten (`found` says what is there now). From the last restore, and found now.
    public var conflicts: [ControlGovernorChange]
    /// What the governor could not do or left alone, and why (no cgroup subtree, no
    /// systemd, a value it could not read).
    public var notes: [String]
    /// `daemon` (answered by `warden run`) or `direct` (the CLI acted on cgroupfs itself).
    public var source: String

    public init(
        state: GovernorState, now: MonotonicInstant, automaticEnabled: Bool, conflicts: [GovernorConflict],
        notes: [String], source: String
    ) {
        tier = state.tier.rawValue
        if case .manual(let request, let until) = state.mode {
            mode = "manual"
            manual = ControlEmergencyManual(request, until: until, now: now)
        } else {
            mode = "automatic"
            manual = nil
        }
        self.automaticEnabled = automaticEnabled
        tierSeconds = Double(now.since(state.since).usec) / 1_000_000
        changes = state.changes.map { ControlGovernorChange($0) }
        self.conflicts = conflicts.map { ControlGovernorChange($0.change, found: $0.found) }
        self.notes = notes
        self.source = source
    }

    /// `warden emergency status` for a person: aligned columns, values in systemd syntax.
    public func renderText() -> String {
        var out: [String] = []
        func row(_ label: String, _ value: String) { out.append(label.padding(toLength: 10) + value) }
        row("Tier:", tier + " (for \(Self.seconds(tierSeconds)))")
        var modeText = mode
        if let manual {
            var parts: [String] = []
            if let quota = manual.cpuQuotaPerSecUSec { parts.append("CPUQuota=\(Self.percent(quota))") }
            parts.append(manual.targets.isEmpty ? "targets: as the critical tier" : "targets: " + manual.targets.joined(separator: " "))
            if manual.freezeBatch { parts.append("batch frozen") }
            if let expires = manual.expiresInSeconds { parts.append("expires in \(Self.seconds(expires))") } else { parts.append("until 'warden emergency off'") }
            modeText += " (" + parts.joined(separator: ", ") + ")"
        }
        row("Mode:", modeText)
        row("Governor:", (automaticEnabled ? "automatic decisions on" : "automatic decisions off ([Governor] Enabled=no)") + "; via \(source)")
        func table(_ rows: [ControlGovernorChange], found: Bool) {
            var lines = [["TARGET", "FILE", "WRITTEN", "PREVIOUS"] + (found ? ["FOUND"] : [])]
            for change in rows {
                lines.append([change.target, change.file, change.written, change.previous] + (found ? [change.found ?? ""] : []))
            }
            var widths = [Int](repeating: 0, count: lines[0].count)
            for line in lines { for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) } }
            for line in lines {
                let cells = line.enumerated().map { i, cell in i == line.count - 1 ? cell : cell.padding(toLength: widths[i]) }
                out.append("  " + cells.joined(separator: "  "))
            }
        }
        if changes.isEmpty {
            out.append("Changes:  none")
        } else {
            out.append("Changes:")
            table(changes, found: false)
        }
        if !conflicts.isEmpty {
            out.append("Conflicts (changed by someone else; left as found):")
            table(conflicts, found: true)
        }
        for note in notes { out.append("Note:     " + note) }
        return out.joined(separator: "\n") + "\n"
    }

    static func seconds(_ value: Double) -> String {
        TimeSpan(usec: UInt64(max(0, value) * 1_000_000)).systemdString(accuracy: .seconds(1))
    }

    static func percent(_ perSecondUSec: UInt64) -> String {
        let hundredths = perSecondUSec / 100
        let whole = hundredths / 100
        let fraction = hundredths % 100
        return fraction == 0 ? "\(whole)%" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
