import Glibc
import WardenCore

/// Finds the copies of components on this host: the /proc scan staged so the common
/// case stays cheap, then `DuplicateScan.find` (pure) decides.
///
/// Stage 1 reads `stat` of every process, plus the executable when a target matches by
/// executable, plus the command line when a target matches by pattern (a pattern can match
/// any process, so every command line is needed). Stage 2 reads the command line (and
/// executable) only of candidates — processes running a target's executable, or named by a
/// pidfile. Stage 3 reads cgroup and user of the copies found, re-reading `stat` to check
/// the start time, so a process that exited in between drops out instead of lending its
/// PID to another.
public struct DuplicateDetector: Sendable {
    public var scanner: ProcScanner

    public init(procRoot: String = "/proc") {
        scanner = ProcScanner(procRoot: procRoot)
    }

    public struct Result: Sendable {
        /// Every process of the scan, candidates completed.
        public var processes: [ScannedProcess]
        public var copies: [ComponentCopies]
        /// Wall time of the scan and the decision.
        public var elapsedMicroseconds: UInt64
    }

    public func detect(_ targets: [DuplicateTarget], warden: WardenProcesses) -> Result {
        var reuse: FirstStageScan?
        return detect(targets, warden: warden, reusing: &reuse)
    }

    /// The first stage's scan (every process, the cheap fields), kept by a caller that
    /// checks several components in a row (the supervisor within one pass of its loop:
    /// 100 components starting together cost one scan, not 100).
    public struct FirstStageScan {
        var fields: ProcScanner.Fields
        var processes: [ScannedProcess]
    }

    /// `detect`, reusing `cache` when it holds the fields needed and filling it otherwise.
    public func detect(_ targets: [DuplicateTarget], warden: WardenProcesses, reusing cache: inout FirstStageScan?) -> Result {
        let start = monotonicMicroseconds()
        var first: ProcScanner.Fields = []
        for target in targets {
            switch target.match {
            case .executable, .executableAndArguments: first.insert(.executable)
            case .pattern: first.insert(.commandLine)
            case .pidFile: break
            }
        }
        // Membership by cgroup needs every process's cgroup (a candidate's ancestors count).
        if !warden.cgroups.isEmpty { first.insert(.cgroup) }
        var processes: [ScannedProcess] = []
        if !targets.isEmpty {
            if let cached = cache, cached.fields.isSuperset(of: first) {
                processes = cached.processes
            } else {
                let fields = first.union(cache?.fields ?? [])
                processes = scanner.scan(fields)
                cache = FirstStageScan(fields: fields, processes: processes)
            }
        }
        // Stage 2: what the matcher still needs, only for processes that might match.
        let missing = ProcScanner.Fields([.executable, .commandLine]).subtracting(first)
        if !missing.isEmpty {
            processes = scanner.complete(
                processes, where: { p in targets.contains { $0.mightMatch(p) } }, with: missing, verify: false)
        }
        // Stage 3: the copies, verified by start time, with cgroup and user for the report.
        processes = scanner.complete(
            processes, where: { p in targets.contains { $0.matches(p) } },
            with: ProcScanner.Fields([.cgroup, .user]).subtracting(first), verify: true)
        let copies = DuplicateScan.find(targets, in: processes, warden: warden)
        return Result(processes: processes, copies: copies, elapsedMicroseconds: monotonicMicroseconds() - start)
    }
}

extension DuplicateTarget {
    /// Whether the fields of a cheap scan leave `process` possibly a copy: the same
    /// executable, a matching pattern, or the pidfile's PID. Exact for every kind but
    /// `executable+arguments`, whose arguments are checked once the command line is read.
    func mightMatch(_ process: ScannedProcess) -> Bool {
        if process.hasExited { return false }
        switch match {
        case .executable, .executableAndArguments: return process.executable == executablePath
        case .pattern: return matches(process)
        case .pidFile: return pidFilePID == process.pid
        }
    }
}
