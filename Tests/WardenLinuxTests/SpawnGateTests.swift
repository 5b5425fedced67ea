import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// The spawn gate of `CgroupBackend=systemd`: a gated child exists but has done
/// nothing (not even `setsid`, let alone exec) until the gate opens.
@Suite struct SpawnGateTests {
    /// A marker file the child's program creates: absent while the child waits.
    private func markerPath(_ tag: String) -> String { "/tmp/warden-gate-\(getpid())-\(tag)" }

    @Test func childWaitsAtTheGateThenRunsItsProgram() throws {
        let marker = markerPath("open")
        unlink(marker)
        defer { unlink(marker) }
        let gated = try spawnGatedProcess(TestProcess.shell("touch \(marker); exit 3"))
        // Still a copy of this process: same executable, same session, no marker.
        usleep(50_000)
        #expect(access(marker, F_OK) != 0)
        var own = [CChar](repeating: 0, count: 4096)
        var child = [CChar](repeating: 0, count: 4096)
        let ownLength = readlink("/proc/self/exe", &own, own.count - 1)
        let childLength = readlink("/proc/\(gated.pid)/exe", &child, child.count - 1)
        #expect(ownLength > 0 && ownLength == childLength && own.prefix(ownLength) == child.prefix(childLength))
        #expect(getsid(gated.pid) == getsid(0), "setsid ran before the gate opened")
        let process = try gated.open()
        #expect(process.pid == gated.pid)
        #expect(TestProcess.wait(process) == .exited(code: 3))
        #expect(access(marker, F_OK) == 0)
    }

    @Test func cancelledChildNeverRunsAndIsReaped() throws {
        let marker = markerPath("cancel")
        unlink(marker)
        defer { unlink(marker) }
        let gated = try spawnGatedProcess(TestProcess.shell("touch \(marker)"))
        let pid = gated.pid
        gated.cancel()
        #expect(access(marker, F_OK) != 0)
        // Reaped: no zombie left under this pid (it may only have been reused).
        let state = TestProcess.statusField(pid, "State")
        #expect(state == nil || !state!.hasPrefix("Z"), "pid \(pid): \(state ?? "")")
        // Closed. Tests run in parallel, so the number may already name another test's
        // descriptor: only a pidfd for this child, or for a reaped one, means it stayed open.
        var target = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/self/fd/\(gated.pidfd)", &target, target.count - 1)
        if length > 0, String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) == "anon_inode:[pidfd]" {
            let info = TestProcess.read("/proc/self/fdinfo/\(gated.pidfd)") ?? ""
            #expect(!info.contains("Pid:\t\(pid)\n") && !info.contains("Pid:\t-1\n"), "the pidfd is still open: \(info)")
        }
    }

    @Test func failureAfterTheGateIsReportedWithItsStep() throws {
        var request = TestProcess.shell("true")
        request.workingDirectory = "/nonexistent-warden-gate"
        let gated = try spawnGatedProcess(request)
        #expect {
            try gated.open()
        } throws: { error in
            (error as? SpawnError)?.step == "chdir /nonexistent-warden-gate" && (error as? SpawnError)?.errno == ENOENT
        }
    }
}
