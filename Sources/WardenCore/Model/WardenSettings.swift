/// Where Warden's logs go.
public enum LogTarget: String, CaseIterable, Hashable, Sendable {
    /// The journal when stderr is connected to it (`$JOURNAL_STREAM`), else stderr.
    case auto
    case stderr
    case journal
}

public enum LogLevel: String, CaseIterable, Hashable, Sendable {
    case debug, info, notice, warning, error
}

/// How components get their cgroups.
public enum CgroupBackend: String, CaseIterable, Hashable, Sendable {
    /// A delegated subtree when there is one, else systemd's transient units when systemd
    /// is reachable, else none (`CgroupBackendChoice`).
    case auto
    /// Warden manages the cgroup subtree it was given (`Delegate=yes`, or a container's root).
    case delegated
    /// Each component is a transient systemd unit in its slice.
    case systemd
}

/// `[Warden]` in `warden.conf`: the daemon's own settings.
public struct WardenSettings: Hashable, Sendable {
    public var location: SourceLocation
    public var keyLocations: [String: SourceLocation] = [:]
    /// `UnitDirectories=`: searched in order; the first directory that has a unit wins.
    public var unitDirectories: [String] = []
    public var stateDirectory: String?
    public var controlSocket: String?
    public var controlSocketGroup: String?
    public var controlSocketOptional: Bool?
    public var readOnlyGroup: String?
    public var logTarget: LogTarget?
    public var logLevel: LogLevel?
    public var metricsListen: ListenAddress?
    public var shutdownBudgetSec: TimeSpan?
    public var cgroupBackend: CgroupBackend?
    public var failOnUnenforceable: Bool?

    public var governor = GovernorSettings()

    public static let defaultStateDirectory = "/run/warden"
    public static let defaultUnitDirectory = "/etc/warden/units"
    public static let defaultShutdownBudget = TimeSpan.seconds(90)
    /// As PID 1 (a container's init) the budget must end before the runtime's SIGKILL:
    /// Kubernetes waits 30 s after SIGTERM (`terminationGracePeriodSeconds`), Docker and
    /// podman 10 s unless `--stop-timeout`/`-t` says more. 25 s leaves Kubernetes' default
    /// 5 s for the last kills and the exit; under Docker pass `--stop-timeout 30`.
    public static let defaultShutdownBudgetAsPID1 = TimeSpan.seconds(25)

    /// `ShutdownBudgetSec=`, or the default for where Warden runs.
    public func effectiveShutdownBudget(isPID1: Bool) -> TimeSpan {
        shutdownBudgetSec ?? (isPID1 ? Self.defaultShutdownBudgetAsPID1 : Self.defaultShutdownBudget)
    }

    public init(location: SourceLocation) {
        self.location = location
    }

    public var effectiveStateDirectory: String { stateDirectory ?? Self.defaultStateDirectory }
    public var effectiveControlSocket: String { controlSocket ?? effectiveStateDirectory + "/control.sock" }
    public var effectiveUnitDirectories: [String] { unitDirectories.isEmpty ? [Self.defaultUnitDirectory] : unitDirectories }
}

/// `[Governor]` in `warden.conf`: when the host counts as overloaded and what is done then.
/// Defaults are the thresholds of the trading operators' runbooks.
public struct GovernorSettings: Hashable, Sendable {
    public var enabled: Bool?
    /// Load average (1 min) per CPU, in hundredths: 100 = 1.0.
    public var loadPerCPUWarningHundredths: Int?
    public var loadPerCPUCriticalHundredths: Int?
    public var memoryWarningPercent: Int?
    public var memoryCriticalPercent: Int?
    public var cpuWarningPercent: Int?
    public var cpuCriticalPercent: Int?
    /// PSI `some` stall share of the protected group over the trigger window.
    public var cpuPressureWarningPercent: Int?
    public var cpuPressureCriticalPercent: Int?
    public var memoryPressureCriticalPercent: Int?
    public var ioPressureCriticalPercent: Int?
    public var pressureWindowSec: TimeSpan?
    public var severeAfterSec: TimeSpan?
    public var cooldownSec: TimeSpan?
    public var sampleIntervalSec: TimeSpan?
    public var emergencyCPUQuota: CPUQuota?
    public var emergencyCPUWeight: CPUWeight?
    public var criticalCPUWeight: UInt64?
    public var throttleSlices: [String] = []
    public var throttleSliceCPUQuota: CPUQuota?
    public var alertWebhooks: [String] = []
    public var alertCooldownSec: TimeSpan?

    public init() {}

    public static let defaults = (
        loadPerCPUWarningHundredths: 100, loadPerCPUCriticalHundredths: 200,
        memoryWarningPercent: 70, memoryCriticalPercent: 85,
        cpuWarningPercent: 80, cpuCriticalPercent: 90,
        cpuPressureWarningPercent: 10, cpuPressureCriticalPercent: 25,
        memoryPressureCriticalPercent: 10, ioPressureCriticalPercent: 30,
        pressureWindow: TimeSpan.seconds(1), severeAfter: TimeSpan.seconds(10),
        cooldown: TimeSpan.seconds(60), sampleInterval: TimeSpan.seconds(1),
        alertCooldown: TimeSpan.seconds(300))
}

/// `MetricsListen=127.0.0.1:9464`.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public static func parse(_ text: String) -> Result<ListenAddress, ValueError> {
        let failure = ValueError("'\(text)' is not a listen address; expected HOST:PORT such as 127.0.0.1:9464 or [::1]:9464")
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(failure) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(failure) }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(failure) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = UInt16(portText), port > 0 else { return .failure(failure) }
        return .success(ListenAddress(host: String(host), port: port))
    }
}

private let wardenSection: Set<String> = ["Warden"]
private let governorSection: Set<String> = ["Governor"]

private func timeSpan(_ text: String) -> Result<TimeSpan, ValueError> {
    TimeSpan.parse(text, defaultUnit: .seconds(1))
}

/// `CriticalCPUWeight=`: a weight to raise to, so `idle` (which lowers) is no value here.
private func criticalWeight(_ text: String) -> Result<UInt64?, ValueError> {
    guard let v = ValueSyntax.unsigned(text), (1...10_000).contains(v) else {
        return .failure(.notA(text, "a CPU weight to raise critical groups to", expected: "a number from 1 to 10000"))
    }
    return .success(v)
}

private func percentRule(
    _ key: String, _ field: WritableKeyPath<WardenSettings, Int?> & Sendable, _ meaning: String,
    default defaultValue: Int, mapsTo: String
) -> KeyRule<WardenSettings> {
    .value(
        key, in: governorSection, field,
        KeyDoc(meaning, syntax: "percentage 0%…100%", default: "\(defaultValue)%", mapsTo: mapsTo, systemd: .wardenOnly),
        parse: PlainValue.percent)
}

extension WardenSettings {
    /// Every key of `warden.conf`.
    public static let rules: [KeyRule<WardenSettings>] = [
        .list(
            "UnitDirectories", in: wardenSection, \.unitDirectories,
            KeyDoc(
                "Directories holding the component (.service) and slice (.slice) units, searched in order; relative paths are relative to warden.conf's directory.",
                syntax: "space-separated paths", default: defaultUnitDirectory, mapsTo: "unit loading", systemd: .wardenOnly)),
        .value(
            "StateDirectory", in: wardenSection, \.stateDirectory,
            KeyDoc(
                "Where Warden keeps its lock, the components' records and the governor's state.",
                syntax: "path", default: defaultStateDirectory, mapsTo: "files", systemd: .wardenOnly),
            parse: PlainValue.string),
        .value(
            "ControlSocket", in: wardenSection, \.controlSocket,
            KeyDoc(
                "Unix socket of `warden status`, `warden stop`, … .", syntax: "path",
                default: "STATE/control.sock",
                mapsTo: "AF_UNIX socket, mode 0660 with the configured group (0666 when ControlSocketGroup= and ReadOnlyGroup= differ; SO_PEERCRED decides)",
                systemd: .wardenOnly),
            parse: PlainValue.string),
        .value(
            "ControlSocketOptional", in: wardenSection, \.controlSocketOptional,
            KeyDoc(
                "Run on when the control socket cannot be opened, instead of refusing to start (an operator then cannot stop or inspect Warden but by signals).",
                syntax: "boolean", default: "no", mapsTo: "start-up check", systemd: .wardenOnly),
            parse: parseBoolean),
        .value(
            "ControlSocketGroup", in: wardenSection, \.controlSocketGroup,
            KeyDoc(
                "Group whose members may use every control command (besides root).", syntax: "group name",
                default: "root only", mapsTo: "SO_PEERCRED check", systemd: .wardenOnly),
            parse: parseUserOrGroup),
        .value(
            "ReadOnlyGroup", in: wardenSection, \.readOnlyGroup,
            KeyDoc(
                "Group whose members may use read-only commands such as status.", syntax: "group name",
                default: "none", mapsTo: "SO_PEERCRED check", systemd: .wardenOnly),
            parse: parseUserOrGroup),
        .choice(
            "LogTarget", in: wardenSection, \.logTarget,
            KeyDoc(
                "Where Warden's and the components' log lines go.", syntax: "auto | stderr | journal",
                default: "auto (journal when started by systemd with stderr to the journal)", mapsTo: "stderr / sd_journal_sendv",
                systemd: .wardenOnly)),
        .choice(
            "LogLevel", in: wardenSection, \.logLevel,
            KeyDoc(
                "Least severe message logged.", syntax: "debug | info | notice | warning | error", default: "info",
                mapsTo: "log filter", systemd: .wardenOnly)),
        .value(
            "MetricsListen", in: wardenSection, \.metricsListen,
            KeyDoc(
                "Address of the Prometheus /metrics endpoint; keep it on loopback.", syntax: "HOST:PORT",
                default: "off", mapsTo: "TCP listener", systemd: .wardenOnly),
            parse: ListenAddress.parse),
        .value(
            "ShutdownBudgetSec", in: wardenSection, \.shutdownBudgetSec,
            KeyDoc(
                "Total time allowed for stopping every component at shutdown; past it the rest is killed.",
                syntax: "time span", default: "90s; 25s as PID 1 (inside Kubernetes' 30 s grace period)", mapsTo: "shutdown timer",
                systemd: .wardenOnly),
            parse: timeSpan),
        .choice(
            "CgroupBackend", in: wardenSection, \.cgroupBackend,
            KeyDoc(
                "How components get their cgroups: Warden's delegated subtree, or transient systemd units; auto takes the subtree when one is delegated (Delegate=yes, a container's own cgroup namespace, PID 1 of a guest), else systemd's units when systemd can be reached, else runs without per-component limits and says why. systemd refuses to start where systemd cannot be reached; delegated never asks systemd.",
                syntax: "auto | delegated | systemd", default: "auto", mapsTo: "cgroupfs / D-Bus StartTransientUnit",
                systemd: .wardenOnly)),
        .value(
            "FailOnUnenforceable", in: wardenSection, \.failOnUnenforceable,
            KeyDoc(
                "Refuse to run when a configured limit cannot be enforced on this host (fail closed) instead of warning.",
                syntax: "boolean", default: "no", mapsTo: "start-up check", systemd: .wardenOnly),
            parse: parseBoolean),

        .value(
            "Enabled", in: governorSection, \.governor.enabled,
            KeyDoc("Whether the governor watches and acts.", syntax: "boolean", default: "yes", mapsTo: "governor", systemd: .wardenOnly),
            parse: parseBoolean),
        .value(
            "LoadPerCPUWarning", in: governorSection, \.governor.loadPerCPUWarningHundredths,
            KeyDoc(
                "1-minute load average per CPU at which the host is in warning.", syntax: "decimal, e.g. 1.0",
                default: "1.0", mapsTo: "/proc/loadavg", systemd: .wardenOnly),
            parse: PlainValue.hundredths),
        .value(
            "LoadPerCPUCritical", in: governorSection, \.governor.loadPerCPUCriticalHundredths,
            KeyDoc(
                "Load average per CPU at which the host is critical.", syntax: "decimal, e.g. 2.0", default: "2.0",
                mapsTo: "/proc/loadavg", systemd: .wardenOnly),
            parse: PlainValue.hundredths),
        percentRule("MemoryWarning", \.governor.memoryWarningPercent, "Memory in use at which the host is in warning.", default: 70, mapsTo: "/proc/meminfo"),
        percentRule("MemoryCritical", \.governor.memoryCriticalPercent, "Memory in use at which the host is critical.", default: 85, mapsTo: "/proc/meminfo"),
        percentRule("CPUWarning", \.governor.cpuWarningPercent, "Host CPU use at which the host is in warning.", default: 80, mapsTo: "/proc/stat"),
        percentRule("CPUCritical", \.governor.cpuCriticalPercent, "Host CPU use at which the host is critical.", default: 90, mapsTo: "/proc/stat"),
        percentRule(
            "CPUPressureWarning", \.governor.cpuPressureWarningPercent,
            "Share of the window in which critical components stalled for CPU (PSI some) that means warning.", default: 10,
            mapsTo: "cpu.pressure trigger"),
        percentRule(
            "CPUPressureCritical", \.governor.cpuPressureCriticalPercent,
            "PSI some CPU stall share of the critical components that triggers the emergency CPU quota.", default: 25,
            mapsTo: "cpu.pressure trigger"),
        percentRule(
            "MemoryPressureCritical", \.governor.memoryPressureCriticalPercent,
            "PSI some memory stall share that makes the governor tighten memory.high of non-critical groups.", default: 10,
            mapsTo: "memory.pressure trigger"),
        percentRule(
            "IOPressureCritical", \.governor.ioPressureCriticalPercent,
            "PSI some I/O stall share that counts as critical.", default: 30, mapsTo: "io.pressure trigger"),
        .value(
            "PressureWindowSec", in: governorSection, \.governor.pressureWindowSec,
            KeyDoc(
                "PSI trigger window; the governor reacts within one window.", syntax: "time span, 500ms…10s",
                default: "1s", mapsTo: "PSI trigger window", systemd: .wardenOnly),
            parse: timeSpan),
        .value(
            "SevereAfterSec", in: governorSection, \.governor.severeAfterSec,
            KeyDoc(
                "How long critical pressure must persist under the emergency quota before batch groups are frozen.",
                syntax: "time span", default: "10s", mapsTo: "governor tier", systemd: .wardenOnly),
            parse: timeSpan),
        .value(
            "CooldownSec", in: governorSection, \.governor.cooldownSec,
            KeyDoc(
                "How long the signals must stay below the lower threshold before the governor steps down one tier.",
                syntax: "time span", default: "60s", mapsTo: "governor hysteresis", systemd: .wardenOnly),
            parse: timeSpan),
        .value(
            "SampleIntervalSec", in: governorSection, \.governor.sampleIntervalSec,
            KeyDoc(
                "Sampling interval on kernels without PSI triggers (and while a tier is active).", syntax: "time span",
                default: "1s", mapsTo: "timer", systemd: .wardenOnly),
            parse: timeSpan),
        .value(
            "EmergencyCPUQuota", in: governorSection, \.governor.emergencyCPUQuota,
            KeyDoc(
                "Quota applied to each batch group in an overload, unless the group sets its own.", syntax: "percentage",
                default: "50%", mapsTo: "cpu.max", systemd: .wardenOnly),
            parse: nonEmpty(CPUQuota.parse)),
        .value(
            "EmergencyCPUWeight", in: governorSection, \.governor.emergencyCPUWeight,
            KeyDoc(
                "cpu.weight given to batch groups in an overload, and CPUWeight= to ThrottleSlices=; never raised where lower already.",
                syntax: "integer 1…10000", default: "1", mapsTo: "cpu.weight, CPUWeight", systemd: .wardenOnly),
            parse: nonEmpty(CPUWeight.parse)),
        .value(
            "CriticalCPUWeight", in: governorSection, \.governor.criticalCPUWeight,
            KeyDoc(
                "cpu.weight given in an overload to Priority=critical groups and to the slices that hold them, so a waking critical task preempts batch work at once; only ever raised, restored with the rest. Set it to the groups' own weight to leave them alone.",
                syntax: "integer 1…10000", default: "10000", mapsTo: "cpu.weight", systemd: .wardenOnly),
            parse: nonEmpty(criticalWeight)),
        .list(
            "ThrottleSlices", in: governorSection, \.governor.throttleSlices,
            KeyDoc(
                "systemd slices outside Warden throttled in an overload on systemd hosts (what runbooks do with systemctl set-property).",
                syntax: "space-separated slice names", default: "system.slice user.slice",
                mapsTo: "D-Bus SetUnitProperties(runtime) CPUQuotaPerSecUSec, CPUWeight", systemd: .wardenOnly),
            validate: { word in
                UnitName(parsing: word)?.kind == .slice
                    ? nil : ValueError("'\(word)' is not a slice name; expected e.g. system.slice")
            }),
        .value(
            "ThrottleSliceCPUQuota", in: governorSection, \.governor.throttleSliceCPUQuota,
            KeyDoc(
                "Quota applied to ThrottleSlices= in an overload.", syntax: "percentage", default: "50%",
                mapsTo: "CPUQuotaPerSecUSec", systemd: .wardenOnly),
            parse: nonEmpty(CPUQuota.parse)),
        .list(
            "AlertWebhooks", in: governorSection, \.governor.alertWebhooks,
            KeyDoc(
                "Slack- or Discord-compatible webhook URLs told of tier changes (a JSON POST, at most one per rule per AlertCooldownSec=). http:// only to a relay on the loopback address.",
                syntax: "space-separated https:// URLs",
                default: "none", mapsTo: "HTTPS POST", systemd: .wardenOnly),
            validate: { word in WebhookURL.problem(word).map(ValueError.init) }),
        .value(
            "AlertCooldownSec", in: governorSection, \.governor.alertCooldownSec,
            KeyDoc(
                "Least time between two alerts of the same rule.", syntax: "time span", default: "300s",
                mapsTo: "alert limiter", systemd: .wardenOnly),
            parse: timeSpan),
    ]
}

/// What `AlertWebhooks=` accepts: a URL Warden's HTTP client can send to (`HTTPURL`),
/// https, or plain http to a relay on this host only, so alert text never crosses a network
/// unencrypted.
public enum WebhookURL {
    /// Why `text` is not an acceptable webhook URL; nil when it is.
    public static func problem(_ text: String) -> String? {
        let expected = "expected an https:// URL (or http:// to 127.0.0.1, [::1] or localhost)"
        switch HTTPURL.parse(text) {
        case .failure(let why):
            return "'\(text)' is not a webhook URL: \(why.message); \(expected)"
        case .success(let url) where url.scheme == .http && !isLoopback(url.host):
            return "'\(text)' would send alerts unencrypted over the network; \(expected)"
        case .success:
            return nil
        }
    }

    /// `127.x.y.z` as a whole dotted quad (not `127.0.0.1.example.com`), `::1`, `localhost`.
    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.first == "127" else { return false }
        return octets.allSatisfy { octet in
            !octet.isEmpty && octet.count <= 3 && octet.allSatisfy(\.isASCII) && octet.allSatisfy(\.isNumber)
                && Int(octet).map { $0 <= 255 } == true
        }
    }
}
