import Glibc
import WardenCore

/// Carries out `Duplicates=kill` and `warden duplicates --kill`: SIGTERM, wait, SIGKILL,
/// always through verified pidfds.
public struct DuplicateKiller: Sendable {
    public var procRoot: String
    public var sequence: DuplicateKillSequence
    /// Never signalled (Warden's daemon, the command itself); PID 1 never either.
    public var protectedPIDs: Set<Int32>

    public init(procRoot: String = "/proc", sequence: DuplicateKillSequence = .default, protectedPIDs: Set<Int32> = []) {
        self.procRoot = procRoot
        self.sequence = sequence
        self.protectedPIDs = protectedPIDs.union([getpid()])
    }

    /// Terminates every target: all get SIGTERM at once, then whoever outlives
    /// `termTimeout` gets SIGKILL. Returns how each ended.
    public func kill(_ targets: [ProcessIdentity]) -> [ProcessIdentity: DuplicateKillOutcome] {
        var outcomes: [ProcessIdentity: DuplicateKillOutcome] = [:]
        var live: [VerifiedProcess] = []
        for target in targets {
            if target.pid <= 1 {
                outcomes[target] = .refused("PID \(target.pid) is the init process and is never signalled")
                continue
            }
            if protectedPIDs.contains(target.pid) {
                outcomes[target] = .refused("PID \(target.pid) is Warden's own process")
                continue
            }
            switch VerifiedProcess.open(target, procRoot: procRoot) {
            case .success(let process): live.append(process)
            case .failure(.gone): outcomes[target] = .alreadyGone
            case .failure(.identityChanged(let found)): outcomes[target] = .identityChanged(foundStartTimeTicks: found)
            case .failure(.failed(let error)): outcomes[target] = .failed(error.description)
            }
        }
        var terminated: [VerifiedProcess] = []
        for process in live {
            switch process.signal(SIGTERM) {
            case 0: terminated.append(process)
            case ESRCH: outcomes[process.identity] = .alreadyGone
            case let code:
                outcomes[process.identity] = .failed(
                    ProcessControlError(operation: "pidfd_send_signal(PID \(process.identity.pid), SIGTERM)", errno: code)
                        .description)
            }
        }
        let termDeadline = monotonicMicroseconds() + sequence.termTimeout.usec
        var stubborn: [VerifiedProcess] = []
        for process in terminated {
            let now = monotonicMicroseconds()
            let left = TimeSpan(usec: termDeadline > now ? termDeadline - now : 0)
            if process.waitForExit(timeout: left) {
                outcomes[process.identity] = .terminated
            } else {
                stubborn.append(process)
            }
        }
        for process in stubborn {
            switch process.signal(SIGKILL) {
            case 0, ESRCH: break
            case let code:
                outcomes[process.identity] = .failed(
                    ProcessControlError(operation: "pidfd_send_signal(PID \(process.identity.pid), SIGKILL)", errno: code)
                        .description)
                continue
            }
            outcomes[process.identity] =
                process.waitForExit(timeout: sequence.killTimeout)
                ? .killed : .failed("still running \(sequence.killTimeout.usec / 1000) ms after SIGKILL (uninterruptible sleep?)")
        }
        return outcomes
    }
}
