/// `warden duplicates` output. JSON field names are part of Warden's stable interface
/// (docs/diagnose.md, "warden duplicates --json").
public struct DuplicatesReport: Hashable, Sendable, Encodable {
    public static let formatVersion = 1

    public struct Entry: Hashable, Sendable, Encodable {
        public var component: String
        public var policy: String
        public var pid: Int32
        public var startTimeTicks: UInt64
        public var user: String
        /// Average share of one CPU since the process started (`ps`'s %CPU).
        public var cpuPercent: Double
        public var rssBytes: UInt64
        public var commandLine: String
        public var cgroup: String?
        /// With `--kill`: how the kill ended (`terminated`, `killed`, `already-gone`,
        /// `identity-changed`, `refused`, `failed`); nil without `--kill`.
        public var killResult: String?
        /// Details of `killResult` (the reason of a refusal or failure).
        public var killDetail: String?
    }

    public struct Component: Hashable, Sendable, Encodable {
        public var name: String
        public var policy: String
        public var match: String
        /// Copies Warden runs (not duplicates).
        public var supervisedPIDs: [Int32]
        public var duplicateCount: Int
    }

    public var formatVersion: Int
    public var components: [Component]
    public var duplicates: [Entry]

    /// `lifetimeCPU` gives a process's `ps`-style %CPU, `userName` a uid's name.
    public init(
        copies: [ComponentCopies], lifetimeCPU: (ScannedProcess) -> Double, userName: (UInt32) -> String,
        killOutcomes: [ProcessIdentity: DuplicateKillOutcome]? = nil
    ) {
        formatVersion = Self.formatVersion
        components = copies.map {
            Component(
                name: $0.component, policy: $0.policy.rawValue, match: $0.match.description,
                supervisedPIDs: $0.supervised.map(\.pid), duplicateCount: $0.duplicates.count)
        }
        duplicates = copies.flatMap { copy in
            copy.duplicates.map { process in
                let outcome = killOutcomes?[process.identity]
                return Entry(
                    component: copy.component, policy: copy.policy.rawValue, pid: process.pid,
                    startTimeTicks: process.startTimeTicks, user: process.uid.map(userName) ?? "?",
                    cpuPercent: lifetimeCPU(process), rssBytes: process.rssBytes, commandLine: process.commandLine,
                    cgroup: process.cgroup, killResult: outcome.map(Self.resultName), killDetail: outcome.flatMap(Self.detail))
            }
        }
    }

    static func resultName(_ outcome: DuplicateKillOutcome) -> String {
        switch outcome {
        case .terminated: "terminated"
        case .killed: "killed"
        case .alreadyGone: "already-gone"
        case .identityChanged: "identity-changed"
        case .refused: "refused"
        case .failed: "failed"
        }
    }

    static func detail(_ outcome: DuplicateKillOutcome) -> String? {
        switch outcome {
        case .refused(let why), .failed(let why): why
        case .identityChanged: outcome.description
        default: nil
        }
    }

    /// True when a duplicate is still running (none found, or all killed, is false).
    public var duplicatesRemain: Bool {
        duplicates.contains { entry in
            switch entry.killResult {
            case nil, "refused", "failed": true
            default: false
            }
        }
    }

    /// The table: one line per duplicate, and a summary line.
    /// `stopCommand`: what the summary line offers to stop the duplicates with.
    public func renderText(color: Bool, stopCommand: String = "warden duplicates --kill") -> String {
        guard !duplicates.isEmpty else {
            return "no duplicates (\(components.count) component\(components.count == 1 ? "" : "s") checked)\n"
        }
        let killing = duplicates.contains { $0.killResult != nil }
        var columns = [
            OperatorText.Column("COMPONENT"), OperatorText.Column("PID", rightAligned: true), OperatorText.Column("USER"),
            OperatorText.Column("CPU%", rightAligned: true), OperatorText.Column("RSS", rightAligned: true),
        ]
        if killing { columns.append(OperatorText.Column("RESULT")) }
        columns.append(OperatorText.Column("COMMAND"))
        let rows = duplicates.map { entry in
            var row = [
                entry.component, String(entry.pid), entry.user, OperatorText.fixed(entry.cpuPercent, decimals: 1),
                OperatorText.bytes(entry.rssBytes),
            ]
            if killing { row.append(entry.killResult ?? "-") }
            row.append(OperatorText.abbreviate(entry.commandLine, to: 100))
            return row
        }
        var out = OperatorText.table(columns, rows)
        for entry in duplicates {
            if let detail = entry.killDetail { out += "PID \(entry.pid): \(detail)\n" }
        }
        let affected = Set(duplicates.map(\.component)).count
        let summary = "\(duplicates.count) duplicate\(duplicates.count == 1 ? "" : "s") of \(affected) component\(affected == 1 ? "" : "s")"
        if killing {
            out += summary + (duplicatesRemain ? "; some still run\n" : "; none left running\n")
        } else {
            out += OperatorText.paint(summary, .yellow, enabled: color) + " — stop them with: \(stopCommand)\n"
        }
        return out
    }
}
