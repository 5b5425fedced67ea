import WardenCore

/// One process as `/proc/PID/stat` describes it.
public struct ProcessEntry: Hashable, Sendable {
    public var pid: Int32
    public var parentPID: Int32
    public var processGroupID: Int32
    public var sessionID: Int32
    /// The state letter: `R`, `S`, `D`, `Z` (zombie), `T`, …
    public var state: UInt8
    /// Clock ticks since boot (field 22); with the pid it names one process across reuse.
    public var startTime: UInt64

    public init(pid: Int32, parentPID: Int32, processGroupID: Int32, sessionID: Int32, state: UInt8, startTime: UInt64) {
        self.pid = pid
        self.parentPID = parentPID
        self.processGroupID = processGroupID
        self.sessionID = sessionID
        self.state = state
        self.startTime = startTime
    }

    /// The entry of process `pid` from its `/proc/PID/stat` line.
    public init(pid: Int32, stat: ProcessStatFields) {
        self.init(
            pid: pid, parentPID: stat.parentPID, processGroupID: stat.processGroupID, sessionID: stat.sessionID,
            state: stat.state, startTime: stat.startTicks)
    }

    /// Exited but not reaped yet: it runs no code and holds nothing but its pid.
    public var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }
}
