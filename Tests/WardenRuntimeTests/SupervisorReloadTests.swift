import Glibc
import Synchronization
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

@Suite("Reload")
struct SupervisorReloadTests {
    @Test("reload restarts changed units, stops removed ones, starts new ones, leaves the rest alone")
    func reloadSemantics() throws {
        let workspace = Workspace()
        workspace.unit("same.service", "[Service]\nExecStart=/bin/sleep 60\n")
        workspace.unit("changed.service", "[Service]\nEnvironment=V=1\nExecStart=/bin/sleep 60\n")
        workspace.unit("removed.service", "[Service]\nExecStart=/bin/sleep 60\n")
        let harness = try Harness(workspace)
        let same = harness.wait("same.service") { $0.isReady && $0.mainPID != nil }
        let changed = harness.wait("changed.service") { $0.isReady && $0.mainPID != nil }
        let removed = harness.wait("removed.service") { $0.isReady && $0.mainPID != nil }

        // Only layout and comments differ for same.service: not a change.
        workspace.unit("same.service", "# moved down\n\n[Service]\n\nExecStart=/bin/sleep 60\n")
        workspace.unit("changed.service", "[Service]\nEnvironment=V=2\nExecStart=/bin/sleep 60\n")
        workspace.removeUnit("removed.service")
        workspace.unit("added.service", "[Service]\nExecStart=/bin/sleep 60\n")
        harness.supervisor.requestReload()

        let added = harness.wait("added.service") { $0.isReady && $0.mainPID != nil }
        let restarted = harness.wait("changed.service") { $0.isReady && $0.mainPID != nil && $0.mainPID != changed?.mainPID }
        #expect(added != nil && restarted != nil)
        #expect(eventually { harness.status("removed.service") == nil })
        if let pid = removed?.mainPID { #expect(eventually { !isAlive(pid) }) }
        if let pid = changed?.mainPID { #expect(eventually { !isAlive(pid) }) }
        #expect(harness.status("same.service")?.mainPID == same?.mainPID)
        #expect(harness.status("same.service")?.restartCount == 0)

        // An invalid configuration changes nothing.
        let before = harness.supervisor.status()
        workspace.unit("broken.service", "[Service]\nExecStart=/bin/sleep 60\nBogusKey=1\n")
        workspace.unit("same.service", "[Service]\nExecStart=/bin/sleep 61\n")
        harness.supervisor.requestReload()
        #expect(eventually { harness.capture.firstIndex("reload refused") != nil })
        #expect(harness.capture.firstIndex("BogusKey") != nil)
        #expect(harness.supervisor.status() == before)
        #expect(harness.shutdown() == 0)
    }
}

@Suite("Watchdog")
struct SupervisorWatchdogTests {
    @Test("a Type=notify program that stops its WATCHDOG=1 pings is restarted")
    func watchdogRestart() throws {
        guard BuiltBinary.demo != nil else {
            print("skipped: warden-demo is not built next to the test bundle")
            return
        }
        let workspace = Workspace()
        workspace.unit("executor.service", """
            [Service]
            Type=notify
            ExecStart=warden-demo executor --warmup-ms 100 --stall-after 0.3
            WatchdogSec=1s
            Restart=on-failure
            RestartSec=100ms
            TimeoutStopSec=2s
            LimitCORE=0
            """)
        let harness = try Harness(workspace)
        let restarted = harness.wait("executor.service", within: 30) { $0.restartCount >= 1 }
        #expect(restarted != nil)
        #expect(harness.capture.firstIndex("[executor]", "watchdog") != nil)
        #expect(harness.capture.firstIndex("[executor]", "restarting") != nil)
        #expect(harness.shutdown() == 0)
    }
}

@Suite("warden run as PID 1")
struct RunAsPID1Tests {
    @Test("under unshare --pid --fork, warden reaps orphaned zombies and exits 0 on SIGTERM")
    func pid1() throws {
        guard getuid() == 0, access("/usr/bin/unshare", X_OK) == 0 else {
            print("skipped: needs root and /usr/bin/unshare for a PID namespace")
            return
        }
        guard let warden = BuiltBinary.warden else {
            print("skipped: warden is not built next to the test bundle")
            return
        }
        let workspace = Workspace()
        // Every 50 ms a short-lived shell leaves an orphaned `sleep` behind, which the
        // namespace's PID 1 must reap once it exits.
        workspace.unit("zombies.service", """
            [Service]
            ExecStart=/bin/sh -c 'while :; do /bin/sh -c "/bin/sleep 0.01 &"; /bin/sleep 0.05; done'
            """)
        _ = workspace.load()  // writes warden.conf
        let logPath = workspace.path("warden.log")
        let child = try spawnLogged(
            ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", warden, "run",
             "--config", workspace.root + "/warden.conf", "--state-dir", workspace.root + "/state"],
            stderrPath: logPath)
        defer { killAndReap(child) }

        // The warden process is unshare's child; in the namespace it is PID 1.
        var wardenPID: Int32?
        #expect(eventually(within: 20) {
            wardenPID = childrenOf(child).first
            return wardenPID != nil && readText(logPath).contains("[zombies]: started")
        }, "log: \(readText(logPath))")
        guard let wardenPID else { return }
        #expect(readText(logPath).contains("as PID 1"))
        usleep(1_500_000)
        // About 30 orphans were made by now; without reaping they would all be zombies.
        let zombies = zombieChildren(of: wardenPID)
        #expect(zombies <= 3, "\(zombies) zombie children of PID 1")

        kill(wardenPID, SIGTERM)
        let status = waitExit(child, within: 60)
        #expect(status == 0, "exit status \(String(describing: status)); log:\n\(readText(logPath))")
        #expect(readText(logPath).contains("exit status 0"))
    }
}

// MARK: - Process helpers for the PID 1 test

func spawnLogged(_ argv: [String], stderrPath: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var emptyMask = sigset_t()
    sigemptyset(&emptyMask)
    var defaulted = sigset_t()
    sigfillset(&defaulted)
    posix_spawnattr_setsigmask(&attributes, &emptyMask)
    posix_spawnattr_setsigdefault(&attributes, &defaulted)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    let env: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), nil]
    defer { env.forEach { free($0) } }
    var pid = pid_t()
    let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, env)
    guard rc == 0 else { throw HarnessError(description: "posix_spawn \(argv[0]): errno \(rc)") }
    // Even a child that already exited is a zombie with its start time until reaped.
    if let start = ProcessControl.startTime(of: pid) { spawnedStartTimes.withLock { $0[pid] = start } }
    return pid
}

/// Start times of the processes `spawnLogged` started and no helper here has reaped yet.
/// pid_max is 32768 on the build machine and the suite spawns thousands of processes, so
/// a pid these helpers reaped earlier can name another test's child a moment later (a
/// `defer` that kills "the" Warden after the test already reaped it); `waitExit` and
/// `killAndReap` act only on a pid that still names the process `spawnLogged` started.
private let spawnedStartTimes = Mutex<[pid_t: UInt64]>([:])

private func stillOurs(_ pid: pid_t) -> Bool {
    guard let start = spawnedStartTimes.withLock({ $0[pid] }) else { return false }
    return ProcessControl.startTime(of: pid) == start
}

func childrenOf(_ parent: pid_t) -> [Int32] {
    ProcessTable.snapshot().values.filter { $0.parentPID == parent }.map(\.pid).sorted()
}

func zombieChildren(of parent: pid_t) -> Int {
    ProcessTable.snapshot().values.filter { $0.parentPID == parent && $0.isZombie }.count
}

/// Waits for `pid` (a child of this process) to exit; its exit code, or nil on timeout
/// or a signal.
func waitExit(_ pid: pid_t, within seconds: Double) -> Int32? {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        guard stillOurs(pid) else { return nil }
        if let status = ProcessTable.reapIfExited(pid) {
            spawnedStartTimes.withLock { _ = $0.removeValue(forKey: pid) }
            if case .exited(let code) = status { return code }
            return nil
        }
        usleep(20_000)
    }
    return nil
}

/// Kills a child started by the test (and, through its PID namespace, everything in it).
func killAndReap(_ pid: pid_t) {
    guard stillOurs(pid) else { return }
    kill(pid, SIGKILL)
    _ = waitExit(pid, within: 10)
}

/// A prober whose verdict the test sets; it answers on a later loop turn, as real ones do.
final class ScriptedProber: HealthProber, @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var failing = true
    private(set) var probes = 0

    init() { pthread_mutex_init(&mutex, nil) }

    func setFailing(_ value: Bool) {
        pthread_mutex_lock(&mutex)
        failing = value
        pthread_mutex_unlock(&mutex)
    }

    func probe(_ check: HealthCheck, unit: String, loop: EventLoop, completion: @escaping (String?) -> Void)
        -> () -> Void
    {
        pthread_mutex_lock(&mutex)
        probes += 1
        let fail = failing
        pthread_mutex_unlock(&mutex)
        var cancelled = false
        loop.addTimer(after: .milliseconds(1)) {
            if !cancelled { completion(fail ? "scripted failure" : nil) }
        }
        return { cancelled = true }
    }
}

@Suite("Health checks")
struct SupervisorHealthTests {
    @Test("HealthCheckFailures= consecutive failed probes restart the component (result watchdog)")
    func healthRestart() throws {
        let workspace = Workspace()
        workspace.unit("probed.service", """
            [Service]
            ExecStart=/bin/sleep 60
            Restart=on-failure
            RestartSec=50ms
            [X-Warden]
            HealthCheck=tcp:127.0.0.1:9
            HealthCheckIntervalSec=100ms
            HealthCheckFailures=2
            """)
        let prober = ScriptedProber()
        let harness = try Harness(workspace, healthProber: prober)
        let first = harness.wait("probed.service") { $0.isReady && $0.mainPID != nil }
        let restarted = harness.wait("probed.service") { $0.restartCount >= 1 && $0.isReady }
        #expect(restarted?.mainPID != first?.mainPID)
        #expect(harness.capture.firstIndex("[probed]", "health check failed (2/2)") != nil)
        #expect(harness.capture.firstIndex("[probed]", "watchdog; restarting") != nil)
        // Healthy from now on: no further restart.
        prober.setFailing(false)
        let settled = harness.status("probed.service")?.restartCount ?? 0
        usleep(600_000)
        #expect((harness.status("probed.service")?.restartCount ?? 0) <= settled + 1)
        #expect(harness.shutdown() == 0)
    }
}

@Suite("Critical components")
struct SupervisorCriticalTests {
    @Test("a Priority=critical component failed for good ends Warden with status 1",
          arguments: ["Restart=no", "Restart=on-failure\nRestartSec=10ms\nStartLimitBurst=2"])
    func criticalFailure(restart: String) throws {
        let workspace = Workspace()
        workspace.unit("vital.service", """
            [Service]
            ExecStart=/bin/sh -c 'exit 4'
            \(restart)
            [X-Warden]
            Priority=critical
            """)
        workspace.unit("other.service", "[Service]\nExecStart=/bin/sleep 60\n")
        let harness = try Harness(workspace)
        // No shutdown is requested: the failure itself ends the supervisor.
        let code = harness.supervisor.waitForExit(timeoutSeconds: 60)
        #expect(code == 1, "log:\n\(harness.capture.lines.joined(separator: "\n"))")
        #expect(harness.capture.firstIndex("[vital]", "critical component failed for good") != nil)
        #expect(harness.status("other.service")?.activeState == "inactive")
    }
}
