// What a running Warden remembers about each component's main process in its state
// directory, so that a Warden started after a crash (or an upgrade, or a `systemctl
// restart` with `KillMode=mixed`/`process`) takes the still-running processes over instead
// of starting second copies. Pure: the effects layer reads and writes the file and reads
// /proc; the format and the verdict on each record live here.

/// One component's main process as the Warden that started (or adopted) it saw it.
public struct ComponentRecord: Hashable, Sendable {
    /// The unit name, `feed.service`.
    public var unit: String
    /// The main process: its PID and its start time (field 22 of `/proc/PID/stat`), which
    /// together name one process across PID reuse.
    public var process: ProcessIdentity
    /// The cgroup v2 path of the process as `/proc/PID/cgroup` shows it
    /// (`/system.slice/warden.service/trading.slice/feed.service`); nil when Warden ran
    /// without cgroups.
    public var cgroup: String?
    /// The run's `$INVOCATION_ID`, kept so the run keeps its identity (its descendants
    /// carry it in their environment).
    public var invocationID: String
    /// The component had reported ready (`READY=1` for `Type=notify`). A run adopted
    /// before it was waits for its readiness again instead of being taken as ready.
    public var ready: Bool

    public init(unit: String, process: ProcessIdentity, cgroup: String?, invocationID: String, ready: Bool = true) {
        self.unit = unit
        self.process = process
        self.cgroup = cgroup
        self.invocationID = invocationID
        self.ready = ready
    }
}

/// The records file: one line per component, `key=value` words, a version line first.
///
/// ```
/// warden-component-records 1
/// feed.service pid=1234 start=5678901 invocation=0123…ef cgroup=/warden.service/trading.slice/feed.service
/// bot.service pid=1240 start=5678950 invocation=4567…ab ready=0
/// ```
///
/// `ready=0` marks a run that had not reported ready yet; a line without it is of a ready
/// run.
///
/// Text rather than JSON: WardenCore has no Foundation, an operator can read it with
/// `cat`, and a value never holds a space (unit names, hex IDs, cgroup paths written by
/// Warden; a path with a space or newline is escaped as `\x20`/`\x0a`).
public enum ComponentRecordsFile {
    public static let fileName = "components.records"
    static let header = "warden-component-records 1"

    public static func render(_ records: [ComponentRecord]) -> String {
        var text = header + "\n"
        for record in records.sorted(by: { $0.unit < $1.unit }) {
            var line = escape(record.unit)
            line += " pid=\(record.process.pid) start=\(record.process.startTimeTicks)"
            line += " invocation=\(escape(record.invocationID))"
            if let cgroup = record.cgroup { line += " cgroup=\(escape(cgroup))" }
            if !record.ready { line += " ready=0" }
            text += line + "\n"
        }
        return text
    }

    /// The records of `text`, and a note for each line that is not one (kept out of the
    /// result: a damaged record is never adopted). A file of another version yields no
    /// records and one note.
    public static func parse(_ text: String) -> (records: [ComponentRecord], problems: [String]) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let first = lines.first else { return ([], []) }
        guard first == header else { return ([], ["unknown records format '\(first)' (expected '\(header)')"]) }
        lines.removeFirst()
        var records: [ComponentRecord] = []
        var problems: [String] = []
        var seen: Set<String> = []
        for (offset, line) in lines.enumerated() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            var fields: [String: String] = [:]
            for word in words.dropFirst() {
                guard let equals = word.firstIndex(of: "=") else { continue }
                fields[String(word[..<equals])] = unescape(String(word[word.index(after: equals)...]))
            }
            guard let unitWord = words.first, let pidText = fields["pid"], let pid = Int32(pidText), pid > 1,
                let startText = fields["start"], let start = UInt64(startText),
                let invocation = fields["invocation"], !invocation.isEmpty
            else {
                problems.append("line \(offset + 2): not a record: '\(line)'")
                continue
            }
            let unit = unescape(unitWord)
            guard seen.insert(unit).inserted else {
                problems.append("line \(offset + 2): a second record for \(unit); ignored")
                continue
            }
            records.append(
                ComponentRecord(
                    unit: unit, process: ProcessIdentity(pid: pid, startTimeTicks: start), cgroup: fields["cgroup"],
                    invocationID: invocation, ready: fields["ready"] != "0"))
        }
        return (records, problems)
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case " ": out += "\\x20"
            case "\n": out += "\\x0a"
            case "\t": out += "\\x09"
            case "\\": out += "\\x5c"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func unescape(_ value: String) -> String {
        guard value.contains("\\x") else { return value }
        var bytes: [UInt8] = []
        let utf8 = Array(value.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count, utf8[i + 1] == UInt8(ascii: "x"),
                let byte = UInt8(String(decoding: utf8[(i + 2)...(i + 3)], as: UTF8.self), radix: 16)
            {
                bytes.append(byte)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// What /proc says now about a recorded process, read through a pidfd held open while
/// reading (so the answers are about one process).
public struct ObservedProcess: Hashable, Sendable {
    public var startTimeTicks: UInt64
    /// The `0::` line of `/proc/PID/cgroup`; nil without cgroup v2.
    public var cgroup: String?
    public var isZombie: Bool

    public init(startTimeTicks: UInt64, cgroup: String?, isZombie: Bool) {
        self.startTimeTicks = startTimeTicks
        self.cgroup = cgroup
        self.isZombie = isZombie
    }
}

/// The verdict on one record at Warden's start.
public enum ReadoptionVerdict: Hashable, Sendable {
    /// The process is the one recorded: take it over.
    case adopt
    /// Not the recorded process, or not verifiable: drop the record; the reason is logged.
    case drop(String)
}

public enum Readoption {
    /// Whether the recorded process is still the same one: the PID must be alive with the
    /// recorded start time and, when the record names a cgroup (Warden managed cgroups),
    /// be in exactly that cgroup, which must lie within `wardenCgroupRoot` (the group the
    /// new Warden manages). Never by PID alone: a recycled PID has another start time.
    ///
    /// - Parameters:
    ///   - observed: what /proc shows for the PID now; nil when no process has it.
    ///   - unitConfigured: the unit is in the current configuration.
    ///   - wardenCgroupRoot: the cgroup v2 path of the subtree this Warden manages; nil
    ///     when it runs without cgroups.
    public static func verdict(
        _ record: ComponentRecord, observed: ObservedProcess?, unitConfigured: Bool, wardenCgroupRoot: String?
    ) -> ReadoptionVerdict {
        let who = "PID \(record.process.pid)"
        guard unitConfigured else { return .drop("\(record.unit) is no longer configured; \(who) is not taken over") }
        guard let observed, !observed.isZombie else { return .drop("\(who) is gone") }
        guard observed.startTimeTicks == record.process.startTimeTicks else {
            return .drop(
                "\(who) is another process now (start time \(observed.startTimeTicks), recorded \(record.process.startTimeTicks))")
        }
        switch (record.cgroup, wardenCgroupRoot) {
        case (nil, nil):
            return .adopt
        case (let recorded?, let root?):
            guard observed.cgroup == recorded else {
                return .drop("\(who) is in cgroup \(observed.cgroup ?? "unknown"), not the recorded \(recorded)")
            }
            guard root == "/" || recorded == root || recorded.hasPrefix(root + "/") else {
                return .drop("\(who)'s cgroup \(recorded) is outside the subtree this Warden manages (\(root))")
            }
            return .adopt
        case (nil, _?):
            return .drop("\(who) was recorded without a cgroup, so its membership cannot be verified")
        case (_?, nil):
            // The start time proves the identity; the cgroup cannot be checked against a
            // subtree this Warden does not manage, but the process must still be there.
            guard observed.cgroup == record.cgroup else {
                return .drop("\(who) is in cgroup \(observed.cgroup ?? "unknown"), not the recorded \(record.cgroup!)")
            }
            return .adopt
        }
    }
}
