import Glibc
import Synchronization
import WardenCore

/// The recent output of each component, for `warden logs`: the last `linesPerComponent`
/// lines per log tag, oldest dropped first, so memory stays bounded however chatty a
/// component is. Thread-safe (log handlers run on any thread).
public final class ComponentOutputBuffer: Sendable {
    public let linesPerComponent: Int
    /// Longer lines are cut here (with `…`), so one huge line cannot hold megabytes.
    public let maximumLineBytes: Int
    private let rings: Mutex<[String: Ring]>

    struct Ring {
        var lines: [ControlLogLine] = []
        var next = 0
        /// The sequence number of the last line kept (numbering starts at 1).
        var lastSequence = 0

        var ordered: ArraySlice<ControlLogLine> { ArraySlice(lines[next...] + lines[..<next]) }
    }

    public init(linesPerComponent: Int = 1000, maximumLineBytes: Int = 4096) {
        self.linesPerComponent = max(1, linesPerComponent)
        self.maximumLineBytes = maximumLineBytes
        self.rings = Mutex([:])
    }

    /// Records one line for `tag` (a component's log tag: `SyslogIdentifier=` or its name).
    public func append(_ text: String, tag: String, time: Double = ComponentOutputBuffer.wallClockSeconds()) {
        var text = text
        if text.utf8.count > maximumLineBytes {
            text = String(decoding: text.utf8.prefix(maximumLineBytes), as: UTF8.self) + "…"
        }
        let capacity = linesPerComponent
        rings.withLock { rings in
            // Mutated in place through the dictionary: a copy taken out and stored back
            // shares its array with the dictionary meanwhile, so each line copied the
            // whole ring (1,000 lines), most of a restart's cost once a ring was full.
            Self.record(text, time: time, capacity: capacity, in: &rings[tag, default: Ring()])
        }
    }

    private static func record(_ text: String, time: Double, capacity: Int, in ring: inout Ring) {
        ring.lastSequence += 1
        let line = ControlLogLine(time: time, text: text, seq: ring.lastSequence)
        if ring.lines.count < capacity {
            ring.lines.append(line)
        } else {
            ring.lines[ring.next] = line
            ring.next = (ring.next + 1) % capacity
        }
    }

    /// The last `count` lines for `tag`, oldest first.
    public func last(_ count: Int, tag: String) -> [ControlLogLine] {
        rings.withLock { rings in
            guard let ring = rings[tag] else { return [] }
            return Array(ring.ordered.suffix(max(0, count)))
        }
    }

    /// At most `count` lines for `tag` numbered above `sequence`, oldest first: what a
    /// follower has not seen yet. A follower that fell behind by more than the buffer
    /// holds gets the oldest lines still kept (the gap shows in their numbers).
    public func lines(after sequence: Int, limit count: Int, tag: String) -> [ControlLogLine] {
        rings.withLock { rings in
            guard let ring = rings[tag], ring.lastSequence > sequence else { return [] }
            return Array(ring.ordered.filter { ($0.seq ?? 0) > sequence }.prefix(max(0, count)))
        }
    }

    public static func wallClockSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
