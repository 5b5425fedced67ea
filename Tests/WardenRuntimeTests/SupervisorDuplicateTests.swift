import CWardenShims
import Glibc
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

// `Duplicates=` before each start, with real stray processes this test starts. Every
// stray runs `/bin/sleep` with arguments no other process has, so the scan can match
// nothing else; everything started here is killed and reaped at the end.

/// A process the test starts as a "copy started by hand", killed and reaped at the end.
final class Stray: @unchecked Sendable {
    let process: SpawnedProcess
    var pid: Int32 { process.pid }

    /// Returns once the new program's command line can be read: the spawn returns when
    /// the exec has begun (the close-on-exec pipe closes), but the kernel sets the new
    /// command line a little later, and a scan in between sees an empty one.
    init(_ arguments: [String], executable: String = "/bin/sleep") throws {
        process = try spawnProcess(SpawnRequest(executablePath: executable, arguments: arguments))
        let pid = process.pid
        _ = eventually(within: 10) { !readText("/proc/\(pid)/cmdline").isEmpty }
    }

    /// `sleep SECONDS` with SIGTERM ignored (the shell's ignore survives the exec).
    static func ignoringTerm(_ seconds: String) throws -> Stray {
        try Stray(["sh", "-c", "trap '' TERM; exec /bin/sleep \(seconds)"], executable: "/bin/sh")
    }

    var startTime: UInt64? { ProcessControl.startTime(of: pid) }

    /// Reaps it if it exited; true once it is gone (reaped by us or by a supervisor).
    /// Through its pidfd, never by pid: once reaped, the pid may soon name another test's
    /// child (pid_max is 32768 here), which a reap by pid would steal.
    func isGone() -> Bool {
        if reaped { return true }
        var code: Int32 = 0
        var status: Int32 = 0
        var found: pid_t = 0
        if warden_wait_pidfd(process.pidfd, WNOHANG, &code, &status, &found) == 0, found == pid { reaped = true }
        return reaped || !isAlive(pid)
    }

    private var reaped = false

    deinit {
        try? ProcessControl.sendSignal(SIGKILL, toPidfd: process.pidfd)
        for _ in 0..<500 {
            if isGone() { break }
            usleep(2_000)
        }
        close(process.pidfd)
    }
}

/// Seconds no other test (and no other process) sleeps for.
func uniqueSleepSeconds() -> String {
    "\(70_000 + Int.random(in: 0..<900_000)).\(Int.random(in: 1..<10))"
}

func sleepUnit(_ seconds: String, duplicates: String, extra: String = "") -> String {
    """
    [Service]
    ExecStart=/bin/sleep \(seconds)
    \(extra)
    [X-Warden]
    Duplicates=\(duplicates)
    """
}

extension Harness {
    func snapshot(_ name: String) -> ComponentSnapshot? {
        supervisor.controlSnapshots().first { $0.name == name }
    }

    /// An operator's `warden start NAME`, as the control socket does it.
    func operatorStart(_ name: String) {
        let supervisor = self.supervisor
        supervisor.loop.executeAndWait {
            guard let c = supervisor.components[name] else { return }
            c.stack.operatorStart()
            supervisor.post(c, .startRequested)
        }
    }
}

@Suite("Duplicates= before each start")
struct SupervisorDuplicateTests {
    @Test("refuse: the component is blocked with the duplicate's PID and stays down until an operator start")
    func refuse() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["sleep", seconds])
        let workspace = Workspace()
        workspace.unit("bot.service", sleepUnit(seconds, duplicates: "refuse"))
        let harness = try Harness(workspace)

        let status = harness.wait("bot.service") { $0.subState == "blocked" }
        #expect(status?.mainPID == nil)
        let snapshot = try #require(harness.snapshot("bot.service"))
        let reason = try #require(snapshot.blockedReason)
        #expect(reason.hasPrefix("blocked: duplicate PID \(stray.pid) (sleep \(seconds))"), "\(reason)")
        #expect(StatusTable.render([snapshot]).contains("blocked: duplicate PID \(stray.pid)"))
        #expect(harness.capture.lines.filter { $0.contains("blocked: duplicate PID \(stray.pid)") }.count == 1)
        #expect(!stray.isGone(), "refuse must not touch the duplicate")

        // An operator start while the copy still runs is checked again: still blocked.
        harness.operatorStart("bot.service")
        _ = harness.wait("bot.service") { $0.subState == "blocked" }
        #expect(harness.status("bot.service")?.mainPID == nil)

        // Once the copy is gone, the operator's start starts it.
        try ProcessControl.sendSignal(SIGKILL, toPidfd: stray.process.pidfd)
        #expect(eventually { stray.isGone() })
        harness.operatorStart("bot.service")
        let running = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(running?.mainPID != stray.pid)
        #expect(harness.shutdown() == 0)
    }

    @Test("refuse applies to automatic restarts too")
    func refuseOnAutomaticRestart() throws {
        let seconds = uniqueSleepSeconds()
        let workspace = Workspace()
        workspace.unit("bot.service", sleepUnit(seconds, duplicates: "refuse", extra: "Restart=always\nRestartSec=100ms"))
        let harness = try Harness(workspace)
        let first = try #require(harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil })
        let stray = try Stray(["sleep", seconds])
        Glibc.kill(try #require(first.mainPID), SIGKILL)
        _ = harness.wait("bot.service") { $0.subState == "blocked" }
        #expect(harness.snapshot("bot.service")?.blockedReason?.contains("duplicate PID \(stray.pid)") == true)
        #expect(!stray.isGone())
        #expect(harness.shutdown() == 0)
    }

    @Test("kill: the duplicate is terminated through its pidfd, then the component starts")
    func kill() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["sleep", seconds])
        let workspace = Workspace()
        workspace.unit("bot.service", sleepUnit(seconds, duplicates: "kill"))
        let harness = try Harness(workspace)

        let running = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(running?.mainPID != stray.pid)
        #expect(eventually { stray.isGone() })
        #expect(harness.capture.firstIndex("duplicates stopped", "PID \(stray.pid) terminated (SIGTERM)") != nil)
        #expect(harness.shutdown() == 0)
    }

    @Test("kill: a duplicate that ignores SIGTERM gets SIGKILL after TimeoutStopSec=")
    func killEscalates() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray.ignoringTerm(seconds)
        // Wait for the exec: until then the shell's command line does not match.
        #expect(eventually { readText("/proc/\(stray.pid)/cmdline").hasPrefix("/bin/sleep") })
        let workspace = Workspace()
        workspace.unit("bot.service", sleepUnit(seconds, duplicates: "kill", extra: "TimeoutStopSec=300ms"))
        let harness = try Harness(workspace)

        _ = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil && $0.mainPID != stray.pid }
        #expect(eventually { stray.isGone() })
        #expect(harness.capture.firstIndex("duplicates stopped", "PID \(stray.pid) killed") != nil)
        #expect(harness.shutdown() == 0)
    }

    @Test("adopt: the running copy becomes the main process")
    func adopt() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["sleep", seconds])
        let workspace = Workspace()
        workspace.unit("bot.service", sleepUnit(seconds, duplicates: "adopt", extra: "ExecStartPre=/bin/sh -c 'touch \(workspace.path("pre-ran"))'"))
        let harness = try Harness(workspace)

        let status = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID == stray.pid }
        #expect(status?.isReady == true)
        #expect(access(workspace.path("pre-ran"), F_OK) != 0, "ExecStartPre= must not run for a takeover")
        #expect(harness.capture.firstIndex("took over duplicate PID \(stray.pid)") != nil)
        // Only one copy runs: Warden started none of its own.
        let copies = ProcessTable.snapshot().values.filter {
            !$0.isZombie
                && (readText("/proc/\($0.pid)/cmdline") == "sleep\0\(seconds)\0"
                    || readText("/proc/\($0.pid)/cmdline") == "/bin/sleep\0\(seconds)\0")
        }
        #expect(copies.map(\.pid) == [stray.pid])
        // A stop stops the adopted process.
        #expect(harness.shutdown() == 0)
        #expect(eventually { stray.isGone() })
    }

    @Test("warn: logged, and both run")
    func warn() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["sleep", seconds])
        let workspace = Workspace()
        workspace.unit("bot.service", sleepUnit(seconds, duplicates: "warn"))
        let harness = try Harness(workspace)

        let status = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(status?.mainPID != stray.pid)
        #expect(harness.capture.firstIndex("duplicate PID \(stray.pid)", "starting anyway (Duplicates=warn)") != nil)
        #expect(!stray.isGone())
        #expect(harness.shutdown() == 0)
        #expect(!stray.isGone(), "warn never touches the duplicate")
    }

    @Test("unset Duplicates= means warn (docs/configuration.md)")
    func defaultIsWarn() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["sleep", seconds])
        let workspace = Workspace()
        workspace.unit("bot.service", "[Service]\nExecStart=/bin/sleep \(seconds)\n")
        let harness = try Harness(workspace)
        _ = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(harness.capture.firstIndex("duplicate PID \(stray.pid)", "Duplicates=warn") != nil)
        // The figure the operator pays per start (printed, not asserted).
        if let line = harness.capture.lines.first(where: { $0.contains("duplicate scan for bot.service") }) {
            print(line)
        }
        #expect(harness.shutdown() == 0)
    }

    @Test("unset Duplicates=: the components started together are checked in one scan, each copy warned of")
    func implicitWarningsShareOneScan() throws {
        let first = uniqueSleepSeconds()
        let second = uniqueSleepSeconds()
        let strays = [try Stray(["sleep", first]), try Stray(["sleep", second])]
        let workspace = Workspace()
        workspace.unit("alpha.service", "[Service]\nExecStart=/bin/sleep \(first)\n")
        workspace.unit("beta.service", "[Service]\nExecStart=/bin/sleep \(second)\n")
        let harness = try Harness(workspace)
        for name in ["alpha.service", "beta.service"] {
            _ = harness.wait(name) { $0.subState == "running" && $0.mainPID != nil }
        }
        for stray in strays {
            #expect(harness.capture.firstIndex("duplicate PID \(stray.pid)", "Duplicates=warn") != nil)
        }
        let scans = harness.capture.lines.filter { $0.contains("duplicate scan for") }
        #expect(scans.count == 1, "one scan for the pass that started both: \(scans)")
        #expect(scans.first.map { $0.contains("alpha.service") && $0.contains("beta.service") } == true)
        #expect(harness.shutdown() == 0)
    }

    /// The PID-reuse race of the loop's kill: between the scan and the kill, the copy's
    /// PID may name another process. The kill opens a pidfd first and checks the start
    /// time through it; a mismatch (what a recycled PID looks like) is never signalled.
    @Test("kill never hits a process that took over the duplicate's PID")
    func pidReuse() throws {
        let seconds = uniqueSleepSeconds()
        let workspace = Workspace()
        workspace.unit("bot.service", sleepUnit(seconds, duplicates: "kill"))
        let harness = try Harness(workspace)
        _ = harness.wait("bot.service") { $0.subState == "running" }
        let supervisor = harness.supervisor
        supervisor.loop.executeAndWait {
            guard let c = supervisor.components["bot.service"] else { return }
            c.stack.explicitStop = true
            supervisor.post(c, .stopRequested)
        }
        _ = harness.wait("bot.service") { $0.subState == "dead" }

        // The newcomer holds the PID the scan saw, but started at another time.
        let newcomer = try Stray(["sleep", uniqueSleepSeconds()])
        let actual = try #require(newcomer.startTime)
        let scanned = ProcessIdentity(pid: newcomer.pid, startTimeTicks: actual &- 1)
        let newcomerPID = newcomer.pid
        supervisor.loop.executeAndWait {
            guard let c = supervisor.components["bot.service"] else { return }
            c.stack.startAttempted = true
            supervisor.beginDuplicateKill(
                [scanned], holding: .startRequested, description: "duplicate PID \(newcomerPID) (test)", for: c)
        }
        _ = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(!newcomer.isGone(), "the process that took over the PID was signalled")
        #expect(harness.capture.firstIndex("PID \(newcomer.pid) not signalled: the PID now names another process") != nil)
        #expect(harness.shutdown() == 0)
        #expect(!newcomer.isGone())
    }
}
