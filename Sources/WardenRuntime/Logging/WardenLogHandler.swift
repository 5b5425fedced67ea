import Logging
import WardenLinux

/// Warden's log lines on a descriptor (stderr by default): `warden: message`, or
/// `warden[order-executor]: message` when the metadata names a unit. Each line is one
/// `write(2)`, so lines from several threads never interleave within a line, and a
/// line is never held in a buffer a crash would lose.
public struct WardenLogHandler: LogHandler {
    /// The metadata key naming the component a line is about.
    public static let unitKey = "unit"
    /// Present on lines that are a component's own output (not Warden's words about it).
    public static let outputKey = "output"

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String
    private let fd: Int32
    private let program: String

    public init(label: String, fd: Int32 = StandardStreams.error, program: String = "warden") {
        self.label = label
        self.fd = fd
        self.program = program
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var line = program
        if let unit = merged.removeValue(forKey: Self.unitKey) { line += "[\(unit)]" }
        merged.removeValue(forKey: Self.outputKey)
        line += ": "
        switch event.level {
        case .warning: line += "warning: "
        case .error, .critical: line += "error: "
        default: break
        }
        line += event.message.description
        if !merged.isEmpty {
            line += " (" + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + ")"
        }
        line += "\n"
        StandardStreams.write(line, to: fd)
    }
}

/// Warden's log lines into the journal: a component's own output under the component's
/// name (`journalctl -t order-executor`), Warden's lines under `warden` with
/// `WARDEN_COMPONENT=` naming the component they are about.
public struct JournalBridgeLogHandler: LogHandler {
    private var journal: JournalLogHandler
    /// `CgroupBackend=systemd`: the systemd unit of a component (`warden-feed.scope`),
    /// sent as `OBJECT_SYSTEMD_UNIT=`, which journald accepts from root: then
    /// `journalctl -u warden-feed.scope` shows the component's output and Warden's lines
    /// about it, next to systemd's own.
    private let objectUnit: (@Sendable (String) -> String)?

    public init(label: String, objectUnit: (@Sendable (String) -> String)? = nil) {
        journal = JournalLogHandler(label: label)
        self.objectUnit = objectUnit
    }

    public var metadata: Logger.Metadata {
        get { journal.metadata }
        set { journal.metadata = newValue }
    }

    public var logLevel: Logger.Level {
        get { journal.logLevel }
        set { journal.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { journal[metadataKey: key] }
        set { journal[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        var metadata = event.metadata ?? [:]
        let isOutput = metadata.removeValue(forKey: WardenLogHandler.outputKey) != nil
        if let unit = metadata.removeValue(forKey: WardenLogHandler.unitKey) {
            metadata["component"] = unit
            if let objectUnit { metadata["OBJECT_SYSTEMD_UNIT"] = .string(objectUnit(unit.description)) }
            if !isOutput { metadata["syslog_identifier"] = "warden" }
        }
        event.metadata = metadata
        journal.log(event: event)
    }
}
