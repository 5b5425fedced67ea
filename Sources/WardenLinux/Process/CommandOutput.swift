import CWardenShims
import Glibc
import WardenCore

/// A short helper command's stdout (systemctl): spawned, read to end of file within a
/// deadline, reaped through its pidfd.
enum CommandOutput {
    struct CommandFailure: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    static func run(_ path: String, _ arguments: [String], timeout: TimeSpan) -> Result<(ExitStatus, String), CommandFailure> {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return .failure(CommandFailure("pipe: \(errnoDescription(errno))")) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var request = SpawnRequest(executablePath: path, arguments: arguments)
        request.environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
        request.stdout = .fd(fds[1])
        request.stderr = .null
        request.stdin = .null
        let process: SpawnedProcess
        do {
            process = try spawnProcess(request)
        } catch {
            close(fds[0])
            close(fds[1])
            return .failure(CommandFailure("\(path): \(error)"))
        }
        close(fds[1])
        defer { close(fds[0]) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        let deadline = monotonicMicroseconds() + timeout.usec
        var timedOut = false
        while true {
            let now = monotonicMicroseconds()
            if now >= deadline {
                timedOut = true
                break
            }
            let ready = SystemCall.poll(fds[0], events: Int16(POLLIN), untilMonotonicMicroseconds: deadline)
            if ready <= 0 {
                timedOut = ready == 0
                break
            }
            let n = SystemCall.retryingInterrupts { buffer.withUnsafeMutableBytes { Glibc.read(fds[0], $0.baseAddress, $0.count) } }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        if timedOut { _ = warden_pidfd_send_signal(process.pidfd, SIGKILL) }
        let status: ExitStatus
        switch process.waitForExit() {
        case .success(let ended): status = ended
        case .failure(let error): return .failure(CommandFailure("waitid(\(path)): \(errnoDescription(error.errno))"))
        }
        if timedOut { return .failure(CommandFailure("\(path) did not finish within \(timeout.usec / 1_000_000) s")) }
        return .success((status, String(decoding: bytes, as: UTF8.self)))
    }
}
