import CWardenShims
import Glibc
import WardenCore
@testable import WardenLinux

/// Helpers shared by the real-process tests.
enum TestProcess {
    /// Blocks until the process exits and returns how (reaped through its pidfd).
    static func wait(_ process: SpawnedProcess) -> WardenCore.ExitStatus? {
        var code: Int32 = 0
        var status: Int32 = 0
        var pid: pid_t = 0
        defer { close(process.pidfd) }
        guard warden_wait_pidfd(process.pidfd, 0, &code, &status, &pid) == 0 else { return nil }
        return WardenCore.ExitStatus(waitCode: code, status: status)
    }

    /// Kills and reaps a process started by the test.
    static func kill(_ process: SpawnedProcess) {
        _ = warden_pidfd_send_signal(process.pidfd, SIGKILL)
        _ = wait(process)
    }

    /// Contents of a small file (a /proc entry), or nil.
    static func read(_ path: String) -> String? {
        try? LocalFileSystem().readFile(path)
    }

    /// The value of `Key:` in /proc/PID/status.
    static func statusField(_ pid: Int32, _ key: String) -> String? {
        guard let text = read("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return line.dropFirst(key.count + 1).trimmingCharacters()
        }
        return nil
    }

    /// The descriptors a spawned `sleep` holds once it sleeps. Right after the exec the
    /// dynamic loader still has a library open (fd 3), so the list is read only when the
    /// program has reached its nanosleep (/proc/PID/syscall: 230 clock_nanosleep, 35
    /// nanosleep), within 10 s; a descriptor that leaked through the spawn is still there.
    static func descriptorsOnceSleeping(_ pid: Int32) -> [String]? {
        for _ in 0..<1000 {
            let call = read("/proc/\(pid)/syscall")?.split(separator: " ").first
            if call == "230" || call == "35" { break }
            usleep(10_000)
        }
        return LocalFileSystem().listDirectory("/proc/\(pid)/fd")
    }

    /// A pipe whose both ends are close-on-exec.
    static func pipe() -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        precondition(Glibc.pipe(&fds) == 0)
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return (fds[0], fds[1])
    }

    /// Everything readable from fd until EOF, then closes it.
    static func drain(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        close(fd)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Runs a shell command with stdout captured; returns exit status and output.
    static func run(_ request: SpawnRequest) throws -> (WardenCore.ExitStatus?, String) {
        let (r, w) = pipe()
        var request = request
        request.stdout = .fd(w)
        let process: SpawnedProcess
        do {
            process = try spawnProcess(request)
        } catch {
            close(r)
            close(w)
            throw error
        }
        close(w)
        let output = drain(r)
        return (wait(process), output)
    }

    static func shell(_ script: String) -> SpawnRequest {
        SpawnRequest(executablePath: "/bin/sh", arguments: ["sh", "-c", script])
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
