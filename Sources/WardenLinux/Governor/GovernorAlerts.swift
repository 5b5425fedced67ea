import Dispatch
import Glibc
import Logging
import WardenCore

/// A sink's failure to deliver one alert.
public struct GovernorAlertDeliveryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var sink: String
    public var reason: String
    public var description: String { "alert sink \(sink): \(reason)" }
}

/// Where governor alerts go. `deliver` may block (a network sink would); the dispatcher
/// calls it off the event loop, so a slow or failing sink never holds up the governor.
public protocol GovernorAlertSink: Sendable {
    var name: String { get }
    func deliver(_ alert: GovernorAlert) -> Result<Void, GovernorAlertDeliveryError>
}

/// Alerts as log records (warning for an escalation, notice otherwise), with the readings
/// as metadata.
public struct LogAlertSink: GovernorAlertSink {
    public var logger: Logger
    public var name: String { "log" }

    public init(logger: Logger) { self.logger = logger }

    public func deliver(_ alert: GovernorAlert) -> Result<Void, GovernorAlertDeliveryError> {
        var metadata: Logger.Metadata = [
            "rule": .string(alert.rule), "tier": .string(alert.to.rawValue), "previous_tier": .string(alert.from.rawValue),
        ]
        for reading in alert.readings { metadata[reading.signal.rawValue] = .string(reading.value) }
        logger.log(level: alert.to > alert.from ? .warning : .notice, "\(alert.text)", metadata: metadata)
        return .success(())
    }
}

/// `AlertWebhooks=`: Slack- and Discord-compatible incoming webhooks take an HTTPS POST of a
/// JSON body. Warden links no TLS library (and adds none), so it cannot deliver them; this
/// says so once at start-up and builds the body a future HTTPS sink (or a local relay on
/// 127.0.0.1) would send.
public enum WebhookAlerts {
    public static let unavailableReason =
        "HTTPS delivery needs TLS and Warden links no TLS library: AlertWebhooks= are not delivered; alerts go to the log"

    /// The start-up notice when webhooks are configured, nil when none are.
    public static func startupNotice(_ settings: GovernorSettings) -> String? {
        settings.alertWebhooks.isEmpty
            ? nil : "\(settings.alertWebhooks.count) alert webhook(s) configured: \(unavailableReason)"
    }

    /// `{"text": …, "content": …}`: Slack reads `text`, Discord reads `content`, each ignores
    /// the other.
    public static func payload(_ alert: GovernorAlert) -> String {
        let text = json(alert.text)
        return "{\"text\":\(text),\"content\":\(text)}"
    }

    static func json(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Hands alerts to the sinks on a queue of its own. `post` never blocks: when
/// `maximumPending` alerts are already waiting (a sink hangs), the new one is dropped and
/// counted. Failures are reported to `onFailure` on the dispatcher's queue.
public final class GovernorAlertDispatcher: @unchecked Sendable {
    private let sinks: [any GovernorAlertSink]
    private let queue = DispatchQueue(label: "warden.governor.alerts")
    private let lock = PthreadLock()
    private var pending = 0
    private var droppedCount = 0
    private let maximumPending: Int
    private let onFailure: @Sendable (GovernorAlertDeliveryError) -> Void

    public init(
        sinks: [any GovernorAlertSink], maximumPending: Int = 64,
        onFailure: @escaping @Sendable (GovernorAlertDeliveryError) -> Void = { _ in }
    ) {
        self.sinks = sinks
        self.maximumPending = maximumPending
        self.onFailure = onFailure
    }

    /// Queues the alert for every sink; false when it was dropped because the queue is full.
    @discardableResult
    public func post(_ alert: GovernorAlert) -> Bool {
        let accepted = lock.withLock {
            guard pending < maximumPending else {
                droppedCount += 1
                return false
            }
            pending += 1
            return true
        }
        guard accepted else { return false }
        queue.async { [self] in
            for sink in sinks {
                if case .failure(let error) = sink.deliver(alert) { onFailure(error) }
            }
            lock.withLock { pending -= 1 }
        }
        return true
    }

    /// Alerts dropped so far because the sinks fell behind.
    public var dropped: Int { lock.withLock { droppedCount } }

    /// Waits until every queued alert has been handed to the sinks (for shutdown and tests).
    public func drain() { queue.sync {} }
}
