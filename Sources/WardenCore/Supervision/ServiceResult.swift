// How a run of a component ended, and whether it restarts, exactly as systemd decides it
// (src/core/service.c: is_clean_exit, service_shall_restart; systemd.service(5) Restart= table).

/// systemd's service result: the value of `$SERVICE_RESULT` and of `Result=` in `show`.
/// The first non-success cause of a run wins; later ones do not overwrite it.
public enum ServiceResult: String, CaseIterable, Hashable, Sendable {
    case success
    /// Setting up the process failed (fork, cgroup, spawn).
    case resources
    /// The service broke the protocol, e.g. `Type=notify` exited cleanly before `READY=1`.
    case protocolViolation = "protocol"
    /// A start, stop or reload operation timed out.
    case timeout
    /// A process exited with an unclean exit code.
    case exitCode = "exit-code"
    /// A process was killed by an unclean signal.
    case signal
    /// A process was killed by a signal and dumped core.
    case coreDump = "core-dump"
    /// The watchdog expired, `WATCHDOG=trigger` was sent, or (Warden) a health check failed.
    case watchdog
    /// `StartLimitBurst=` starts within `StartLimitIntervalSec=`.
    case startLimitHit = "start-limit-hit"
    /// The kernel OOM killer killed a process of the component.
    case oomKill = "oom-kill"
}

/// Whether a process is judged as a long-running daemon or as a command that runs to
/// completion. systemd counts SIGHUP/SIGINT/SIGTERM/SIGPIPE as clean only for daemons:
/// the main process of every type but `oneshot`.
public enum ExitJudgement: Hashable, Sendable {
    /// A daemon's main process: exit 0, the four clean signals and `SuccessExitStatus=`.
    case daemon
    /// A `Type=oneshot` main process: exit 0 and `SuccessExitStatus=`.
    case command
    /// `ExecStartPre=`/`ExecStartPost=`/`ExecStop=`/`ExecStopPost=`: exit 0 only
    /// (systemd does not apply `SuccessExitStatus=` to these).
    case controlCommand
}

/// Why a run ended, as the state machine sees it.
public enum TerminationCause: Hashable, Sendable {
    case exited(ExitStatus)
    case timeout
    case watchdog
    case startLimitHit
    case oomKill
    case resources
}

extension ServiceResult {
    /// systemd's `is_clean_exit()`.
    public static func isClean(
        _ status: ExitStatus, judgedAs judgement: ExitJudgement, successExitStatus: ExitStatusSet
    ) -> Bool {
        let extra = judgement == .controlCommand ? ExitStatusSet() : successExitStatus
        switch status {
        case .exited(let code):
            return code == 0 || extra.codes.contains(code)
        case .killed(let signal, _):
            return (judgement == .daemon && LinuxSignal.cleanForDaemons.contains(signal))
                || extra.signals.contains(signal)
        case .unknown:
            return false
        }
    }

    /// The result of one process end: `success`, `exit-code`, `signal` or `core-dump`.
    public init(
        _ status: ExitStatus, judgedAs judgement: ExitJudgement, successExitStatus: ExitStatusSet
    ) {
        if ServiceResult.isClean(status, judgedAs: judgement, successExitStatus: successExitStatus) {
            self = .success
            return
        }
        switch status {
        case .exited: self = .exitCode
        case .killed(_, let coreDumped): self = coreDumped ? .coreDump : .signal
        // A process that ended without a status anyone could read is judged as the crash it
        // most likely was: every Restart= that restarts after a crash restarts it, and
        // nothing reads it as a clean exit.
        case .unknown: self = .signal
        }
    }

    /// The result of any termination cause; process ends are judged as `judgement`.
    public init(
        _ cause: TerminationCause, judgedAs judgement: ExitJudgement, successExitStatus: ExitStatusSet
    ) {
        switch cause {
        case .exited(let status): self.init(status, judgedAs: judgement, successExitStatus: successExitStatus)
        case .timeout: self = .timeout
        case .watchdog: self = .watchdog
        case .startLimitHit: self = .startLimitHit
        case .oomKill: self = .oomKill
        case .resources: self = .resources
        }
    }
}

extension RestartPolicy {
    /// The judgement for this component's main process.
    public var mainProcessJudgement: ExitJudgement { type == .oneshot ? .command : .daemon }

    /// systemd's `service_shall_restart()` for a run that was not stopped by request:
    /// `RestartPreventExitStatus=` wins, then `RestartForceExitStatus=`, then the
    /// `Restart=` table. Both exit-status lists look at the main process's end, when there
    /// was one.
    public func shallRestart(result: ServiceResult, mainExit: ExitStatus?) -> Bool {
        if let mainExit {
            if restartPreventExitStatus.contains(mainExit) { return false }
            if restartForceExitStatus.contains(mainExit) { return true }
        }
        switch restart {
        case .no: return false
        case .always: return true
        case .onSuccess: return result == .success
        case .onFailure: return result != .success
        case .onAbnormal: return result != .success && result != .exitCode
        case .onWatchdog: return result == .watchdog
        case .onAbort: return result == .signal || result == .coreDump
        }
    }
}

/// The variables systemd gives `ExecStop=` and `ExecStopPost=` commands: `$SERVICE_RESULT`,
/// and `$EXIT_CODE`/`$EXIT_STATUS` when the main process has exited.
public struct ServiceResultEnvironment: Hashable, Sendable {
    public var result: ServiceResult
    public var mainExit: ExitStatus?

    public init(result: ServiceResult, mainExit: ExitStatus?) {
        self.result = result
        self.mainExit = mainExit
    }

    /// `exited`, `killed` or `dumped`, as systemd's `sigchld_code_to_string()`.
    public static func exitCode(_ status: ExitStatus) -> String {
        switch status {
        case .exited: "exited"
        case .killed(_, let coreDumped): coreDumped ? "dumped" : "killed"
        case .unknown: "unknown"
        }
    }

    /// The number for an exit, the signal name without `SIG` for a signal (`TERM`), as
    /// systemd's `signal_to_string()`. `signalName` may return either spelling
    /// (`SIGTERM` or `TERM`): a leading `SIG` is removed here.
    public static func exitStatus(_ status: ExitStatus, signalName: (Int32) -> String) -> String {
        switch status {
        case .exited(let code):
            return String(code)
        case .killed(let signal, _):
            let name = signalName(signal)
            return name.hasPrefix("SIG") ? String(name.dropFirst(3)) : name
        case .unknown:
            return "unknown"
        }
    }

    /// The environment additions for the command.
    public func variables(signalName: (Int32) -> String) -> [String: String] {
        var env = ["SERVICE_RESULT": result.rawValue]
        if let mainExit {
            env["EXIT_CODE"] = ServiceResultEnvironment.exitCode(mainExit)
            env["EXIT_STATUS"] = ServiceResultEnvironment.exitStatus(mainExit, signalName: signalName)
        }
        return env
    }
}
