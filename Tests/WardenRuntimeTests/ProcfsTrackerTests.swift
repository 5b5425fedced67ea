import Glibc
import Testing
@testable import WardenCore
@testable import WardenLinux
@testable import WardenRuntime

/// The /proc tracker's one search for many runs: each run gets its own processes and
/// none of another's, whether looked at alone or together, and a batch of signals
/// reaches exactly what each request names.
@Suite struct ProcfsTrackerTests {
    /// A run's root: a shell that starts a sleeper and waits for it.
    func startRun(_ unit: String) throws -> (TrackedRun, SpawnedProcess) {
        let root = try spawnProcess(
            SpawnRequest(
                executablePath: "/bin/sh", arguments: ["sh", "-c", "/bin/sleep 300 & wait"],
                environment: ["INVOCATION_ID=\(unit)-id"], workingDirectory: "/"))
        return (TrackedRun(unit: unit, invocationID: "\(unit)-id", rootPIDs: [root.pid]), root)
    }

    /// Polls until the run's root has its sleeper.
    func waitForChild(of pid: Int32) {
        for _ in 0..<200 {
            if let children = ProcessTable.children(of: pid), !children.isEmpty { return }
            usleep(10_000)
        }
    }

    /// Kills and reaps a root (and its sleeper) the test did not reap.
    func end(_ process: SpawnedProcess, sleeper: Int32?) {
        if let sleeper { kill(sleeper, SIGKILL) }
        kill(process.pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(process.pid, &status, 0)
        close(process.pidfd)
    }

    @Test func oneSearchGivesEachRunItsOwnProcesses() throws {
        let (a, rootA) = try startRun("a.service")
        let (b, rootB) = try startRun("b.service")
        var reapedA = false
        var sleepers: [Int32?] = [nil, nil]
        defer {
            if !reapedA { end(rootA, sleeper: sleepers[0]) } else { close(rootA.pidfd) }
            end(rootB, sleeper: sleepers[1])
        }
        waitForChild(of: rootA.pid)
        waitForChild(of: rootB.pid)
        let tracker = ProcfsProcessTracker()
        tracker.watchedRoots = { [rootA.pid, rootB.pid] }

        let together = tracker.liveProcesses(of: [a, b])
        let alone = [tracker.liveProcesses(of: a), tracker.liveProcesses(of: b)]
        #expect(together == alone)
        #expect(together.map(\.count) == [2, 2], "\(together)")
        #expect(together[0].contains(rootA.pid) && together[1].contains(rootB.pid))
        #expect(Set(together[0]).isDisjoint(with: together[1]))

        // TERM to a's processes but its root, and none to b: a's sleeper ends, b's runs on.
        sleepers = [together[0].first { $0 != rootA.pid }, together[1].first { $0 != rootB.pid }]
        let sleeperA = try #require(sleepers[0])
        let sleeperB = try #require(sleepers[1])
        let counts = tracker.signalAll([
            SignalRequest(SIGTERM, of: a, sparing: [rootA.pid]), SignalRequest(0, of: b, sparing: []),
        ])
        #expect(counts == [1, 2])
        var status: Int32 = 0
        reapedA = waitpid(rootA.pid, &status, 0) == rootA.pid
        #expect(reapedA, "a's shell ends when its sleeper does")
        #expect(kill(sleeperA, 0) != 0)
        #expect(kill(sleeperB, 0) == 0)
        #expect(tracker.liveProcesses(of: [a, b]).map(\.count) == [0, 2])
    }
}
