import CWardenShims
import Glibc

/// A child that exists but waits at a gate before it does anything at all (no
/// `setsid`, no exec, no fork): the time to put it where it belongs, e.g. into a
/// systemd scope with `StartTransientUnit(PIDs=[pid])`, so that not even its first
/// instruction runs elsewhere. Then call exactly one of `open()` and `cancel()`.
///
/// Signals other than SIGKILL stay blocked while it waits.
public struct GatedProcess: Hashable, Sendable {
    public let pid: Int32
    /// Owned by the gated process until `open()` hands it over in the `SpawnedProcess`.
    public let pidfd: Int32
    let gateFD: Int32
    let reportFD: Int32
    let request: SpawnRequest.Summary

    /// Lets the child run on; returns once it has exec'd. A failure of any later step
    /// throws as `spawnProcess` does, with the child already reaped.
    public func open() throws(SpawnError) -> SpawnedProcess {
        var result = rawResult
        guard warden_spawn_open_gate(&result) == 0 else {
            throw SpawnError(step: spawnStepName(result, request), errno: result.error)
        }
        return SpawnedProcess(pid: result.pid, pidfd: result.pidfd)
    }

    /// Kills the waiting child (SIGKILL), reaps it and closes every descriptor: it never
    /// ran anything.
    public func cancel() {
        var result = rawResult
        warden_spawn_cancel(&result)
    }

    private var rawResult: warden_spawn_result {
        var result = warden_spawn_result()
        result.pid = pid
        result.pidfd = pidfd
        result.gate_fd = gateFD
        result.report_fd = reportFD
        return result
    }
}

/// Starts a process as `spawnProcess` does, but returns while the child waits at a gate
/// before its first step (see `GatedProcess`). Always the fork-style clone (a
/// `CLONE_VFORK` child that waits would block the caller); `cgroupDirectoryFD` still
/// applies.
public func spawnGatedProcess(_ request: SpawnRequest) throws(SpawnError) -> GatedProcess {
    let result = try startSpawn(request, forkStyle: true, gated: true)
    return GatedProcess(
        pid: result.pid, pidfd: result.pidfd, gateFD: result.gate_fd, reportFD: result.report_fd,
        request: SpawnRequest.Summary(request))
}
