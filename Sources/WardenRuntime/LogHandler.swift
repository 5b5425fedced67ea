import Glibc
import Logging

/// Warden's log lines on a descriptor (stderr by default): `warden: message`, or
/// `warden[order-executor]: message` when the metadata names a unit. Each line is one
/// `write(2)`, so lines from several threads never interleave within a line, and a
/// line is never held in a buffer a crash would lose.
public struct WardenLogHandler: LogHandler {
    /// The metadata key naming the component a line is about.
    public static let unitKey = "unit"

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String
    private let fd: Int32
    private let program: String

    public init(label: String, fd: Int32 = STDERR_FILENO, program: String = "warden") {
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
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
