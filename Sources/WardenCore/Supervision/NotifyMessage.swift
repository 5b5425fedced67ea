// The payload of one sd_notify(3) datagram, parsed the way systemd's manager reads it:
// newline-separated KEY=VALUE assignments, later ones overriding earlier ones, unknown
// keys ignored, a malformed value ignored with a note (the rest of the message still
// counts). A datagram with a NUL byte or invalid UTF-8 is refused as a whole.

/// What a service told the supervisor in one notification (`sd_notify(3)`).
public struct NotifyMessage: Hashable, Sendable {
    /// `READY=1`: start-up finished (Type=notify), or a reload finished.
    public var ready = false
    /// `STATUS=`: free-form text shown by `status`.
    public var status: String?
    /// `WATCHDOG=1`: keep-alive ping.
    public var watchdogPing = false
    /// `WATCHDOG=trigger`: the service asks to be treated as a watchdog failure.
    public var watchdogTrigger = false
    /// `WATCHDOG_USEC=`: the service changes its own watchdog interval.
    public var watchdogUSec: UInt64?
    /// `MAINPID=`: the service's main process is another pid.
    public var mainPID: Int32?
    /// `STOPPING=1`: the service is shutting down on its own.
    public var stopping = false
    /// `RELOADING=1`: the service started reloading its configuration.
    public var reloading = false
    /// `MONOTONIC_USEC=`: CLOCK_MONOTONIC time the reload started (sent with RELOADING=1).
    public var monotonicUSec: UInt64?
    /// `EXTEND_TIMEOUT_USEC=`: extend the current start/stop timeout to this from now.
    public var extendTimeoutUSec: UInt64?
    /// `ERRNO=`: the service's failure as an errno number.
    public var errno: Int32?
    /// Assignments that were understood as keys but had unusable values, each as
    /// `KEY=VALUE: reason`, for a log line.
    public var ignoredAssignments: [String] = []

    public init() {}

    /// True when nothing actionable was sent (ignored assignments do not count).
    public var isEmpty: Bool {
        var actions = self
        actions.ignoredAssignments = []
        return actions == NotifyMessage()
    }

    /// Why a whole datagram was refused.
    public enum RefusalReason: Error, Hashable, Sendable {
        case embeddedNUL
        case invalidUTF8
    }

    /// Parses a datagram payload.
    public init(parsing payload: some Collection<UInt8>) throws(RefusalReason) {
        if payload.contains(0) { throw .embeddedNUL }
        guard let text = String(validating: payload, as: UTF8.self) else { throw .invalidUTF8 }
        self.init()
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let equals = line.firstIndex(of: "=") else {
                ignoredAssignments.append("\(line): not KEY=VALUE")
                continue
            }
            let key = line[..<equals]
            let value = line[line.index(after: equals)...]
            apply(key: key, value: value, line: line)
        }
    }

    private mutating func apply(key: Substring, value: Substring, line: Substring) {
        func ignore(_ reason: String) { ignoredAssignments.append("\(line): \(reason)") }
        switch key {
        case "READY":
            if value == "1" { ready = true } else { ignore("only READY=1 is meaningful") }
        case "STATUS":
            status = String(value)
        case "WATCHDOG":
            switch value {
            case "1": watchdogPing = true
            case "trigger": watchdogTrigger = true
            default: ignore("expected 1 or trigger")
            }
        case "WATCHDOG_USEC":
            if let usec = UInt64(value), usec > 0 { watchdogUSec = usec } else { ignore("expected a positive number of microseconds") }
        case "MAINPID":
            if let pid = Int32(value), pid > 0 { mainPID = pid } else { ignore("expected a pid greater than 0") }
        case "STOPPING":
            if value == "1" { stopping = true } else { ignore("only STOPPING=1 is meaningful") }
        case "RELOADING":
            if value == "1" { reloading = true } else { ignore("only RELOADING=1 is meaningful") }
        case "MONOTONIC_USEC":
            if let usec = UInt64(value) { monotonicUSec = usec } else { ignore("expected microseconds") }
        case "EXTEND_TIMEOUT_USEC":
            if let usec = UInt64(value) { extendTimeoutUSec = usec } else { ignore("expected microseconds") }
        case "ERRNO":
            if let code = Int32(value), code >= 0 { errno = code } else { ignore("expected an errno number") }
        default:
            // FDSTORE=, BUSERROR=, EXIT_STATUS= and keys of newer systemd versions: not
            // acted on, and not worth a note either (systemd ignores unknown keys too).
            break
        }
    }
}
