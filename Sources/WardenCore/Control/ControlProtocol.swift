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
    /// `systemctl reload`: one component's `ExecReload=` (or `ReloadSignal=` for
    /// `Type=notify-reload`). Its own name, so an older daemon answers
    /// `unsupported-operation` instead of reloading its configuration.
    case reloadUnit = "reload-unit"
    case resetFailed = "reset-failed"
    /// Send a signal to one component's processes (`systemctl kill`): `signal` (default
    /// SIGTERM) to `whom` (default every process of the component).
    case kill
    /// The last lines of one component's output.
    case logs
    /// `warden emergency on`: the governor's manual emergency mode (`emergency` carries
    /// the quota, targets, freeze and duration).
    case emergencyOn = "emergency-on"
    /// `warden emergency off`: manual mode ends, everything restored exactly.
    case emergencyOff = "emergency-off"
    /// `warden emergency status`: the governor's tier, mode and every change in force.
    case emergencyStatus = "emergency-status"
    /// Where the daemon's configuration came from (`ControlConfigSource`): what the
    /// commands run beside it load instead of the defaults.
    case configSource = "config-source"

    /// Read-only operations are also allowed to `ReadOnlyGroup=`.
    public var isReadOnly: Bool {
        self == .status || self == .logs || self == .emergencyStatus || self == .configSource
    }

    /// Operations that act on exactly one component.
    public var needsUnit: Bool {
        switch self {
        case .start, .stop, .restart, .resetFailed, .logs, .kill, .reloadUnit: true
        case .status, .reload, .emergencyOn, .emergencyOff, .emergencyStatus, .configSource: false
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
    /// `kill`: the signal, by name (`HUP`, `SIGHUP`) or number; absent: SIGTERM.
    public var signal: String?
    /// `kill`: `main`, `control` or `all` (absent: `all`), as `systemctl kill --kill-whom=`.
    public var whom: String?

    public init(
        v: Int = ControlProtocol.version, id: Int? = nil, op: ControlOperation, unit: String? = nil, lines: Int? = nil,
        after: Int? = nil, emergency: ControlEmergencyRequest? = nil, signal: String? = nil, whom: String? = nil
    ) {
        self.v = v
        self.id = id
        self.op = op.rawValue
        self.unit = unit
        self.lines = lines
        self.after = after
        self.emergency = emergency
        self.signal = signal
        self.whom = whom
    }

    /// `kill`'s signal and whom it goes to, with their defaults.
    public func killTarget() -> Result<(signal: SignalNumber, whom: KillWhom), ControlError> {
        var signal = SignalNumber.terminate
        if let text = self.signal {
            switch SignalNumber.parse(text.trimmingWhitespace()) {
            case .success(let parsed): signal = parsed
            case .failure(let error): return .failure(ControlError(.malformed, "signal: \(error.message)"))
            }
        }
        guard let whom = KillWhom(rawValue: whom ?? KillWhom.all.rawValue) else {
            let known = KillWhom.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(ControlError(.malformed, "whom: '\(whom ?? "")' is not one of \(known)"))
        }
        return .success((signal, whom))
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
        if signal != nil || whom != nil {
            guard operation == .kill else {
                return .failure(ControlError(.malformed, "'signal' and 'whom' belong to 'kill' only, not '\(op)'"))
            }
        }
        if operation == .kill, case .failure(let error) = killTarget() { return .failure(error) }
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
    /// `config-source`.
    public var configSource: ControlConfigSource?

    public init(
        id: Int?, error: ControlError? = nil, components: [ComponentSnapshot]? = nil, lines: [ControlLogLine]? = nil,
        message: String? = nil, emergency: ControlEmergencyStatus? = nil, configSource: ControlConfigSource? = nil
    ) {
        self.v = ControlProtocol.version
        self.id = id
        self.error = error
        self.components = components
        self.lines = lines
        self.message = message
        self.emergency = emergency
        self.configSource = configSource
    }

    public static func failure(id: Int?, _ error: ControlError) -> ControlResponse {
        ControlResponse(id: id, error: error)
    }
}

/// Which of a component's processes `kill` signals (systemd's `--kill-whom=`).
public enum KillWhom: String, CaseIterable, Hashable, Sendable {
    /// The main process.
    case main
    /// The process of the command running now (`ExecStartPre=`, `ExecStop=`, …).
    case control
    /// Every process of the component.
    case all
}
