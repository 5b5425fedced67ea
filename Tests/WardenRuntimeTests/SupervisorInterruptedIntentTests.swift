import Glibc
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

// What a Warden started after a SIGKILL does with the previous one's intents: an
// operator's stop finished or kept, a process of other settings replaced as a reload
// replaces it, and the records a stop writes before its first signal.
@Suite("Interrupted stops, restarts and replacements across a Warden restart")
struct SupervisorInterruptedIntentTests {
    static let peer = ControlPeer(pid: getpid(), userID: 0, groupIDs: [0])

    func request(_ harness: Harness, _ operation: ControlOperation, _ unit: String) -> ControlResponse {
        let supervisor = harness.supervisor
        return supervisor.loop.executeAndWait { () -> ControlResponse in
            guard let c = supervisor.lookUp(unit, includingRetired: false) else { return supervisor.unknown(unit, nil) }
            return supervisor.operatorRequest(operation, for: c, id: 1, peer: Self.peer)
        }
    }

    func records(_ workspace: Workspace) -> ComponentRecordsFile.Contents {
        ComponentRecordsFile.parse(readText(workspace.root + "/state/" + ComponentRecordsFile.fileName))
    }

    @Test("an operator's stop is kept: the next Warden leaves the component down until an operator starts it")
    func operatorStopKept() throws {
        let seconds = uniqueSleepSeconds()
        let workspace = Workspace()
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(seconds)\nRestart=always\n")
        workspace.unit("other.service", "[Service]\nExecStart=/bin/sleep \(uniqueSleepSeconds())\n")
        mkdir(workspace.root + "/state", 0o755)
        writeText(
            workspace.root + "/state/" + ComponentRecordsFile.fileName,
            ComponentRecordsFile.render([], stoppedByOperator: ["bot.service"]))
        let harness = try Harness(workspace)
        #expect(harness.wait("other.service") { $0.subState == "running" } != nil)
        usleep(200_000)
        #expect(harness.status("bot.service")?.activeState == "inactive")
        #expect(processes(withCommandLine: ["/bin/sleep", seconds]).isEmpty)
        #expect(harness.capture.firstIndex("stays stopped: an operator stopped it") != nil)
        #expect(records(workspace).stoppedByOperator == ["bot.service"])

        _ = request(harness, .start, "bot")
        #expect(harness.wait("bot.service") { $0.subState == "running" } != nil)
        #expect(eventually { records(workspace).stoppedByOperator.isEmpty })
        #expect(harness.shutdown() == 0)
    }

    @Test("warden stop records the stop before it signals: a running process's record says intent=stop")
    func stopRecordedBeforeSignals() throws {
        let seconds = uniqueSleepSeconds()
        let workspace = Workspace()
        workspace.unit(
            "bot.service", "[Service]\nExecStart=/bin/sh -c \"trap '' TERM; exec /bin/sleep \(seconds)\"\nTimeoutStopSec=3s\n")
        let harness = try Harness(workspace)
        let running = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        let pid = try #require(running?.mainPID)
        _ = request(harness, .stop, "bot")
        // SIGTERM is ignored: the stop waits, and the records already say so.
        let contents = records(workspace)
        #expect(contents.records.map(\.process.pid) == [pid])
        #expect(contents.records.first?.intent == .stop)
        #expect(contents.records.first?.settings != nil)
        #expect(contents.stoppedByOperator == ["bot.service"])
        #expect(harness.wait("bot.service", within: 10) { $0.activeState != "deactivating" } != nil)
        #expect(records(workspace).records.isEmpty)
        #expect(records(workspace).stoppedByOperator == ["bot.service"])
        #expect(harness.shutdown() == 0)
    }

    /// A SIGTERM the previous Warden sent must not read as a crash: the stop is finished,
    /// and `Restart=always` does not bring the component back.
    @Test("a process recorded as being stopped by an operator is taken over and stopped, not restarted")
    func interruptedStopFinished() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["/bin/sleep", seconds])
        let start = try #require(stray.startTime)
        let workspace = Workspace()
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(seconds)\nRestart=always\nRestartSec=0\n")
        writeRecords(
            [
                ComponentRecord(
                    unit: "bot.service", process: ProcessIdentity(pid: stray.pid, startTimeTicks: start), cgroup: nil,
                    invocationID: "0123456789abcdef0123456789abcdef", intent: .stop)
            ], in: workspace)
        let harness = try Harness(workspace)
        #expect(eventually { stray.isGone() })
        let stopped = harness.wait("bot.service") { $0.activeState == "inactive" }
        #expect(stopped?.result == .success)
        usleep(300_000)
        #expect(harness.status("bot.service")?.activeState == "inactive")
        #expect(processes(withCommandLine: ["/bin/sleep", seconds]).isEmpty)
        #expect(harness.capture.firstIndex("finishing the stop") != nil)
        #expect(records(workspace).stoppedByOperator == ["bot.service"])
        #expect(harness.shutdown() == 0)
    }

    /// The records say `exec-stop=begun` before `ExecStop=` runs (the command reads them
    /// itself), and a Warden finishing such a stop does not run `ExecStop=` again.
    @Test("ExecStop= is recorded before it runs, and an interrupted stop that had begun it does not run it twice")
    func interruptedStopDoesNotRerunExecStop() throws {
        let seconds = uniqueSleepSeconds()
        // Each Warden in a workspace of its own: a harness keeps its notify socket's name.
        func workspace() -> (Workspace, seen: String) {
            let workspace = Workspace()
            let seen = workspace.root + "/exec-stop-saw"
            let records = workspace.root + "/state/" + ComponentRecordsFile.fileName
            workspace.unit(
                "bot.service",
                "[Service]\nExecStart=/bin/sleep \(seconds)\nExecStop=/bin/sh -c 'cat \(records) >> \(seen)'\nRestart=always\n")
            return (workspace, seen)
        }
        let (plain, plainSeen) = workspace()
        let first = try Harness(plain)
        #expect(first.wait("bot.service") { $0.subState == "running" } != nil)
        _ = request(first, .stop, "bot")
        #expect(first.wait("bot.service", within: 10) { $0.activeState == "inactive" } != nil)
        #expect(readText(plainSeen).contains("bot.service pid=") && readText(plainSeen).contains(" intent=stop exec-stop=begun"))
        #expect(first.shutdown() == 0)

        // The same stop, as a Warden SIGKILLed while ExecStop= ran leaves it.
        let (begun, begunSeen) = workspace()
        let stray = try Stray(["/bin/sleep", seconds])
        let start = try #require(stray.startTime)
        let previous = ComponentRecord(
            unit: "bot.service", process: ProcessIdentity(pid: stray.pid, startTimeTicks: start), cgroup: nil,
            invocationID: "0123456789abcdef0123456789abcdef", intent: .stop, stopCommandsBegun: true)
        writeRecords([previous], in: begun)
        let second = try Harness(begun)
        #expect(eventually { stray.isGone() })
        #expect(second.wait("bot.service") { $0.activeState == "inactive" }?.result == .success)
        #expect(second.capture.firstIndex("the previous Warden had started ExecStop= for PID \(stray.pid)") != nil)
        #expect(access(begunSeen, F_OK) != 0, "ExecStop= ran again: \(readText(begunSeen))")
        #expect(second.shutdown() == 0)

        // Without the mark, the interrupted stop runs ExecStop= (it had not begun).
        let (unmarked, unmarkedSeen) = workspace()
        let again = try Stray(["/bin/sleep", seconds])
        let againStart = try #require(again.startTime)
        var record = previous
        record.process = ProcessIdentity(pid: again.pid, startTimeTicks: againStart)
        record.stopCommandsBegun = false
        writeRecords([record], in: unmarked)
        let third = try Harness(unmarked)
        #expect(eventually { again.isGone() })
        #expect(third.wait("bot.service") { $0.activeState == "inactive" } != nil)
        #expect(eventually { readText(unmarkedSeen).contains("exec-stop=begun") })
        #expect(third.shutdown() == 0)
    }

    @Test("a process started from other settings is replaced as a reload replaces a changed unit, and said")
    func changedSettingsReplaced() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["/bin/sleep", seconds])
        let start = try #require(stray.startTime)
        let workspace = Workspace()
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(seconds)\nEnvironment=GENERATION=2\n")
        let older = UnitFingerprint(recorded: "00000000000000000000000000000000")!
        writeRecords(
            [
                ComponentRecord(
                    unit: "bot.service", process: ProcessIdentity(pid: stray.pid, startTimeTicks: start), cgroup: nil,
                    invocationID: "0123456789abcdef0123456789abcdef", settings: older)
            ], in: workspace)
        let harness = try Harness(workspace)
        #expect(eventually { stray.isGone() })
        let replaced = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil && $0.mainPID != stray.pid }
        #expect(replaced != nil)
        #expect(harness.capture.firstIndex("the unit's settings changed since PID \(stray.pid) was started") != nil)
        #expect(eventually { processes(withCommandLine: ["/bin/sleep", seconds]).count == 1 })
        let pid = try #require(replaced?.mainPID)
        #expect(readText("/proc/\(pid)/environ").split(separator: "\0").contains("GENERATION=2"))
        #expect(eventually { records(workspace).records.first?.settings.map { $0 != older } == true })
        #expect(harness.shutdown() == 0)
    }
}
