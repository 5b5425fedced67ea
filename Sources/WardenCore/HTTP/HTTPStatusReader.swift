/// The answer to one request, read only as far as its final status line and never past
/// `maximumBytes`: Warden's client judges an answer by its status alone (the health
/// probe's `GET`, the webhook's `POST`) and drops the rest with the connection.
public struct HTTPStatusReader: Hashable, Sendable {
    /// How many bytes of an answer are read at most while looking for its status line.
    public static let maximumBytes = 8192

    public enum Verdict: Hashable, Sendable {
        case needMore
        case status(Int)
        /// The offending line, quoted and cut short for a log message.
        case malformed(String)
        /// `maximumBytes` arrived without a complete status line.
        case tooLong
    }

    private var bytes: [UInt8] = []

    public init() {}

    /// How many more bytes may be read.
    public var room: Int { Self.maximumBytes - bytes.count }

    /// Nothing has arrived yet.
    public var isEmpty: Bool { bytes.isEmpty }

    /// Takes the next bytes of the answer (at most `room` of them are kept).
    public mutating func receive(_ chunk: [UInt8]) -> Verdict {
        bytes += chunk.prefix(max(0, room))
        switch HTTPStatusLine.scan(bytes) {
        case .needMore: return room > 0 ? .needMore : .tooLong
        case .status(let code): return .status(code)
        case .malformed(let line): return .malformed(line)
        }
    }
}
