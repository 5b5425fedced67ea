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
    /// The settings the process was started from; nil in a record of a Warden that did
    /// not write them (then nothing can be told about them).
    public var settings: UnitFingerprint?
    /// What Warden had begun doing to the process (a stop, a restart, a replacement);
    /// nil while it meant to keep it running.
    public var intent: ComponentIntent?
    /// The process's stop had got as far as `ExecStop=`: a Warden that finishes the stop
    /// goes on from the stop signal rather than running the commands a second time (as
    /// systemd, re-executed during a stop, goes on from where it was).
    public var stopCommandsBegun: Bool

    public init(
        unit: String, process: ProcessIdentity, cgroup: String?, invocationID: String, ready: Bool = true,
        settings: UnitFingerprint? = nil, intent: ComponentIntent? = nil, stopCommandsBegun: Bool = false
    ) {
        self.stopCommandsBegun = stopCommandsBegun
        self.unit = unit
        self.process = process
        self.cgroup = cgroup
        self.invocationID = invocationID
        self.ready = ready
        self.settings = settings
        self.intent = intent
    }
}

/// The records file: a version line, then one line per component whose main process
/// runs (`key=value` words) and one per component an operator stopped.
///
/// ```
/// warden-component-records 1
/// feed.service pid=1234 start=5678901 invocation=0123…ef cgroup=/warden.service/trading.slice/feed.service settings=9c4e…07
/// bot.service pid=1240 start=5678950 invocation=4567…ab ready=0 settings=51d0…3a intent=restart
/// db.service pid=1300 start=5679000 invocation=89ab…cd settings=77e1…02 intent=stop exec-stop=begun
/// cron.service stopped=operator
/// ```
///
/// `ready=0` marks a run that had not reported ready yet; a line without it is of a ready
/// run. `settings=` is the `UnitFingerprint` of the unit the process was started from,
/// `intent=` what Warden had begun doing to it (`ComponentIntent`); both are absent from
/// an older Warden's lines, which load as runs of unknown settings that Warden meant to
/// keep. `exec-stop=begun`: the stop had started `ExecStop=`. `stopped=operator` names a component an operator stopped and nobody started
/// since; a running process's line with `intent=stop` says the same.
///
/// Text rather than JSON: WardenCore has no Foundation, an operator can read it with
/// `cat`, and a value never holds a space (unit names, hex IDs, cgroup paths written by
/// Warden; a path with a space or newline is escaped as `\x20`/`\x0a`).
public enum ComponentRecordsFile {
    public static let fileName = "components.records"
    static let header = "warden-component-records 1"

    /// What the file holds.
    public struct Contents: Hashable, Sendable {
        /// The running main processes.
        public var records: [ComponentRecord] = []
        /// The components an operator stopped (a running one's record says `intent=stop`
        /// and is listed here too).
        public var stoppedByOperator: Set<String> = []
        /// A note for each line that is not a record (kept out: a damaged record is never
        /// adopted).
        public var problems: [String] = []

        public init(records: [ComponentRecord] = [], stoppedByOperator: Set<String> = [], problems: [String] = []) {
            self.records = records
            self.stoppedByOperator = stoppedByOperator
            self.problems = problems
        }
    }

    /// The file for `records` and the components in `stoppedByOperator`; a stopped one
    /// with a record is written once, as its record (with `intent=stop`).
    public static func render(_ records: [ComponentRecord], stoppedByOperator: Set<String> = []) -> String {
        var text = header + "\n"
        let running = Set(records.map(\.unit))
        for record in records.sorted(by: { $0.unit < $1.unit }) {
            var line = escape(record.unit)
            line += " pid=\(record.process.pid) start=\(record.process.startTimeTicks)"
            line += " invocation=\(escape(record.invocationID))"
            if let cgroup = record.cgroup { line += " cgroup=\(escape(cgroup))" }
            if !record.ready { line += " ready=0" }
            if let settings = record.settings { line += " settings=\(settings.hex)" }
            if let intent = record.intent { line += " intent=\(intent.rawValue)" }
            if record.stopCommandsBegun { line += " exec-stop=begun" }
            text += line + "\n"
        }
        for unit in stoppedByOperator.subtracting(running).sorted() {
            text += escape(unit) + " stopped=operator\n"
        }
        return text
    }

    /// What `text` holds. A file of another version yields nothing but one note; a word
    /// this Warden does not know is passed over (a newer Warden's), a known one with a
    /// bad value drops its line.
    public static func parse(_ text: String) -> Contents {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let first = lines.first else { return Contents() }
        guard first == header else { return Contents(problems: ["unknown records format '\(first)' (expected '\(header)')"]) }
        lines.removeFirst()
        var contents = Contents()
        var seen: Set<String> = []
        for (offset, line) in lines.enumerated() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            var fields: [String: String] = [:]
            for word in words.dropFirst() {
                guard let equals = word.firstIndex(of: "=") else { continue }
                fields[String(word[..<equals])] = unescape(String(word[word.index(after: equals)...]))
            }
            guard let unitWord = words.first else { continue }
            let unit = unescape(unitWord)
            if fields["pid"] == nil, fields["stopped"] == "operator" {
                if !contents.stoppedByOperator.insert(unit).inserted || seen.contains(unit) {
                    contents.problems.append("line \(offset + 2): a second record for \(unit); ignored")
                }
                continue
            }
            guard let pidText = fields["pid"], let pid = Int32(pidText), pid > 1,
                let startText = fields["start"], let start = UInt64(startText),
                let invocation = fields["invocation"], !invocation.isEmpty
            else {
                contents.problems.append("line \(offset + 2): not a record: '\(line)'")
                continue
            }
            var settings: UnitFingerprint?
            if let text = fields["settings"] {
                guard let parsed = UnitFingerprint(recorded: text) else {
                    contents.problems.append("line \(offset + 2): settings '\(text)' is not a fingerprint: '\(line)'")
                    continue
                }
                settings = parsed
            }
            var intent: ComponentIntent?
            if let text = fields["intent"] {
                guard let parsed = ComponentIntent(rawValue: text) else {
                    contents.problems.append("line \(offset + 2): unknown intent '\(text)': '\(line)'")
                    continue
                }
                intent = parsed
            }
            if let text = fields["exec-stop"], text != "begun" {
                contents.problems.append("line \(offset + 2): exec-stop '\(text)' is not 'begun': '\(line)'")
                continue
            }
            guard seen.insert(unit).inserted else {
                contents.problems.append("line \(offset + 2): a second record for \(unit); ignored")
                continue
            }
            contents.records.append(
                ComponentRecord(
                    unit: unit, process: ProcessIdentity(pid: pid, startTimeTicks: start), cgroup: fields["cgroup"],
                    invocationID: invocation, ready: fields["ready"] != "0", settings: settings, intent: intent,
                    stopCommandsBegun: fields["exec-stop"] == "begun"))
            if intent == .stop { contents.stoppedByOperator.insert(unit) }
        }
        return contents
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
