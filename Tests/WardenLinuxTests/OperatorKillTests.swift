import CWardenShims
import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// The kill path with real processes this test starts. Nothing else is ever signalled:
/// refusals happen before any syscall, and identities are those of our own children.
@Suite struct OperatorKillTests {
    func identity(_ process: SpawnedProcess) throws -> ProcessIdentity {
        ProcessIdentity(pid: process.pid, startTimeTicks: try #require(ProcessControl.startTime(of: process.pid)))
    }

    /// The PID-reuse race without waiting for a PID wrap: a pidfd opened on a process
    /// keeps naming *that* process; once it has exited and been reaped the pidfd signals
    /// nothing (ESRCH), and a PID whose start time differs from the scan's is never opened.
    @Test func aRecycledPIDIsNeverHit() throws {
        let first = try OperatorFixture.sleep(OperatorFixture.uniqueSeconds())
        let firstIdentity = try identity(first)
        let held: VerifiedProcess
        switch VerifiedProcess.open(firstIdentity) {
        case .success(let process): held = process
        case .failure(let why):
            Issue.record("open failed: \(why)")
            TestProcess.kill(first)
            return
        }
        // The scanned process exits and is reaped: its PID is free for reuse from here on.
        TestProcess.kill(first)
        #expect(held.signal(SIGTERM) == ESRCH)
        #expect(held.signal(SIGKILL) == ESRCH)
        #expect(held.waitForExit(timeout: .zero))

        // Opening by the old identity finds nothing…
        switch VerifiedProcess.open(firstIdentity) {
        case .failure(.gone): break
        case .failure(.identityChanged):
            // The PID was taken by a newcomer already: also refused, as it must be.
            break
        case let other: Issue.record("expected gone, got \(other)")
        }

        // …and a live process at a PID whose start time is not the scanned one (what a
        // recycled PID looks like) is refused and left running.
        let newcomer = try OperatorFixture.sleep(OperatorFixture.uniqueSeconds())
        defer { TestProcess.kill(newcomer) }
        let actual = try identity(newcomer)
        let stale = ProcessIdentity(pid: newcomer.pid, startTimeTicks: actual.startTimeTicks &- 1)
        switch VerifiedProcess.open(stale) {
        case .failure(.identityChanged(let found)): #expect(found == actual.startTimeTicks)
        case let other: Issue.record("expected identityChanged, got \(other)")
        }
        let outcomes = DuplicateKiller(sequence: DuplicateKillSequence(termTimeout: .milliseconds(200), killTimeout: .seconds(2)))
            .kill([stale])
        #expect(outcomes[stale] == .identityChanged(foundStartTimeTicks: actual.startTimeTicks))
        #expect(OperatorFixture.isRunning(newcomer.pid))
    }

    @Test func termEndsAnOrdinaryDuplicate() throws {
        let process = try OperatorFixture.sleep(OperatorFixture.uniqueSeconds())
        let target = try identity(process)
        let outcomes = DuplicateKiller(sequence: DuplicateKillSequence(termTimeout: .seconds(10), killTimeout: .seconds(5)))
            .kill([target])
        #expect(outcomes[target] == .terminated)
        #expect(TestProcess.wait(process) == .killed(signal: SIGTERM, coreDumped: false))
    }

    @Test func killFollowsWhenTermIsIgnored() throws {
        // An ignored disposition survives exec, so the sleep ignores SIGTERM.
        var r = SpawnRequest(executablePath: "/bin/sh", arguments: ["sh", "-c", "trap '' TERM; exec sleep \(OperatorFixture.uniqueSeconds())"])
        r.stdin = .null
        let process = try spawnProcess(r)
        // Wait until the shell has exec'd sleep (the trap is set by then).
        let deadline = monotonicMicroseconds() + 10_000_000
        while monotonicMicroseconds() < deadline,
            (try? LocalFileSystem().readFile("/proc/\(process.pid)/comm")) != "sleep\n"
        {
            usleep(5000)
        }
        let target = try identity(process)
        let outcomes = DuplicateKiller(sequence: DuplicateKillSequence(termTimeout: .milliseconds(300), killTimeout: .seconds(5)))
            .kill([target])
        #expect(outcomes[target] == .killed)
        #expect(TestProcess.wait(process) == .killed(signal: SIGKILL, coreDumped: false))
    }

    @Test func initWardenAndSelfAreRefusedBeforeAnySyscall() throws {
        let guarded = try OperatorFixture.sleep(OperatorFixture.uniqueSeconds())
        defer { TestProcess.kill(guarded) }
        let guardedIdentity = try identity(guarded)
        let me = ProcessIdentity(pid: getpid(), startTimeTicks: try #require(ProcessControl.startTime(of: getpid())))
        let initProcess = ProcessIdentity(pid: 1, startTimeTicks: 1)
        let outcomes = DuplicateKiller(protectedPIDs: [guarded.pid]).kill([initProcess, me, guardedIdentity])
        #expect(outcomes[initProcess] == .refused("PID 1 is the init process and is never signalled"))
        #expect(outcomes[me] == .refused("PID \(getpid()) is Warden's own process"))
        #expect(outcomes[guardedIdentity] == .refused("PID \(guarded.pid) is Warden's own process"))
        #expect(OperatorFixture.isRunning(guarded.pid))
    }

    @Test func severalDuplicatesAreTerminatedTogether() throws {
        let seconds = OperatorFixture.uniqueSeconds()
        let processes = try (0..<3).map { _ in try OperatorFixture.sleep(seconds) }
        let targets = try processes.map(identity)
        let outcomes = DuplicateKiller().kill(targets)
        #expect(targets.allSatisfy { outcomes[$0] == .terminated })
        for process in processes { _ = TestProcess.wait(process) }
    }
}
