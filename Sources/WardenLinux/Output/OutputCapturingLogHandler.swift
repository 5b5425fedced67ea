import Logging

/// A log handler that passes everything on to `wrapped` and keeps each line that names
/// a unit (metadata `unitKey`) in a `ComponentOutputBuffer`: the component's output, and
/// Warden's own lines about it, like `journalctl -u`.
///
/// Wire it where the logging system is bootstrapped:
/// `LoggingSystem.bootstrap { OutputCapturingLogHandler(wrapping: WardenLogHandler(label: $0), buffer: buffer) }`.
public struct OutputCapturingLogHandler<Wrapped: LogHandler>: LogHandler {
    public var wrapped: Wrapped
    public let buffer: ComponentOutputBuffer
    public let unitKey: String

    public init(wrapping wrapped: Wrapped, buffer: ComponentOutputBuffer, unitKey: String = "unit") {
        self.wrapped = wrapped
        self.buffer = buffer
        self.unitKey = unitKey
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        if let unit = event.metadata?[unitKey] ?? wrapped.metadata[unitKey] {
            buffer.append(event.message.description, tag: "\(unit)")
        }
        wrapped.log(event: event)
    }
}
