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
