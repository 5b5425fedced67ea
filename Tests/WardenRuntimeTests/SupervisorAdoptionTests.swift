import CWardenShims
import Glibc
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

// Re-adoption after a Warden restart: the records in the state directory, verified by
// start time (and cgroup, when managed), never by PID alone.

func writeRecords(_ records: [ComponentRecord], in workspace: Workspace) {
    mkdir(workspace.root + "/state", 0o755)
    writeText(workspace.root + "/state/" + ComponentRecordsFile.fileName, ComponentRecordsFile.render(records))
}

func readRecords(_ stateDirectory: String) -> [ComponentRecord] {
    ComponentRecordsFile.parse(readText(stateDirectory + "/" + ComponentRecordsFile.fileName)).records
}

/// Live processes whose command line is exactly `argv`.
func processes(withCommandLine argv: [String]) -> [Int32] {
    let wanted = argv.joined(separator: "\0") + "\0"
    return ProcessTable.snapshot().values.filter { !$0.isZombie && readText("/proc/\($0.pid)/cmdline") == wanted }
        .map(\.pid).sorted()
}

@Suite("Re-adoption after a Warden restart")
struct SupervisorAdoptionTests {
    @Test("a verified record is taken over: same PID, no second copy, output not captured is said once")
    func recordTakenOver() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["/bin/sleep", seconds])
        let start = try #require(stray.startTime)
        let workspace = Workspace()
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(seconds)\nExecStartPost=/bin/sh -c 'touch \(workspace.path("post-ran"))'\n")
        writeRecords(
            [ComponentRecord(unit: "bot.service", process: ProcessIdentity(pid: stray.pid, startTimeTicks: start), cgroup: nil, invocationID: "0123456789abcdef0123456789abcdef")],
            in: workspace)
        let harness = try Harness(workspace)

        let status = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(status?.mainPID == stray.pid)
        #expect(status?.invocationID == "0123456789abcdef0123456789abcdef")
        #expect(processes(withCommandLine: ["/bin/sleep", seconds]) == [stray.pid])
        #expect(access(workspace.path("post-ran"), F_OK) != 0, "ExecStartPost= must not run for a takeover")
        #expect(harness.capture.lines.filter { $0.contains("re-adopted PID \(stray.pid)") && $0.contains("output is not captured") }.count == 1)
        #expect(readRecords(workspace.root + "/state").map(\.process) == [ProcessIdentity(pid: stray.pid, startTimeTicks: start)])

        // A graceful shutdown stops it and clears the records.
        #expect(harness.shutdown() == 0)
        #expect(eventually { stray.isGone() })
        #expect(access(workspace.root + "/state/" + ComponentRecordsFile.fileName, F_OK) != 0)
    }

    /// A SIGKILLed Warden leaves components that are no child of the next one: their end
    /// has no status the new Warden can read, and that must never read as success.
    @Test("an adopted process that dies is judged a failure: Restart=on-failure restarts it")
    func adoptedDeathIsAFailure() throws {
        let seconds = uniqueSleepSeconds()
        let workspace = Workspace()
        let pidFile = workspace.path("orphan.pid")
        let shell = try spawnProcess(SpawnRequest(
            executablePath: "/bin/sh", arguments: ["sh", "-c", "/bin/sleep \(seconds) </dev/null >/dev/null 2>&1 & echo $! >\(pidFile)"]))
        var code: Int32 = 0
        var status: Int32 = 0
        var reaped: pid_t = 0
        _ = warden_wait_pidfd(shell.pidfd, 0, &code, &status, &reaped)
        close(shell.pidfd)
        let pid = try #require(Int32(readText(pidFile).trimmingCharacters()))
        let start = try #require(ProcessControl.startTime(of: pid))
        let pidfd = try ProcessTable.openPidfd(pid)
        defer {
            try? ProcessControl.sendSignal(SIGKILL, toPidfd: pidfd)
            close(pidfd)
        }
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(seconds)\nRestart=on-failure\nRestartSec=0\n")
        writeRecords(
            [ComponentRecord(unit: "bot.service", process: ProcessIdentity(pid: pid, startTimeTicks: start), cgroup: nil, invocationID: "00112233445566778899aabbccddeeff")],
            in: workspace)
        let harness = try Harness(workspace)
        #expect(harness.wait("bot.service") { $0.subState == "running" && $0.mainPID == pid } != nil)

        try ProcessControl.sendSignal(SIGKILL, toPidfd: pidfd)
        let restarted = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil && $0.mainPID != pid }
        #expect(restarted != nil, "not restarted: \(String(describing: harness.status("bot.service")))")
        #expect(restarted?.restartCount == 1)
        #expect(restarted?.lastExit == .unknown)
        #expect(harness.capture.firstIndex("its status is unknown") != nil)
        #expect(harness.shutdown() == 0)
    }

    @Test("a Type=notify run adopted before it was ready is waited for again, not taken as ready")
    func adoptedBeforeReadyWaitsForReadiness() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["/bin/sleep", seconds])
        let start = try #require(stray.startTime)
        let workspace = Workspace()
        workspace.unit("bot.service", "[Service]\nType=notify\nExecStart=/bin/sleep \(seconds)\nTimeoutStartSec=2s\n")
        writeRecords(
            [ComponentRecord(unit: "bot.service", process: ProcessIdentity(pid: stray.pid, startTimeTicks: start), cgroup: nil, invocationID: "ffeeddccbbaa99887766554433221100", ready: false)],
            in: workspace)
        let harness = try Harness(workspace)
        let adopted = harness.wait("bot.service") { $0.mainPID == stray.pid }
        #expect(adopted?.isReady == false)
        #expect(adopted?.activeState == "activating", "\(String(describing: adopted))")
        #expect(harness.capture.firstIndex("had not reported ready to the previous Warden") != nil)
        // It never sends READY=1 (a plain sleep): the start times out as systemd's would.
        let timedOut = harness.wait("bot.service") { $0.result == .timeout }
        #expect(timedOut != nil, "\(String(describing: harness.status("bot.service")))")
        #expect(eventually { stray.isGone() })
        #expect(harness.shutdown() == 0)
    }

    /// A Warden killed between a spawn and its record leaves a process no record names: the
    /// next Warden knows it by the environment it gave it and kills it before starting the
    /// component, so exactly one copy runs.
    @Test("a process the killed Warden started but had not recorded is stopped, not doubled")
    func unrecordedLeftoverIsStopped() throws {
        let seconds = uniqueSleepSeconds()
        let workspace = Workspace()
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(seconds)\n")
        mkdir(workspace.root + "/state", 0o755)
        var request = SpawnRequest(executablePath: "/bin/sleep", arguments: ["/bin/sleep", seconds])
        request.environment = [
            "NOTIFY_SOCKET=" + NotifySocketAddress.forStateDirectory(workspace.root + "/state"), "WARDEN_UNIT=bot.service",
            "INVOCATION_ID=0badc0de0badc0de0badc0de0badc0de",
        ]
        let leftover = try spawnProcess(request)
        defer {
            try? ProcessControl.sendSignal(SIGKILL, toPidfd: leftover.pidfd)
            var code: Int32 = 0
            var status: Int32 = 0
            var reaped: pid_t = 0
            _ = warden_wait_pidfd(leftover.pidfd, 0, &code, &status, &reaped)
            close(leftover.pidfd)
        }
        let harness = try Harness(workspace, previousRunEndedUncleanly: true)
        let status = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(status?.mainPID != leftover.pid)
        #expect(eventually { processes(withCommandLine: ["/bin/sleep", seconds]).count == 1 })
        #expect(harness.capture.firstIndex("killed PID \(leftover.pid), started by the previous Warden but not recorded") != nil)
        #expect(harness.shutdown() == 0)
    }

    @Test("a record whose PID now names another process is dropped; that process is left alone")
    func reusedPIDNotAdopted() throws {
        let seconds = uniqueSleepSeconds()
        // The process now at the recorded PID: same program, other start time.
        let other = try Stray(["/bin/sleep", seconds])
        let actual = try #require(other.startTime)
        let workspace = Workspace()
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(uniqueSleepSeconds())\n")
        writeRecords(
            [ComponentRecord(unit: "bot.service", process: ProcessIdentity(pid: other.pid, startTimeTicks: actual &- 7), cgroup: nil, invocationID: "feedfacefeedfacefeedfacefeedface")],
            in: workspace)
        let harness = try Harness(workspace)

        let status = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(status?.mainPID != other.pid)
        #expect(status?.invocationID != "feedfacefeedfacefeedfacefeedface")
        #expect(harness.capture.firstIndex("not re-adopted", "PID \(other.pid) is another process now") != nil)
        #expect(harness.shutdown() == 0)
        #expect(!other.isGone(), "the process at the reused PID was touched")
    }

    @Test("a record of a gone process or a removed unit is dropped")
    func staleRecordsDropped() throws {
        let workspace = Workspace()
        let seconds = uniqueSleepSeconds()
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(seconds)\n")
        // A PID no process has: above the kernel's pid_max.
        writeRecords(
            [
                ComponentRecord(unit: "bot.service", process: ProcessIdentity(pid: 4_194_305, startTimeTicks: 1), cgroup: nil, invocationID: "aa"),
                ComponentRecord(unit: "gone.service", process: ProcessIdentity(pid: getpid(), startTimeTicks: 1), cgroup: nil, invocationID: "bb"),
            ],
            in: workspace)
        let harness = try Harness(workspace)
        _ = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(harness.capture.firstIndex("not re-adopted", "PID 4194305 is gone") != nil)
        #expect(harness.capture.firstIndex("not re-adopted", "gone.service is no longer configured") != nil)
        #expect(readRecords(workspace.root + "/state").map(\.unit) == ["bot.service"])
        #expect(harness.shutdown() == 0)
    }

    /// The real thing: `warden run` SIGKILLed and started again with the same state
    /// directory, 50 times. The component keeps its PID and never runs twice. `warden`
    /// runs as a separate process (a subreaper there), never this test process.
    @Test("warden SIGKILLed and restarted 50 times re-adopts its component every time")
    func killedAndRestarted() throws {
        guard let warden = BuiltBinary.warden else {
            print("skipped: warden is not built next to the test bundle")
            return
        }
        let workspace = Workspace()
        let seconds = uniqueSleepSeconds()
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(seconds)\n")
        _ = workspace.load()  // writes warden.conf
        let state = workspace.root + "/state"
        func launch(_ round: Int) throws -> (pid: pid_t, log: String) {
            let log = workspace.path("warden-\(round).log")
            let pid = try spawnLogged(
                [warden, "run", "--config", workspace.root + "/warden.conf", "--state-dir", state], stderrPath: log)
            return (pid, log)
        }
        var component: ProcessIdentity?
        var current = try launch(0)
        defer {
            killAndReap(current.pid)
            // The component outlives a SIGKILLed Warden: stop it if it is still the one
            // Warden started for this test.
            if let component, ProcessControl.startTime(of: component.pid) == component.startTimeTicks {
                kill(component.pid, SIGKILL)
            }
            for round in 0...50 { unlink(workspace.path("warden-\(round).log")) }
            unlink(state + "/" + ComponentRecordsFile.fileName)
            unlink(state + "/warden.lock")
        }
        #expect(eventually { readRecords(state).count == 1 }, "log: \(readText(current.log))")
        component = readRecords(state).first?.process
        let original = try #require(component)
        #expect(ProcessControl.startTime(of: original.pid) == original.startTimeTicks)

        var readopted = 0
        for round in 1...50 {
            kill(current.pid, SIGKILL)
            _ = waitExit(current.pid, within: 10)
            current = try launch(round)
            let log = current.log
            let adopted = eventually {
                readText(log).contains("re-adopted PID \(original.pid)") || readText(log).contains("not re-adopted")
            }
            guard adopted, readText(log).contains("re-adopted PID \(original.pid)") else {
                Issue.record("round \(round): not re-adopted; log:\n\(readText(log))")
                break
            }
            #expect(ProcessControl.startTime(of: original.pid) == original.startTimeTicks, "round \(round)")
            #expect(processes(withCommandLine: ["/bin/sleep", seconds]) == [original.pid], "round \(round): a second copy runs")
            readopted += 1
        }
        #expect(readopted == 50)

        // A graceful stop of the last Warden stops the component and clears the records.
        kill(current.pid, SIGTERM)
        let code = waitExit(current.pid, within: 60)
        #expect(code == 0, "log:\n\(readText(current.log))")
        #expect(eventually { ProcessControl.startTime(of: original.pid) != original.startTimeTicks || !isAlive(original.pid) })
        #expect(access(state + "/" + ComponentRecordsFile.fileName, F_OK) != 0)
        print("re-adoption: \(readopted) of 50 Warden restarts took the running component over")
    }

    /// The component writes to a pipe whose reader (the killed Warden) is gone. With
    /// systemd's IgnoreSIGPIPE=yes default the write fails with EPIPE instead of killing
    /// it, so the next Warden finds it alive and takes it over.
    @Test("a chatty component survives its Warden's SIGKILL and is re-adopted")
    func chattyComponentSurvives() throws {
        guard let warden = BuiltBinary.warden else {
            print("skipped: warden is not built next to the test bundle")
            return
        }
        let workspace = Workspace()
        workspace.unit("chatty.service", "[Service]\nExecStart=/bin/sh -c 'while :; do echo tick; sleep 0.02; done'\n")
        _ = workspace.load()  // writes warden.conf
        let state = workspace.root + "/state"
        let firstLog = workspace.path("first.log"), secondLog = workspace.path("second.log")
        let argv = [warden, "run", "--config", workspace.root + "/warden.conf", "--state-dir", state]
        let first = try spawnLogged(argv, stderrPath: firstLog)
        var second: pid_t?
        var component: ProcessIdentity?
        defer {
            killAndReap(first)
            if let second { killAndReap(second) }
            if let component, ProcessControl.startTime(of: component.pid) == component.startTimeTicks {
                kill(component.pid, SIGKILL)
            }
        }
        #expect(eventually { readRecords(state).count == 1 && readText(firstLog).contains("tick") }, "log: \(readText(firstLog))")
        component = readRecords(state).first?.process
        let original = try #require(component)
        kill(first, SIGKILL)
        _ = waitExit(first, within: 10)
        // Many writes into the dead pipe: each one would have been a SIGPIPE.
        usleep(300_000)
        #expect(ProcessControl.startTime(of: original.pid) == original.startTimeTicks, "the component died with its Warden")
        second = try spawnLogged(argv, stderrPath: secondLog)
        #expect(eventually { readText(secondLog).contains("re-adopted PID \(original.pid)") }, "log: \(readText(secondLog))")
        kill(second!, SIGTERM)
        #expect(waitExit(second!, within: 60) == 0, "log: \(readText(secondLog))")
        #expect(eventually { ProcessControl.startTime(of: original.pid) != original.startTimeTicks || !isAlive(original.pid) })
    }
}
