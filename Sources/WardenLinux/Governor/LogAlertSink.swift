import Logging
import WardenCore

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
