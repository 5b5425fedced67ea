/// The thresholds `warden diagnose` judges by: `[Governor]` of warden.conf when given,
/// else the runbooks' figures (docs/diagnose.md lists them).
public struct DiagnoseThresholds: Hashable, Sendable {
    public var loadPerCPUWarningHundredths: Int
    public var loadPerCPUCriticalHundredths: Int
    public var memoryWarningPercent: Int
    public var memoryCriticalPercent: Int
    /// Swap in use above this is a warning (the runbooks' 500 MB).
    public var swapWarningBytes: UInt64
    public var cpuPressureWarningPercent: Int
    public var cpuPressureCriticalPercent: Int
    public var memoryPressureCriticalPercent: Int
    public var ioPressureCriticalPercent: Int
    /// A process outside the trading slices using this share of one CPU is named as a warning…
    public var processCPUWarningPercent: Int
    /// …and this share as critical.
    public var processCPUCriticalPercent: Int

    public static let swapWarningDefaultBytes: UInt64 = 500 * 1024 * 1024
    public static let processCPUWarningDefault = 50
    public static let processCPUCriticalDefault = 100

    public init(governor: GovernorSettings = GovernorSettings()) {
        let d = GovernorSettings.defaults
        loadPerCPUWarningHundredths = governor.loadPerCPUWarningHundredths ?? d.loadPerCPUWarningHundredths
        loadPerCPUCriticalHundredths = governor.loadPerCPUCriticalHundredths ?? d.loadPerCPUCriticalHundredths
        memoryWarningPercent = governor.memoryWarningPercent ?? d.memoryWarningPercent
        memoryCriticalPercent = governor.memoryCriticalPercent ?? d.memoryCriticalPercent
        swapWarningBytes = Self.swapWarningDefaultBytes
        cpuPressureWarningPercent = governor.cpuPressureWarningPercent ?? d.cpuPressureWarningPercent
        cpuPressureCriticalPercent = governor.cpuPressureCriticalPercent ?? d.cpuPressureCriticalPercent
        memoryPressureCriticalPercent = governor.memoryPressureCriticalPercent ?? d.memoryPressureCriticalPercent
        ioPressureCriticalPercent = governor.ioPressureCriticalPercent ?? d.ioPressureCriticalPercent
        processCPUWarningPercent = Self.processCPUWarningDefault
        processCPUCriticalPercent = Self.processCPUCriticalDefault
    }
}

/// One line of advice: what is wrong and what to run.
public struct Recommendation: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable, Codable {
        case warning, critical
    }

    public var severity: Severity
    /// The advice without the severity prefix.
    public var message: String

    public init(_ severity: Severity, _ message: String) {
        self.severity = severity
        self.message = message
    }

    /// `CRITICAL: pid 12345 'code --type=renderer' uses 125 % CPU … — run: warden emergency on`.
    public var description: String { "\(severity.rawValue.uppercased()): \(message)" }
}

/// `warden diagnose --json`: field names are part of Warden's stable interface
/// (docs/diagnose.md); new fields may be added, none renamed or removed within a version.
public struct DiagnoseReport: Hashable, Sendable, Encodable {
    public static let formatVersion = 1

    public struct Load: Hashable, Sendable, Encodable {
        public var one: Double
        public var five: Double
        public var fifteen: Double
        public var perCPU: Double
        public var warningPerCPU: Double
        public var criticalPerCPU: Double
        public var verdict: Verdict
    }

    public struct Memory: Hashable, Sendable, Encodable {
        public var totalBytes: UInt64
        public var availableBytes: UInt64
        public var usedBytes: UInt64
        public var usedPercent: Double
        public var verdict: Verdict
        public var swapTotalBytes: UInt64
        public var swapUsedBytes: UInt64
        public var swapUsedPercent: Double
        public var swapVerdict: Verdict
    }

    public struct Pressure: Hashable, Sendable, Encodable {
        public var available: Bool
        public var cpu: PressureFigures?
        public var memory: PressureFigures?
        public var io: PressureFigures?
    }

    public struct Duplicate: Hashable, Sendable, Encodable {
        public var pid: Int32
        public var user: String
        public var commandLine: String
    }

    public struct Component: Hashable, Sendable, Encodable {
        public var name: String
        public var policy: String
        public var match: String
        /// PIDs of the copies Warden runs.
        public var supervisedPIDs: [Int32]
        /// Copies Warden did not start.
        public var duplicates: [Duplicate]
    }

    public struct CPUFrequency: Hashable, Sendable, Encodable {
        public var available: Bool
        /// One per CPU, in CPU order.
        public var governors: [String]
    }

    public struct SystemdUnits: Hashable, Sendable, Encodable {
        /// `ok` (listed), `systemd-not-running`, or `unavailable` (systemctl failed).
        public var status: String
        public var failedUnits: [String]
        public var message: String?
    }

    public var formatVersion: Int
    public var uptimeSeconds: Double?
    public var cpuCount: Int
    public var load: Load?
    public var memory: Memory?
    public var pressure: Pressure
    public var topByCPU: [ProcessUsage]
    public var topByMemory: [ProcessUsage]
    public var components: [Component]
    /// True on a host with no configuration: `components` are then groups of processes
    /// running the same program with the same arguments, the oldest of each as
    /// `supervisedPIDs`.
    public var sameCommandGroups: Bool = false
    public var cpuFrequency: CPUFrequency
    public var systemd: SystemdUnits
    public var processCount: Int
    public var scanMilliseconds: Double
    /// Worst verdict of load, memory and swap; `critical` also when any recommendation is.
    public var verdict: Verdict
    public var recommendations: [Recommendation]
}

public enum Diagnosis {
    /// Verdicts and recommendations for `snapshot`, critical recommendations first.
    public static func analyze(_ snapshot: HostSnapshot, thresholds t: DiagnoseThresholds) -> DiagnoseReport {
        var recommendations: [Recommendation] = []
        let cpus = max(snapshot.cpuCount, 1)

        var load: DiagnoseReport.Load?
        if let l = snapshot.loadAverageHundredths, l.count == 3 {
            // Compared in integers: load × 100 against threshold × CPUs, so 2.00 on one CPU
            // is exactly at the critical threshold (a warning), never a rounding accident.
            let verdict = Verdict.of(
                l[0], warning: t.loadPerCPUWarningHundredths * cpus, critical: t.loadPerCPUCriticalHundredths * cpus)
            let perCPU = Double(l[0]) / 100 / Double(cpus)
            load = DiagnoseReport.Load(
                one: Double(l[0]) / 100, five: Double(l[1]) / 100, fifteen: Double(l[2]) / 100, perCPU: perCPU,
                warningPerCPU: Double(t.loadPerCPUWarningHundredths) / 100,
                criticalPerCPU: Double(t.loadPerCPUCriticalHundredths) / 100, verdict: verdict)
            let figures = "load \(OperatorText.fixed(Double(l[0]) / 100, decimals: 2)) on \(cpus) CPU\(cpus == 1 ? "" : "s") is \(OperatorText.fixed(perCPU, decimals: 2)) per CPU"
            switch verdict {
            case .critical:
                recommendations.append(
                    Recommendation(
                        .critical,
                        "\(figures) (critical above \(OperatorText.fixed(Double(t.loadPerCPUCriticalHundredths) / 100, decimals: 2))) — stop or throttle the top CPU users listed; run: warden emergency on"
                    ))
            case .warning:
                recommendations.append(
                    Recommendation(
                        .warning,
                        "\(figures) (warning from \(OperatorText.fixed(Double(t.loadPerCPUWarningHundredths) / 100, decimals: 2))) — watch it: warden diagnose --watch"
                    ))
            case .optimal:
                break
            }
        }

        let largest = snapshot.topByMemory.first
        let largestText = largest.map { "; largest: pid \($0.pid) '\(OperatorText.abbreviate($0.commandLine, to: 40))' \(OperatorText.bytes($0.rssBytes))" } ?? ""
        var memory: DiagnoseReport.Memory?
        if let m = snapshot.memory {
            let verdict = Verdict.of(
                m.usedBasisPoints, warning: UInt64(t.memoryWarningPercent) * 100, critical: UInt64(t.memoryCriticalPercent) * 100)
            let swapVerdict: Verdict = m.swapUsedBytes > t.swapWarningBytes ? .warning : .optimal
            memory = DiagnoseReport.Memory(
                totalBytes: m.memTotalBytes, availableBytes: m.memAvailableBytes, usedBytes: m.usedBytes,
                usedPercent: Double(m.usedBasisPoints) / 100, verdict: verdict, swapTotalBytes: m.swapTotalBytes,
                swapUsedBytes: m.swapUsedBytes, swapUsedPercent: Double(m.swapUsedBasisPoints) / 100,
                swapVerdict: swapVerdict)
            let used = "memory \(OperatorText.fixed(Double(m.usedBasisPoints) / 100, decimals: 0)) % used"
            switch verdict {
            case .critical:
                recommendations.append(
                    Recommendation(
                        .critical,
                        "\(used) (critical above \(t.memoryCriticalPercent) %)\(largestText) — set MemoryHigh=/MemoryMax= on it or stop it"))
            case .warning:
                recommendations.append(
                    Recommendation(
                        .warning,
                        "\(used) (warning from \(t.memoryWarningPercent) %)\(largestText) — check the top memory users listed"))
            case .optimal:
                break
            }
            if swapVerdict == .warning {
                recommendations.append(
                    Recommendation(
                        .warning,
                        "\(OperatorText.bytes(m.swapUsedBytes)) of swap in use (warning above \(OperatorText.bytes(t.swapWarningBytes)))\(largestText) — swapped-out pages cost latency; free memory or lower MemorySwapMax= of the stack"
                    ))
            }
        }

        if let p = snapshot.pressure {
            if let cpu = p.cpu {
                let figure = "CPU pressure \(OperatorText.fixed(cpu.someAvg10, decimals: 1)) % (some, avg10)"
                if cpu.someAvg10 >= Double(t.cpuPressureCriticalPercent) {
                    recommendations.append(
                        Recommendation(
                            .critical,
                            "\(figure), critical from \(t.cpuPressureCriticalPercent) % — tasks wait for CPU; run: warden emergency on"))
                } else if cpu.someAvg10 >= Double(t.cpuPressureWarningPercent) {
                    recommendations.append(
                        Recommendation(
                            .warning,
                            "\(figure), warning from \(t.cpuPressureWarningPercent) % — tasks wait for CPU; check the top CPU users listed"))
                }
            }
            if let mem = p.memory, mem.someAvg10 >= Double(t.memoryPressureCriticalPercent) {
                recommendations.append(
                    Recommendation(
                        .critical,
                        "memory pressure \(OperatorText.fixed(mem.someAvg10, decimals: 1)) % (some, avg10), critical from \(t.memoryPressureCriticalPercent) % — tasks stall on reclaim; lower MemoryHigh= of batch components or stop the top memory users"
                    ))
            }
            if let io = p.io, io.someAvg10 >= Double(t.ioPressureCriticalPercent) {
                recommendations.append(
                    Recommendation(
                        .critical,
                        "I/O pressure \(OperatorText.fixed(io.someAvg10, decimals: 1)) % (some, avg10), critical from \(t.ioPressureCriticalPercent) % — tasks stall on disk; move backups and backtests off the trading hours or lower their IOWeight="
                    ))
            }
        }

        for process in snapshot.topByCPU where process.placement == .outside {
            let percent = process.cpuPercent
            guard percent >= Double(t.processCPUWarningPercent) else { continue }
            let base = "pid \(process.pid) '\(OperatorText.abbreviate(process.commandLine, to: 40))' uses \(OperatorText.fixed(percent, decimals: 0)) % CPU outside any trading slice"
            if percent >= Double(t.processCPUCriticalPercent) {
                recommendations.append(Recommendation(.critical, base + " — run: warden emergency on"))
            } else {
                recommendations.append(Recommendation(.warning, base + " — lower it: renice -n 19 -p \(process.pid), or stop it"))
            }
        }

        var components: [DiagnoseReport.Component] = []
        for copies in snapshot.components {
            components.append(
                DiagnoseReport.Component(
                    name: copies.component, policy: copies.policy.rawValue, match: copies.match.description,
                    supervisedPIDs: copies.supervised.map(\.pid),
                    duplicates: copies.duplicates.map {
                        DiagnoseReport.Duplicate(
                            pid: $0.pid, user: $0.uid.map { snapshot.userNames[$0] ?? String($0) } ?? "?",
                            commandLine: $0.commandLine)
                    }))
            let all = copies.all
            guard !copies.duplicates.isEmpty else { continue }
            let pids = all.map { String($0.pid) }.joined(separator: ", ")
            if snapshot.componentsAreSameCommandGroups {
                let command = copies.duplicates[0].commandLine
                let glob = command.contains { "'*?[]\\".contains($0) } || command.count > 80 ? "GLOB" : command
                recommendations.append(
                    Recommendation(
                        .warning,
                        "\(all.count) processes run the same program with the same arguments (PIDs \(pids), \(copies.component)) — if they are copies of one program, run: warden duplicates --kill --command '\(glob)'"
                    ))
            } else if all.count >= 2 {
                recommendations.append(
                    Recommendation(
                        .warning, "\(all.count) copies of \(copies.component) running (PIDs \(pids)) — run: warden duplicates --kill"))
            } else {
                let consequence: String
                switch copies.policy {
                case .refuse: consequence = "Duplicates=refuse blocks Warden's start of it"
                case .kill: consequence = "Duplicates=kill makes Warden kill it at start"
                case .adopt: consequence = "Duplicates=adopt makes Warden take it over at start"
                case .warn: consequence = "Duplicates=warn lets Warden start a second copy"
                }
                recommendations.append(
                    Recommendation(
                        .warning,
                        "1 copy of \(copies.component) running outside Warden (PID \(pids)); \(consequence) — run: warden duplicates --kill"
                    ))
            }
        }

        if let governors = snapshot.cpuGovernors {
            var slow: [String] = []
            for g in governors where g != "performance" && !slow.contains(g) { slow.append(g) }
            if !slow.isEmpty {
                recommendations.append(
                    Recommendation(
                        .warning, "CPU governor is \(slow.joined(separator: ", ")) — set performance for latency-critical work"))
            }
        }

        let systemd: DiagnoseReport.SystemdUnits
        switch snapshot.failedUnits {
        case .listed(let units):
            systemd = DiagnoseReport.SystemdUnits(status: "ok", failedUnits: units, message: nil)
            if !units.isEmpty {
                let shown = units.prefix(5).joined(separator: ", ") + (units.count > 5 ? ", …" : "")
                recommendations.append(
                    Recommendation(
                        .warning,
                        "\(units.count) failed systemd unit\(units.count == 1 ? "" : "s") (\(shown)) — inspect: systemctl status NAME; clear: systemctl reset-failed"
                    ))
            }
        case .systemdNotRunning:
            systemd = DiagnoseReport.SystemdUnits(status: "systemd-not-running", failedUnits: [], message: "systemd not running here")
        case .unavailable(let why):
            systemd = DiagnoseReport.SystemdUnits(status: "unavailable", failedUnits: [], message: why)
        }

        // Stable order: critical first, then as found (host, processes, components, host setup).
        let ordered = recommendations.filter { $0.severity == .critical } + recommendations.filter { $0.severity == .warning }
        var verdict = [load?.verdict, memory?.verdict, memory?.swapVerdict].compactMap { $0 }.max() ?? .optimal
        if ordered.contains(where: { $0.severity == .critical }) {
            verdict = .critical
        } else if !ordered.isEmpty {
            verdict = max(verdict, .warning)
        }

        return DiagnoseReport(
            formatVersion: DiagnoseReport.formatVersion, uptimeSeconds: snapshot.uptimeSeconds, cpuCount: snapshot.cpuCount,
            load: load, memory: memory,
            pressure: DiagnoseReport.Pressure(
                available: snapshot.pressure != nil, cpu: snapshot.pressure?.cpu, memory: snapshot.pressure?.memory,
                io: snapshot.pressure?.io),
            topByCPU: snapshot.topByCPU, topByMemory: snapshot.topByMemory, components: components,
            sameCommandGroups: snapshot.componentsAreSameCommandGroups,
            cpuFrequency: DiagnoseReport.CPUFrequency(
                available: snapshot.cpuGovernors != nil, governors: snapshot.cpuGovernors ?? []),
            systemd: systemd, processCount: snapshot.processCount, scanMilliseconds: snapshot.scanMilliseconds,
            verdict: verdict, recommendations: ordered)
    }
}

extension DiagnoseReport {
    /// The human report: aligned sections, verdicts and severities coloured when `color`.
    public func renderText(color: Bool) -> String {
        func paint(_ verdict: Verdict) -> String {
            switch verdict {
            case .optimal: OperatorText.paint("optimal", .green, enabled: color)
            case .warning: OperatorText.paint("warning", .yellow, enabled: color)
            case .critical: OperatorText.paint("critical", .red, enabled: color)
            }
        }
        func heading(_ text: String) -> String { OperatorText.paint(text, .bold, enabled: color) + "\n" }
        let labelWidth = 13
        func row(_ label: String, _ value: String, _ verdict: Verdict? = nil) -> String {
            let padded = label + String(repeating: " ", count: max(labelWidth - label.count, 1))
            guard let verdict else { return padded + value + "\n" }
            let gap = String(repeating: " ", count: max(46 - value.count, 2))
            return padded + value + gap + paint(verdict) + "\n"
        }

        var out = ""
        out += row("Host", (uptimeSeconds.map { "up " + OperatorText.duration(seconds: $0) + ", " } ?? "")
            + "\(cpuCount) CPU\(cpuCount == 1 ? "" : "s"), \(processCount) processes (scan \(OperatorText.fixed(scanMilliseconds, decimals: 1)) ms)")
        if let load {
            out += row(
                "Load",
                "\(OperatorText.fixed(load.one, decimals: 2)) \(OperatorText.fixed(load.five, decimals: 2)) \(OperatorText.fixed(load.fifteen, decimals: 2)) (\(OperatorText.fixed(load.perCPU, decimals: 2)) per CPU)",
                load.verdict)
        } else {
            out += row("Load", "not available")
        }
        if let memory {
            out += row(
                "Memory",
                "\(OperatorText.bytes(memory.usedBytes)) of \(OperatorText.bytes(memory.totalBytes)) used (\(OperatorText.fixed(memory.usedPercent, decimals: 0)) %)",
                memory.verdict)
            out += row(
                "Swap",
                memory.swapTotalBytes == 0
                    ? "none configured"
                    : "\(OperatorText.bytes(memory.swapUsedBytes)) of \(OperatorText.bytes(memory.swapTotalBytes)) used (\(OperatorText.fixed(memory.swapUsedPercent, decimals: 0)) %)",
                memory.swapVerdict)
        } else {
            out += row("Memory", "not available")
        }
        if pressure.available {
            func figure(_ name: String, _ p: PressureFigures?) -> String {
                guard let p else { return "\(name) n/a" }
                return "\(name) \(OperatorText.fixed(p.someAvg10, decimals: 1)) %"
            }
            out += row(
                "PSI (avg10)",
                [figure("cpu", pressure.cpu), figure("memory", pressure.memory), figure("io", pressure.io)].joined(separator: "  ")
                    + "  (some)")
        } else {
            out += row("PSI", "PSI not available")
        }
        if cpuFrequency.available {
            var counts: [(String, Int)] = []
            for g in cpuFrequency.governors {
                if let i = counts.firstIndex(where: { $0.0 == g }) { counts[i].1 += 1 } else { counts.append((g, 1)) }
            }
            out += row(
                "CPU governor",
                counts.map { "\($0.0) (\($0.1) CPU\($0.1 == 1 ? "" : "s"))" }.joined(separator: ", "))
        } else {
            out += row("CPU governor", "not available")
        }
        switch systemd.status {
        case "ok":
            out += row("systemd", systemd.failedUnits.isEmpty ? "no failed units" : "failed: " + systemd.failedUnits.joined(separator: ", "))
        default:
            out += row("systemd", systemd.message ?? systemd.status)
        }

        let columns = [
            OperatorText.Column("PID", rightAligned: true), OperatorText.Column("USER"),
            OperatorText.Column("CPU%", rightAligned: true), OperatorText.Column("RSS", rightAligned: true),
            OperatorText.Column("WHERE"), OperatorText.Column("COMMAND"),
        ]
        func processRows(_ list: [ProcessUsage]) -> [[String]] {
            list.map {
                let place: String
                switch $0.placement {
                case .warden: place = "warden"
                case .tradingSlice: place = $0.slice ?? "trading"
                case .outside: place = $0.cgroup.map { OperatorText.abbreviate($0, to: 40) } ?? "?"
                }
                return [
                    String($0.pid), $0.user, OperatorText.fixed($0.cpuPercent, decimals: 1), OperatorText.bytes($0.rssBytes),
                    place, OperatorText.abbreviate($0.commandLine, to: 60),
                ]
            }
        }
        out += "\n" + heading("Top processes by CPU")
        out += OperatorText.table(columns, processRows(topByCPU), indent: "  ")
        out += "\n" + heading("Top processes by memory")
        out += OperatorText.table(columns, processRows(topByMemory), indent: "  ")

        if !components.isEmpty && sameCommandGroups {
            out += "\n" + heading("Same program, same arguments (no Warden configuration)")
            out += OperatorText.table(
                [OperatorText.Column("GROUP"), OperatorText.Column("OLDEST"), OperatorText.Column("NEWER")],
                components.map {
                    [
                        $0.name, $0.supervisedPIDs.map(String.init).joined(separator: ","),
                        $0.duplicates.map { String($0.pid) }.joined(separator: ","),
                    ]
                }, indent: "  ")
        } else if !components.isEmpty {
            out += "\n" + heading("Components")
            out += OperatorText.table(
                [
                    OperatorText.Column("COMPONENT"), OperatorText.Column("DUPLICATES="), OperatorText.Column("WARDEN'S"),
                    OperatorText.Column("NOT WARDEN'S"),
                ],
                components.map {
                    [
                        $0.name, $0.policy, $0.supervisedPIDs.isEmpty ? "-" : $0.supervisedPIDs.map(String.init).joined(separator: ","),
                        $0.duplicates.isEmpty ? "-" : $0.duplicates.map { String($0.pid) }.joined(separator: ","),
                    ]
                }, indent: "  ")
        }

        out += "\n" + heading("Recommendations")
        if recommendations.isEmpty {
            out += "  none: " + paint(verdict) + "\n"
        }
        for r in recommendations {
            let label = r.severity == .critical
                ? OperatorText.paint("CRITICAL", .red, enabled: color) : OperatorText.paint("WARNING", .yellow, enabled: color)
            out += "  \(label): \(r.message)\n"
        }
        return out
    }
}
