/// One `/proc/PID/stat` line (proc(5)), parsed from bytes: the fields Warden reads. The
/// one parser of that line, for the process table, the host scan, start times, `status`
/// and the metrics.
///
/// A scrape without cgroups reads one file per component, so only `stat`: CPU time,
/// threads and resident size are all there. `/proc/PID/status` (which also has the
/// peak resident size, VmHWM) costs the kernel about three times as much to produce,
/// measured here; `warden status` shows that peak.
public struct ProcessStatFields: Hashable, Sendable {
    /// Field 3, the state letter: `R`, `S`, `D`, `Z` (zombie), `T`, …
    public var state: UInt8
    /// Field 4.
    public var parentPID: Int32
    /// Field 5.
    public var processGroupID: Int32
    /// Field 6.
    public var sessionID: Int32
    /// Field 14, utime, clock ticks.
    public var userTicks: UInt64
    /// Field 15, stime, clock ticks.
    public var systemTicks: UInt64
    /// Field 20.
    public var threads: UInt64
    /// Field 22: start time after boot, clock ticks. With the PID it names one process
    /// across PID reuse.
    public var startTicks: UInt64
    /// Field 23, vsize; nil when the line ends before it.
    public var virtualBytes: UInt64?
    /// Field 24, rss; nil when the line ends before it or holds no number.
    public var residentPages: UInt64?

    public init(
        state: UInt8, parentPID: Int32, processGroupID: Int32, sessionID: Int32, userTicks: UInt64, systemTicks: UInt64,
        threads: UInt64, startTicks: UInt64, virtualBytes: UInt64? = nil, residentPages: UInt64? = nil
    ) {
        self.state = state
        self.parentPID = parentPID
        self.processGroupID = processGroupID
        self.sessionID = sessionID
        self.userTicks = userTicks
        self.systemTicks = systemTicks
        self.threads = threads
        self.startTicks = startTicks
        self.virtualBytes = virtualBytes
        self.residentPages = residentPages
    }

    /// utime + stime, clock ticks.
    public var cpuTicks: UInt64 { userTicks &+ systemTicks }

    /// Exited but not reaped yet: it runs no code and holds nothing but its PID.
    public var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }

    /// `pid (comm) S ppid pgrp session …`. comm is whatever the process set (up to 15
    /// bytes, spaces and parentheses included), so fields are counted after the *last*
    /// `)`, and runs of spaces separate them. Nil for a line that ends before field 22
    /// or whose fields up to 22 are not numbers; fields 23 and 24 are optional, and the
    /// other fields (some of them negative) are not looked at.
    @inlinable
    public static func parse<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> ProcessStatFields? where Bytes.Index == Int {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var state: UInt8 = 0
        var parent: Int32 = 0
        var group: Int32 = 0
        var session: Int32 = 0
        var user: UInt64 = 0
        var system: UInt64 = 0
        var threads: UInt64 = 0
        var start: UInt64 = 0
        var virtual: UInt64?
        var resident: UInt64?
        var field = 2
        var index = close + 1
        while index < bytes.endIndex && field < 24 {
            let byte = bytes[index]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                index += 1
                continue
            }
            var end = index
            while end < bytes.endIndex && bytes[end] != UInt8(ascii: " ") && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            field += 1
            let word = bytes[index..<end]
            switch field {
            case 3: state = byte
            case 4: guard let value = signed(word) else { return nil }; parent = value
            case 5: guard let value = signed(word) else { return nil }; group = value
            case 6: guard let value = signed(word) else { return nil }; session = value
            case 14: guard let value = unsigned(word) else { return nil }; user = value
            case 15: guard let value = unsigned(word) else { return nil }; system = value
            case 20: guard let value = unsigned(word) else { return nil }; threads = value
            case 22: guard let value = unsigned(word) else { return nil }; start = value
            case 23: virtual = unsigned(word)
            case 24: resident = unsigned(word)
            default: break
            }
            index = end
        }
        guard field >= 22 else { return nil }
        return ProcessStatFields(
            state: state, parentPID: parent, processGroupID: group, sessionID: session, userTicks: user, systemTicks: system,
            threads: threads, startTicks: start, virtualBytes: virtual, residentPages: resident)
    }

    /// comm, field 2: what lies between the first `(` and the last `)`; nil without them.
    @inlinable
    public static func commandName<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> String? where Bytes.Index == Int {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")),
            close > open
        else { return nil }
        return String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
    }

    @inlinable
    static func unsigned<Word: Collection<UInt8>>(_ word: Word) -> UInt64? {
        DecimalDigits.unsigned(word)
    }

    /// A decimal with an optional `-`, as an `Int32` (PIDs, process groups, sessions).
    @inlinable
    static func signed<Word: Collection<UInt8>>(_ word: Word) -> Int32? {
        let negative = word.first == UInt8(ascii: "-")
        guard let magnitude = unsigned(negative ? word.dropFirst() : word[...]) else { return nil }
        guard magnitude <= UInt64(Int32.max) + (negative ? 1 : 0) else { return nil }
        return negative ? Int32(truncatingIfNeeded: 0 &- Int64(magnitude)) : Int32(magnitude)
    }
}
