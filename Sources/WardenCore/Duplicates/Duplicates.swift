// Duplicate detection and the `Duplicates=` policies as pure decisions. The effects
// layer scans /proc, resolves paths and reads pidfiles; it then asks these functions
// what is a copy and what to do, and carries the answer out.

/// What a component looks like from /proc, for recognising copies of it.
public struct DuplicateTarget: Hashable, Sendable {
    /// The unit name, `order-executor.service`.
    public var component: String
    /// The executable `ExecStart=` runs, resolved through the search path and with
    /// symlinks resolved (`/usr/bin/sleep`, not `/bin/sleep`), as `/proc/PID/exe` shows it.
    public var executablePath: String
    /// argv as Warden passes it, argv[0] included.
    public var arguments: [String]
    public var match: DuplicateMatch
    public var policy: DuplicatePolicy
    /// For `pidfile:PATH`: the PID the file holds, nil when the file is missing or holds no PID.
    public var pidFilePID: Int32?

    /// `DuplicateMatch=` and `Duplicates=` defaults, as the key reference states them.
    public static let defaultMatch = DuplicateMatch.executableAndArguments
    public static let defaultPolicy = DuplicatePolicy.warn

    public init(
        component: String, executablePath: String, arguments: [String], match: DuplicateMatch?,
        policy: DuplicatePolicy?, pidFilePID: Int32? = nil
    ) {
        self.component = component
        self.executablePath = executablePath
        self.arguments = arguments
        self.match = match ?? Self.defaultMatch
        self.policy = policy ?? Self.defaultPolicy
        self.pidFilePID = pidFilePID
    }

    /// Whether `process` runs this component, by `match` alone (ownership is not judged here).
    ///
    /// argv[0] is not compared for `executable+arguments`: it is whatever the starter chose
    /// (a shell passes the name as typed, `@` in `ExecStart=` sets it), while the executable
    /// is compared through `/proc/PID/exe`, which no starter can dress up.
    public func matches(_ process: ScannedProcess) -> Bool {
        if process.hasExited || process.isKernelThread { return false }
        switch match {
        case .executable:
            return process.executable == executablePath
        case .executableAndArguments:
            return process.executable == executablePath
                && process.arguments.dropFirst().elementsEqual(arguments.dropFirst())
        case .pattern(let pattern):
            return !process.arguments.isEmpty && pattern.matches(process.commandLine)
        case .pidFile:
            return pidFilePID == process.pid
        }
    }
}

/// The copies of one component found in one scan.
public struct ComponentCopies: Hashable, Sendable {
    public var component: String
    public var policy: DuplicatePolicy
    public var match: DuplicateMatch
    /// Copies in Warden's tree: the instance Warden runs.
    public var supervised: [ScannedProcess]
    /// Copies Warden did not start, oldest first.
    public var duplicates: [ScannedProcess]

    public init(
        component: String, policy: DuplicatePolicy, match: DuplicateMatch, supervised: [ScannedProcess],
        duplicates: [ScannedProcess]
    ) {
        self.component = component
        self.policy = policy
        self.match = match
        self.supervised = supervised
        self.duplicates = duplicates
    }

    /// Every running copy, Warden's first.
    public var all: [ScannedProcess] { supervised + duplicates }
}

public enum DuplicateScan {
    /// Finds the copies of each target among `processes`.
    ///
    /// A copy whose parent is itself a copy of the same component (a worker it forked,
    /// which keeps the executable and argv) is part of that copy, not another one: only the
    /// topmost matching process of each tree is reported. Processes of `warden` (and their
    /// descendants) are counted as supervised, never as duplicates. Zombies and kernel
    /// threads never match.
    public static func find(
        _ targets: [DuplicateTarget], in processes: [ScannedProcess], warden: WardenProcesses
    ) -> [ComponentCopies] {
        let owned = warden.members(of: processes)
        return targets.map { target in
            let matching = processes.filter { target.matches($0) }
            let matchingPIDs = Set(matching.map(\.pid))
            let roots = matching.filter { !matchingPIDs.contains($0.parentPID) }
                .sorted { ($0.startTimeTicks, $0.pid) < ($1.startTimeTicks, $1.pid) }
            return ComponentCopies(
                component: target.component, policy: target.policy, match: target.match,
                supervised: roots.filter { owned.contains($0.pid) },
                duplicates: roots.filter { !owned.contains($0.pid) })
        }
    }
}

/// What to do before starting a component, given the copies Warden did not start.
public enum DuplicateDecision: Hashable, Sendable {
    /// No copy runs: start.
    case start
    /// `Duplicates=warn`: log the message, then start.
    case startWithWarning(String)
    /// `Duplicates=refuse` (or a kill/adopt that cannot be done safely): do not start; the
    /// component shows the reason (`blocked: duplicate PID 1234 (cmdline)`).
    case refuse(String)
    /// `Duplicates=kill`: terminate these (TERM, wait, KILL, each verified by start time
    /// through a pidfd), then start.
    case killThenStart([ProcessIdentity])
    /// `Duplicates=adopt`: supervise this running process instead of starting one.
    case adopt(ProcessIdentity)
}

/// Why a process is never signalled by Warden's duplicate handling, nil when it may be.
public enum KillEligibility {
    public static func refusal(_ process: ScannedProcess, wardenPIDs: Set<Int32>) -> String? {
        if process.pid <= 1 { return "PID \(process.pid) is the init process and is never signalled" }
        if wardenPIDs.contains(process.pid) { return "PID \(process.pid) is Warden's own process" }
        return nil
    }
}

extension DuplicatePolicy {
    /// The policy's decision for `duplicates` (copies Warden did not start, oldest first).
    /// `wardenPIDs` are never killed; PID 1 neither.
    ///
    /// Adoption takes exactly one copy: with two running, adopting one would leave the
    /// other trading next to it, so the start is refused instead and the operator decides.
    public func decide(duplicates: [ScannedProcess], wardenPIDs: Set<Int32> = []) -> DuplicateDecision {
        guard let first = duplicates.first else { return .start }
        switch self {
        case .warn:
            return .startWithWarning(
                "\(Self.describe(duplicates)) running outside Warden; starting anyway (Duplicates=warn)")
        case .refuse:
            return .refuse("blocked: " + Self.describe(duplicates))
        case .kill:
            for process in duplicates {
                if let why = KillEligibility.refusal(process, wardenPIDs: wardenPIDs) {
                    return .refuse("blocked: \(Self.describe(duplicates)); cannot kill: \(why)")
                }
            }
            return .killThenStart(duplicates.map(\.identity))
        case .adopt:
            guard duplicates.count == 1 else {
                return .refuse(
                    "blocked: \(Self.describe(duplicates)); Duplicates=adopt takes over exactly one copy, \(duplicates.count) are running")
            }
            if first.pid <= 1 { return .refuse("blocked: \(Self.describe(duplicates)); PID 1 cannot be adopted") }
            return .adopt(first.identity)
        }
    }

    /// `duplicate PID 1234 (cmdline)` or `duplicate PIDs 1234, 1240 (cmdline of the first)`.
    static func describe(_ duplicates: [ScannedProcess]) -> String {
        let pids = duplicates.map { String($0.pid) }.joined(separator: ", ")
        let label = duplicates.count == 1 ? "PID" : "PIDs"
        return "duplicate \(label) \(pids) (\(OperatorText.abbreviate(duplicates[0].commandLine, to: 80)))"
    }
}

/// The signals of a duplicate kill and how long each may take to work.
public struct DuplicateKillSequence: Hashable, Sendable {
    /// Time the process gets to exit after SIGTERM before SIGKILL.
    public var termTimeout: TimeSpan
    /// Time allowed for SIGKILL to take effect before the kill is reported as failed.
    public var killTimeout: TimeSpan

    public static let `default` = DuplicateKillSequence(termTimeout: .seconds(10), killTimeout: .seconds(5))

    public init(termTimeout: TimeSpan, killTimeout: TimeSpan) {
        self.termTimeout = termTimeout
        self.killTimeout = killTimeout
    }
}

/// How one duplicate kill ended.
public enum DuplicateKillOutcome: Hashable, Sendable, CustomStringConvertible {
    /// Exited after SIGTERM.
    case terminated
    /// Needed SIGKILL.
    case killed
    /// Had already exited: no signal was sent.
    case alreadyGone
    /// The PID now names another process (its start time differs): nothing was signalled.
    case identityChanged(foundStartTimeTicks: UInt64)
    /// Refused before any signal (PID 1, Warden's own).
    case refused(String)
    /// A syscall failed, or the process outlived SIGKILL (uninterruptible sleep).
    case failed(String)

    public var description: String {
        switch self {
        case .terminated: "terminated (SIGTERM)"
        case .killed: "killed (SIGKILL after the SIGTERM timeout)"
        case .alreadyGone: "already gone, nothing signalled"
        case .identityChanged(let ticks):
            "not signalled: the PID now names another process (start time \(ticks))"
        case .refused(let why): "not signalled: \(why)"
        case .failed(let why): "failed: \(why)"
        }
    }

    /// True when the copy no longer runs.
    public var isGone: Bool {
        switch self {
        case .terminated, .killed, .alreadyGone, .identityChanged: true
        case .refused, .failed: false
        }
    }
}
