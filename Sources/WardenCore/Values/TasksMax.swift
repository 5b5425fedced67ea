// TasksMax= (systemd.resource-control(5)): `config_parse_tasks_max()`.

/// `TasksMax=`: the most tasks (threads) the unit's cgroup may hold (`pids.max`).
public enum TasksMax: Hashable, Sendable, CustomStringConvertible {
    case count(UInt64)
    /// A share of the system's task limit in ten-thousandths (`15%` = 1500).
    case percentOfSystem(permyriad: UInt32)
    case infinity

    static let expectation = "a number of tasks such as 512, a percentage of the system's limit such as 15%, or infinity"

    /// Parses `infinity`, a percentage up to 100% (`15%`, `12.5%`), or a count
    /// above 0. Empty resets (to the default) and gives nil.
    public static func parse(_ text: String) -> Result<TasksMax?, ValueError> {
        if text.isEmpty { return .success(nil) }
        if text == "infinity" { return .success(.infinity) }
        switch Permyriad.parseUnbounded(text) {
        case .value(let v) where v <= 10_000: return .success(.percentOfSystem(permyriad: UInt32(v)))
        case .value:
            return .failure(ValueError("'\(text)' is out of range for TasksMax=; expected a percentage from 0% to 100%, a number of tasks, or infinity"))
        case .invalid: return .failure(.notA(text, "a task limit", expected: expectation))
        case .notAPercentage: break
        }
        guard let v = ValueSyntax.unsigned(text) else { return .failure(.notA(text, "a task limit", expected: expectation)) }
        guard v > 0 && v < .max else {
            return .failure(ValueError("'\(text)' is out of range for TasksMax=; expected at least 1 task, a percentage, or infinity"))
        }
        return .success(.count(v))
    }

    /// The limit for `pids.max`, nil meaning `max`. `systemTasksMax` is what systemd's
    /// `system_tasks_max()` reads: the lower of `kernel.pid_max` - 1 and
    /// `kernel.threads-max` (and 4194303). Percentages scale it as systemd does
    /// (`v × systemTasksMax / 10000`, truncated; overflow means no limit).
    public func resolve(systemTasksMax: UInt64) -> UInt64? {
        switch self {
        case .count(let c): return c
        case .infinity: return nil
        case .percentOfSystem(let v):
            let (m, o) = UInt64(v).multipliedReportingOverflow(by: systemTasksMax)
            return o ? nil : m / 10_000
        }
    }

    /// The limit on `host`, for `pids.max` and systemd's `TasksMax`; nil for a percentage
    /// when pid_max is unknown. systemd resolves a percentage against the smaller of
    /// pid_max and threads-max; Warden uses pid_max.
    public func resolved(on host: HostFacts?) -> ResolvedLimit? {
        switch self {
        case .count(let count): return .value(count)
        case .infinity: return .unlimited
        case .percentOfSystem:
            guard let pidMax = host?.pidMax else { return nil }
            return resolve(systemTasksMax: pidMax).map(ResolvedLimit.value) ?? .unlimited
        }
    }

    /// `512`, `15%`, `infinity`.
    public var description: String {
        switch self {
        case .count(let c): String(c)
        case .percentOfSystem(let v): Permyriad.format(UInt64(v))
        case .infinity: "infinity"
        }
    }
}
