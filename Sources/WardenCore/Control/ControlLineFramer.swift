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
