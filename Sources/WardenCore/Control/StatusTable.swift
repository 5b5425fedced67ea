/// `warden status` as an aligned table. Pure: the CLI passes the snapshots, the
/// previous snapshots (for `--watch`), and whether to color; golden-tested.
public enum StatusTable {
    /// ANSI colors, used only when the output is a terminal.
    static let green = "\u{1B}[32m", red = "\u{1B}[31m", yellow = "\u{1B}[33m", reset = "\u{1B}[0m"

    public static let headers = [
        "COMPONENT", "STATE", "PID", "UPTIME", "RESTARTS", "CPU", "MEMORY", "TASKS", "SLICE", "READY", "LAST EXIT",
    ]

    /// The table, one line per component plus the header, each ending in `\n`.
    ///
    /// CPU is the share of one CPU since the previous sample of the same process
    /// (`previous`, keyed by name) when there is one, else the average since the process
    /// started; with `CPUQuota=` the quota follows (`12.5%/50%`). A limit the kernel does
    /// not enforce here carries a `*`, and lines under the table say which and why.
    public static func render(
        _ components: [ComponentSnapshot], previous: [String: ComponentSnapshot] = [:], color: Bool = false
    ) -> String {
        var rows: [[String]] = [headers]
        var stateColors: [String?] = [nil]
        let masked = Set(components.filter { $0.loadState == "masked" }.map(\.name))
        for c in components {
            rows.append([
                c.name,
                c.loadState == "masked" ? "masked" : "\(c.activeState) (\(c.subState))",
                c.mainPID.map(String.init) ?? "-",
                c.uptimeSeconds.map(duration) ?? "-",
                String(c.restarts),
                cpu(c, previous: previous[c.name]),
                memory(c),
                c.tasks.map(String.init) ?? "-",
                c.slice,
                c.ready ? "yes" : "no",
                lastExit(c, masked: masked),
            ])
            stateColors.append(color ? stateColor(c) : nil)
        }
        var widths = [Int](repeating: 0, count: headers.count)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for (r, row) in rows.enumerated() {
            var line = ""
            for (i, cell) in row.enumerated() {
                let isLast = i == row.count - 1
                let padded = isLast ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
                if i == 1, let code = stateColors[r] {
                    // Color the text, pad outside the escape so alignment holds.
                    line += code + cell + reset + String(repeating: " ", count: widths[i] - cell.count)
                } else {
                    line += padded
                }
                if !isLast { line += "  " }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        let notEnforced = components.flatMap { $0.notEnforced ?? [] }
        for message in CgroupEnforcement.messages(notEnforced) { out += "* not enforced: \(message)\n" }
        return out
    }

    static func marked(_ text: String, _ c: ComponentSnapshot, key: String) -> String {
        c.notEnforced?.contains { $0.key == key } == true ? text + "*" : text
    }

    static func stateColor(_ c: ComponentSnapshot) -> String? {
        switch c.activeState {
        case "active": green
        case "failed": red
        case "activating", "deactivating", "reloading": yellow
        default: nil
        }
    }

    static func lastExit(_ c: ComponentSnapshot, masked: Set<String> = []) -> String {
        var text = c.lastExit?.text ?? "-"
        if let dependency = c.dependencyFailure {
            text += masked.contains(dependency) ? " (requires \(dependency), which is masked)" : " (dependency \(dependency) failed)"
        }
        if let blocked = c.blockedReason { text += " (\(blocked))" }
        if let condition = c.conditionResult { text += " (\(condition))" }
        return text
    }

    static func cpu(_ c: ComponentSnapshot, previous: ComponentSnapshot?) -> String {
        var percent: Double?
        if let now = c.cpuUsageSeconds, let up = c.uptimeSeconds {
            if let previous, previous.mainPID == c.mainPID, let before = previous.cpuUsageSeconds,
                let upBefore = previous.uptimeSeconds, up > upBefore
            {
                percent = max(0, now - before) / (up - upBefore) * 100
            } else if up > 0 {
                percent = now / up * 100
            }
        }
        let usage = percent.map(formatPercent) ?? "-"
        guard let quota = c.cpuQuotaPercent else { return usage }
        return usage + "/" + marked(formatPercent(quota), c, key: "CPUQuota=")
    }

    static func memory(_ c: ComponentSnapshot) -> String {
        var text = c.memoryCurrentBytes.map(bytes) ?? "-"
        if let peak = c.memoryPeakBytes { text += " (peak \(bytes(peak)))" }
        let limits = [
            c.memoryHighBytes.map { marked("high \(bytes($0))", c, key: "MemoryHigh=") },
            c.memoryMaxBytes.map { marked("max \(bytes($0))", c, key: "MemoryMax=") },
        ].compactMap { $0 }
        if !limits.isEmpty { text += " [" + limits.joined(separator: ", ") + "]" }
        return text
    }

    /// `3d4h`, `2h05m`, `4m07s`, `12s`.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.down))
        let days = s / 86_400, hours = s % 86_400 / 3600, minutes = s % 3600 / 60, secs = s % 60
        if days > 0 { return "\(days)d\(hours)h" }
        if hours > 0 { return "\(hours)h" + twoDigits(minutes) + "m" }
        if minutes > 0 { return "\(minutes)m" + twoDigits(secs) + "s" }
        return "\(secs)s"
    }

    /// Powers of 1024 as systemctl prints them: `512B`, `12.3K`, `1.5M`, `2G`.
    public static func bytes(_ value: UInt64) -> String {
        let units = ["B", "K", "M", "G", "T", "P"]
        var scaled = Double(value)
        var unit = 0
        while scaled >= 1024 && unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        if unit == 0 { return "\(value)B" }
        return oneDecimal(scaled) + units[unit]
    }

    static func formatPercent(_ value: Double) -> String { oneDecimal(value) + "%" }

    /// One decimal, without a trailing `.0`, without Foundation's formatting.
    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// Figures for one process read from `/proc/PID/stat` and `/proc/PID/status`: what
/// `status` shows for a component without a cgroup. Pure parsers; the effects layer
/// reads the files.
public struct MainProcessUsage: Hashable, Sendable {
    /// utime + stime, in clock ticks.
    public var cpuTicks: UInt64
    /// Start time after boot, in clock ticks.
    public var startTicks: UInt64
    public var residentBytes: UInt64?
    public var residentPeakBytes: UInt64?
    public var threads: Int?

    public init(cpuTicks: UInt64, startTicks: UInt64, residentBytes: UInt64? = nil, residentPeakBytes: UInt64? = nil, threads: Int? = nil) {
        self.cpuTicks = cpuTicks
        self.startTicks = startTicks
        self.residentBytes = residentBytes
        self.residentPeakBytes = residentPeakBytes
        self.threads = threads
    }

    /// `/proc/PID/stat` (`ProcessStatFields`) and `/proc/PID/status` contents.
    ///
    /// Scans bytes rather than splitting Strings: `status` parses this for every
    /// component, and Character-level splitting of the ~55 lines of `status` would be most of
    /// the time of a large answer (`warden-bench surface`).
    public static func parse(stat: String, status: String) -> MainProcessUsage? {
        var stat = stat
        var status = status
        return stat.withUTF8 { statBytes in status.withUTF8 { statusBytes in parse(statBytes, statusBytes) } }
    }

    static func parse(_ stat: UnsafeBufferPointer<UInt8>, _ status: UnsafeBufferPointer<UInt8>) -> MainProcessUsage? {
        guard let fields = ProcessStatFields.parse(stat) else { return nil }
        var usage = MainProcessUsage(cpuTicks: fields.cpuTicks, startTicks: fields.startTicks)
        var lineStart = 0
        while lineStart < status.count {
            var lineEnd = lineStart
            while lineEnd < status.count && status[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            let line = UnsafeBufferPointer(rebasing: status[lineStart..<lineEnd])
            lineStart = lineEnd + 1
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let key = UnsafeBufferPointer(rebasing: line[..<colon])
            let isRSS = key.elementsEqual("VmRSS".utf8)
            let isHWM = key.elementsEqual("VmHWM".utf8)
            let isThreads = key.elementsEqual("Threads".utf8)
            guard isRSS || isHWM || isThreads else { continue }
            // The first word after the colon (tabs and spaces before it).
            var start = colon + 1
            while start < line.count && (line[start] == UInt8(ascii: " ") || line[start] == UInt8(ascii: "\t")) { start += 1 }
            var end = start
            while end < line.count && line[end] != UInt8(ascii: " ") && line[end] != UInt8(ascii: "\t") { end += 1 }
            let value = start < end ? DecimalDigits.unsigned(UnsafeBufferPointer(rebasing: line[start..<end])) : nil
            if isRSS { usage.residentBytes = value.map { $0 * 1024 } }
            if isHWM { usage.residentPeakBytes = value.map { $0 * 1024 } }
            if isThreads { usage.threads = value.map { Int($0) } }
        }
        return usage
    }


    /// The `Uid:` real id and every group of `Groups:` plus the real `Gid:` from
    /// `/proc/PID/status`: what a control-socket peer is a member of.
    public static func groups(fromStatus status: String) -> [UInt32] {
        var groups: [UInt32] = []
        for line in status.split(separator: "\n") {
            if line.hasPrefix("Gid:") {
                if let real = line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
                    let id = UInt32(real)
                {
                    groups.append(id)
                }
            } else if line.hasPrefix("Groups:") {
                groups += line.dropFirst(7).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
            }
        }
        return groups
    }
}
