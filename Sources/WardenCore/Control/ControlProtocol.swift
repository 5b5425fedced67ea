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

    /// Read-only operations are also allowed to `ReadOnlyGroup=`.
    public var isReadOnly: Bool { self == .status || self == .logs }

    /// Operations that act on exactly one component.
    public var needsUnit: Bool {
        switch self {
        case .start, .stop, .restart, .resetFailed, .logs: true
        case .status, .reload: false
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

    public init(
        v: Int = ControlProtocol.version, id: Int? = nil, op: ControlOperation, unit: String? = nil, lines: Int? = nil,
        after: Int? = nil
    ) {
        self.v = v
        self.id = id
        self.op = op.rawValue
        self.unit = unit
        self.lines = lines
        self.after = after
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

    public init(_ status: ExitStatus) {
        switch status {
        case .exited(let code):
            exited = code
        case .killed(let number, let core):
            signal = SignalNumber(rawValue: number).name.replacingPrefix("SIG")
            coreDumped = core
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

    public init(
        name: String, activeState: String, subState: String, result: String, mainPID: Int32? = nil,
        controlPID: Int32? = nil, restarts: Int = 0, uptimeSeconds: Double? = nil, cpuUsageSeconds: Double? = nil,
        cpuQuotaPercent: Double? = nil, memoryCurrentBytes: UInt64? = nil, memoryPeakBytes: UInt64? = nil,
        memoryHighBytes: UInt64? = nil, memoryMaxBytes: UInt64? = nil, tasks: Int? = nil, usageSource: String? = nil,
        slice: String, ready: Bool = false, lastExit: ControlExitStatus? = nil, statusText: String? = nil,
        dependencyFailure: String? = nil, invocationID: String? = nil, blockedReason: String? = nil
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

    public init(
        id: Int?, error: ControlError? = nil, components: [ComponentSnapshot]? = nil, lines: [ControlLogLine]? = nil,
        message: String? = nil
    ) {
        self.v = ControlProtocol.version
        self.id = id
        self.error = error
        self.components = components
        self.lines = lines
        self.message = message
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
