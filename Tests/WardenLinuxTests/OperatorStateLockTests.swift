import Glibc
import Testing
import WardenCore
@testable import WardenLinux

@Suite struct OperatorStateLockTests {
    @Test func aSecondHolderIsRefusedWithTheRunningPID() throws {
        let directory = OperatorFixture.temporaryDirectory() + "/state"
        let lock = try StateLock.acquire(stateDirectory: directory)
        #expect(try LocalFileSystem().readFile(directory + "/warden.lock") == "\(getpid())\n")
        #expect(StateLock.holder(stateDirectory: directory) == getpid())

        // flock belongs to the open file description: a second open in this very process conflicts.
        do {
            _ = try StateLock.acquire(stateDirectory: directory)
            Issue.record("a second acquire succeeded")
        } catch {
            #expect(error == .alreadyRunning(stateDirectory: directory, pid: getpid()))
            #expect(
                error.description
                    == "warden is already running with this state directory (PID \(getpid())): \(directory)/warden.lock is locked")
        }

        lock.release()
        #expect(StateLock.holder(stateDirectory: directory) == nil)
        // A stale file with a PID in it does not block the next holder, which learns the
        // previous one did not end cleanly; after a clean release the next one knows.
        let again = try StateLock.acquire(stateDirectory: directory)
        #expect(again.previousHolderEndedUncleanly)
        again.release(clean: true)
        let third = try StateLock.acquire(stateDirectory: directory)
        #expect(!third.previousHolderEndedUncleanly)
        third.release()
    }

    @Test(.enabled(if: access("/usr/bin/flock", X_OK) == 0, "/usr/bin/flock (util-linux) is not installed"))
    func aLockHeldByAnotherProcessNamesIt() throws {
        let directory = OperatorFixture.temporaryDirectory()
        let path = directory + "/warden.lock"
        // The shell locks through fd 9, writes its PID, then becomes sleep (same PID, fd 9 kept).
        var r = SpawnRequest(
            executablePath: "/bin/sh",
            arguments: ["sh", "-c", "exec 9>>'\(path)'; /usr/bin/flock -x 9; echo $$ > '\(path)'; exec sleep 60"])
        r.stdin = .null
        let holder = try spawnProcess(r)
        defer { TestProcess.kill(holder) }
        let deadline = monotonicMicroseconds() + 10_000_000
        while monotonicMicroseconds() < deadline, (try? LocalFileSystem().readFile(path)) != "\(holder.pid)\n" {
            usleep(5000)
        }
        #expect(StateLock.holder(stateDirectory: directory) == holder.pid)
        do {
            _ = try StateLock.acquire(stateDirectory: directory)
            Issue.record("acquired a lock another process holds")
        } catch {
            #expect(error == .alreadyRunning(stateDirectory: directory, pid: holder.pid))
        }

        // The holder dies however it dies: the kernel drops the lock with it.
        TestProcess.kill(holder)
        let lock = try StateLock.acquire(stateDirectory: directory)
        #expect(StateLock.holder(stateDirectory: directory) == getpid())
        lock.release()
    }

    @Test func procLocksParsing() {
        let text = """
            1: POSIX  ADVISORY  WRITE 77 00:19:1234 0 EOF
            2: FLOCK  ADVISORY  WRITE 4242 fd:01:131090 0 EOF
            2: -> FLOCK  ADVISORY  WRITE 5555 fd:01:131090 0 EOF
            3: FLOCK  ADVISORY  READ 6666 fd:01:131090 0 EOF
            4: FLOCK  ADVISORY  WRITE 7777 fd:01:999 0 EOF
            """
        #expect(StateLock.parseFlockHolders(text, major: 0xfd, minor: 1, inode: 131090) == [4242])
        #expect(StateLock.parseFlockHolders(text, major: 0, minor: 0x19, inode: 1234) == [])
    }
}
