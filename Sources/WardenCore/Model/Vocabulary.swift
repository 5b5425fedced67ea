// The enumerations of systemd's and Warden's settings. Raw values are the spellings
// accepted in unit files, so parsing is `init(rawValue:)` and printing is `rawValue`.

/// `Type=`: when a component counts as started.
public enum ServiceType: String, CaseIterable, Hashable, Sendable {
    /// Started as soon as it is spawned.
    case simple
    /// Started once `execve` succeeded.
    case exec
    /// Started when it sends `READY=1` on `$NOTIFY_SOCKET`.
    case notify
    /// Started when its `ExecStart=` commands exited successfully.
    case oneshot
    /// Started when the `ExecStart=` process exited successfully and the daemon it forked
    /// is known (from `PIDFile=`, or guessed as the one process left).
    case forking
    /// Started when it holds `BusName=` on the system bus.
    case dbus
    /// As `simple`, but spawned only once the other components of the start wave have
    /// started, or after 5 s.
    case idle
    /// As `notify`; a reload sends `ReloadSignal=` and waits for `RELOADING=1`, then `READY=1`
    /// (systemd 253).
    case notifyReload = "notify-reload"
}

/// `Restart=`: which exits lead to a restart (systemd.service(5), table 2).
public enum RestartMode: String, CaseIterable, Hashable, Sendable {
    case no
    case onSuccess = "on-success"
    case onFailure = "on-failure"
    case onAbnormal = "on-abnormal"
    case onAbort = "on-abort"
    case onWatchdog = "on-watchdog"
    case always
}

/// `KillMode=`: which processes get `KillSignal=` at stop.
public enum KillMode: String, CaseIterable, Hashable, Sendable {
    /// Every process of the component's cgroup.
    case controlGroup = "control-group"
    /// The main process gets `KillSignal=`, the rest only the final SIGKILL.
    case mixed
    /// Only the main process; the rest is left alone (systemd's meaning, discouraged).
    case process
}

/// `[X-Warden] Priority=`: whom the governor protects and whom it throttles.
public enum Priority: String, CaseIterable, Hashable, Sendable {
    /// Never throttled; its pressure is what the governor judges.
    case critical
    case normal
    /// First to be throttled, frozen and reclaimed in an overload.
    case batch
}

/// `[X-Warden] Duplicates=`: what to do with a copy of a component that Warden did not start.
public enum DuplicatePolicy: String, CaseIterable, Hashable, Sendable {
    case refuse, kill, adopt, warn
}

/// `CPUSchedulingPolicy=`.
public enum SchedulingPolicy: String, CaseIterable, Hashable, Sendable {
    case other, batch, idle, fifo, rr

    /// Linux `SCHED_*` number.
    public var linuxValue: Int32 {
        switch self {
        case .other: 0
        case .fifo: 1
        case .rr: 2
        case .batch: 3
        case .idle: 5
        }
    }
}

/// A span of time in microseconds, as systemd keeps it (`usec_t`). `infinity` is
/// systemd's `USEC_INFINITY`: "never" for timeouts, "no limit" for intervals.
public struct TimeSpan: Hashable, Sendable, Comparable {
    public var usec: UInt64

    public init(usec: UInt64) { self.usec = usec }

    public static let infinity = TimeSpan(usec: .max)
    public static let zero = TimeSpan(usec: 0)
    public static func milliseconds(_ ms: UInt64) -> TimeSpan { TimeSpan(usec: ms * 1_000) }
    public static func seconds(_ s: UInt64) -> TimeSpan { TimeSpan(usec: s * 1_000_000) }

    public var isInfinite: Bool { usec == .max }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.usec < b.usec }
}

/// How a process ended, as `waitid` reports it.
public enum ExitStatus: Hashable, Sendable {
    /// `_exit(code)`; code is 0...255.
    case exited(code: Int32)
    /// Terminated by a signal, with or without a core dump.
    case killed(signal: Int32, coreDumped: Bool)
    /// Ended, but how is known only to its parent: a main process Warden adopted after a
    /// restart of its own (or named by `MAINPID=`) is not Warden's child, and the kernel
    /// gives a process's status to its parent alone. Never clean (`ServiceResult`).
    case unknown
}

/// `SuccessExitStatus=` / `RestartPreventExitStatus=`: exit codes and signals.
public struct ExitStatusSet: Hashable, Sendable {
    public var codes: Set<Int32>
    public var signals: Set<Int32>

    public init(codes: Set<Int32> = [], signals: Set<Int32> = []) {
        self.codes = codes
        self.signals = signals
    }

    public var isEmpty: Bool { codes.isEmpty && signals.isEmpty }

    public func contains(_ status: ExitStatus) -> Bool {
        switch status {
        case .exited(let code): codes.contains(code)
        case .killed(let signal, _): signals.contains(signal)
        case .unknown: false
        }
    }
}
