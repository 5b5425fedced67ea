import Glibc
import WardenCore

/// Reads a child's stdout/stderr pipe on the event loop and delivers it line by line.
///
/// The read end is non-blocking and drained on every wakeup (up to a bound, for
/// fairness), so the child only ever blocks when the supervisor itself is starved; the
/// loop never blocks on it. Lines longer than `maximumLineBytes` are delivered in pieces
/// marked `.cut` (journald's `LineMax=` does the same), cut at a UTF-8 character
/// boundary. At end of file a partial line is flushed, `onEnd` runs, and the descriptor
/// is closed.
public final class OutputReader: @unchecked Sendable {
    /// journald's default `LineMax=` (48 KiB).
    public static let defaultMaximumLineBytes = 48 * 1024

    public let tag: String
    public let maximumLineBytes: Int
    private let fd: Int32
    private let loop: EventLoop
    private var registration: EventLoop.RegistrationID?
    private var pending: [UInt8] = []
    private let deliver: (OutputLine) -> Void
    private let onEnd: () -> Void

    /// Takes ownership of `fd` (the read end of a pipe), makes it non-blocking and starts
    /// delivering lines to `handler` on `loop`.
    public init(
        fd: Int32, tag: String, loop: EventLoop, maximumLineBytes: Int = OutputReader.defaultMaximumLineBytes,
        handler: @escaping (OutputLine) -> Void, onEnd: @escaping () -> Void = {}
    ) throws(ProcessControlError) {
        precondition(maximumLineBytes >= 4, "a line must hold at least one UTF-8 character")
        self.fd = fd
        self.tag = tag
        self.loop = loop
        self.maximumLineBytes = maximumLineBytes
        self.deliver = handler
        self.onEnd = onEnd
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw ProcessControlError(operation: "fcntl(O_NONBLOCK) on output pipe of \(tag)", errno: errno)
        }
        registration = try loop.register(fd: fd, for: .readable) { [unowned self] _ in self.readAvailable() }
    }

    /// Stops reading and closes the descriptor without flushing (the component is gone
    /// and its output no longer wanted). Call on the loop thread.
    public func cancel() {
        guard let registration else { return }
        loop.unregister(registration)
        self.registration = nil
        close(fd)
    }

    private func readAvailable() {
        // The read buffer lives on the loop thread's stack, one for every reader: a
        // 64 KiB array per reader was half of the daemon's memory with 100 components.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 65536) { chunk in
            // 16 × 64 KiB per wakeup at most; level-triggered epoll brings us back for more.
            for _ in 0..<16 {
                let n = SystemCall.retryingInterrupts { read(fd, chunk.baseAddress, chunk.count) }
                if n > 0 {
                    consume(ArraySlice(chunk[0..<n]))
                    continue
                }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
                // EOF, or a read error that will not go away: finish.
                if !pending.isEmpty { emit(pending[...], .endOfFile) }
                pending.removeAll()
                cancel()
                onEnd()
                return
            }
        }
    }

    private func consume(_ bytes: ArraySlice<UInt8>) {
        var rest = bytes
        while let newline = rest.firstIndex(of: 10) {
            let piece = rest[rest.startIndex..<newline]
            if pending.isEmpty {
                emitCutting(piece)
            } else {
                pending.append(contentsOf: piece)
                let line = pending
                pending.removeAll(keepingCapacity: true)
                emitCutting(line[...])
            }
            rest = rest[rest.index(after: newline)...]
        }
        pending.append(contentsOf: rest)
        // Without a newline in sight, deliver full-length pieces now so memory stays bounded.
        while pending.count > maximumLineBytes {
            let cut = Self.characterBoundary(in: pending[...], atMost: maximumLineBytes)
            emit(pending[0..<cut], .cut)
            pending.removeFirst(cut)
        }
    }

    /// Emits a complete line (newline-terminated), in `.cut` pieces if it is too long.
    private func emitCutting(_ line: ArraySlice<UInt8>) {
        var line = line
        while line.count > maximumLineBytes {
            let cut = Self.characterBoundary(in: line, atMost: maximumLineBytes)
            emit(line.prefix(cut), .cut)
            line = line.dropFirst(cut)
        }
        emit(line, .newline)
    }

    private func emit(_ bytes: ArraySlice<UInt8>, _ ending: OutputLine.Ending) {
        deliver(OutputLine(tag: tag, text: String(decoding: bytes, as: UTF8.self), ending: ending))
    }

    /// The largest length ≤ `limit` that does not split a UTF-8 sequence (or `limit` when
    /// the bytes are not UTF-8 there).
    static func characterBoundary(in bytes: ArraySlice<UInt8>, atMost limit: Int) -> Int {
        let base = bytes.startIndex
        // Step back over continuation bytes (10xxxxxx) to the lead byte, at most 3.
        var start = limit
        while start > 0 && limit - start < 3 && bytes[base + start] & 0xC0 == 0x80 { start -= 1 }
        let lead = bytes[base + start]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        // Only a real sequence that straddles the limit moves the cut.
        return start > 0 && start < limit && start + length > limit ? start : limit
    }
}
