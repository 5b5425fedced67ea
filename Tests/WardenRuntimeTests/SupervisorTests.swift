import Glibc
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

@Suite("Supervisor with real processes")
struct SupervisorRestartTests {
    struct RestartCase: Sendable, CustomStringConvertible {
        var restart: String
        var exitCode: Int
        var activeState: String
        var result: ServiceResult
        var restartCount: Int
        var description: String { "Restart=\(restart), exit \(exitCode)" }
    }

    // StartLimitBurst=3: the explicit start and two automatic restarts are admitted, the
    // third restart hits the limit.
    static let restartCases: [RestartCase] = [
        RestartCase(restart: "on-failure", exitCode: 3, activeState: "failed", result: .startLimitHit, restartCount: 2),
        RestartCase(restart: "always", exitCode: 0, activeState: "failed", result: .startLimitHit, restartCount: 2),
        RestartCase(restart: "no", exitCode: 3, activeState: "failed", result: .exitCode, restartCount: 0),
        RestartCase(restart: "on-failure", exitCode: 0, activeState: "inactive", result: .success, restartCount: 0),
    ]

    @Test("Restart= with a crashing command", arguments: restartCases)
    func restartPolicies(_ c: RestartCase) throws {
        let workspace = Workspace()
        workspace.unit("crash.service", """
            [Unit]
            StartLimitBurst=3
            StartLimitIntervalSec=60s
            [Service]
            ExecStart=/bin/sh -c 'echo run >> \(workspace.path("runs")); exit \(c.exitCode)'
            Restart=\(c.restart)
            RestartSec=10ms
            """)
        let harness = try Harness(workspace)
        let final = harness.wait("crash.service") { $0.activeState == c.activeState && $0.result == c.result }
        #expect(final?.restartCount == c.restartCount)
        let runs = readText(workspace.path("runs")).split(separator: "\n").count
        #expect(runs == c.restartCount + 1)
        #expect(harness.shutdown() == 0)
    }

    @Test("200 crashes with RestartSec=0 and no start limit leave no descriptor behind")
    func crashLoopDescriptors() throws {
        let workspace = Workspace()
        workspace.unit("loop.service", """
            [Unit]
            StartLimitBurst=0
            [Service]
            ExecStart=/bin/sh -c 'echo crash; exit 1'
            Restart=always
            RestartSec=0
            """)
        let harness = try Harness(workspace, start: false)
        // Let the loop thread and the notify socket settle before counting.
        _ = harness.supervisor.status()
        let before = openDescriptorCount()
        harness.supervisor.start()
        _ = harness.wait("loop.service", within: 120) { $0.restartCount >= 200 }
        #expect(harness.shutdown() == 0)
        _ = eventually(within: 10) { openDescriptorCount() <= before }
        let after = openDescriptorCount()
        // Other suites of the same test process may hold a few descriptors meanwhile;
        // a leak here would be one or more per crash, hundreds in all.
        #expect(after <= before + 8, "descriptors before \(before), after \(after)")
        print("crash loop: descriptors before \(before), after \(after)")
    }
}

@Suite("Readiness and ordering")
struct SupervisorReadinessTests {
    @Test("Type= readiness: a unit ordered After= starts only once the first is ready",
          arguments: ["simple", "exec", "notify", "oneshot"])
    func readiness(type: String) throws {
        let workspace = Workspace()
        let marker = workspace.path("first-ready")
        let command: String
        // simple and exec are ready at spawn and exec: their first command may not have
        // run yet, so only the log order is checked for them.
        let waitsForMarker = type == "notify" || type == "oneshot"
        switch type {
        case "notify":
            command = "/bin/sh -c 'sleep 0.3; touch \(marker); systemd-notify --ready; exec sleep 60'"
        case "oneshot":
            command = "/bin/sh -c 'sleep 0.3; touch \(marker)'"
        default:
            command = "/bin/sh -c 'touch \(marker); exec sleep 60'"
        }
        workspace.unit("first.service", """
            [Service]
            Type=\(type)
            ExecStart=\(command)
            """)
        workspace.unit("second.service", """
            [Unit]
            After=first.service
            [Service]
            ExecStart=/bin/sh -c '\(waitsForMarker ? "test -e \(marker) && " : "")echo ok > \(workspace.path("second")); exec sleep 60'
            """)
        let harness = try Harness(workspace)
        _ = harness.wait("second.service") { $0.isReady }
        #expect(eventually { readText(workspace.path("second")) == "ok\n" })
        let ready = harness.capture.firstIndex("[first]", "ready")
        let secondStart = harness.capture.firstIndex("[second]", "starting")
        #expect(ready != nil && secondStart != nil && ready! < secondStart!)
        #expect(harness.shutdown() == 0)
    }

    @Test("After= a Type=notify program (warden-demo executor) waits for its READY=1")
    func orderingAfterNotifyDemo() throws {
        guard BuiltBinary.demo != nil else {
            print("skipped: warden-demo is not built next to the test bundle")
            return
        }
        let workspace = Workspace()
        workspace.unit("executor.service", """
            [Service]
            Type=notify
            ExecStart=warden-demo executor --warmup-ms 400
            """)
        workspace.unit("dashboard.service", """
            [Unit]
            After=executor.service
            Wants=executor.service
            [Service]
            ExecStart=/bin/sleep 60
            """)
        let harness = try Harness(workspace)
        _ = harness.wait("dashboard.service") { $0.isReady }
        let ready = harness.capture.firstIndex("[executor]", "ready")
        let dashboard = harness.capture.firstIndex("[dashboard]", "starting")
        #expect(ready != nil && dashboard != nil && ready! < dashboard!)
        #expect(harness.status("executor.service")?.activeState == "active")
        #expect(harness.shutdown() == 0)
    }

    @Test("a failing ExecStartPre= fails the start; ExecStart= never runs; Requires= dependents are not started")
    func startPreFailure() throws {
        let workspace = Workspace()
        workspace.unit("pre.service", """
            [Service]
            ExecStartPre=/bin/false
            ExecStart=/bin/sh -c 'touch \(workspace.path("main-ran")); exec sleep 60'
            """)
        workspace.unit("dependent.service", """
            [Unit]
            Requires=pre.service
            After=pre.service
            [Service]
            ExecStart=/bin/sleep 60
            """)
        let harness = try Harness(workspace)
        let pre = harness.wait("pre.service") { $0.activeState == "failed" }
        #expect(pre?.result == .exitCode)
        let dependent = harness.wait("dependent.service") { $0.dependencyFailure != nil }
        #expect(dependent?.dependencyFailure == "pre.service")
        #expect(dependent?.activeState == "inactive")
        #expect(access(workspace.path("main-ran"), F_OK) != 0)
        #expect(harness.shutdown() == 0)
    }

    @Test("a Type=oneshot unit that finished cleanly satisfies Requires= and After= of its dependents")
    func oneshotSatisfiesRequires() throws {
        let workspace = Workspace()
        workspace.unit("setup.service", "[Service]\nType=oneshot\nExecStart=/bin/true\n")
        workspace.unit("app.service", """
            [Unit]
            Requires=setup.service
            After=setup.service
            [Service]
            ExecStart=/bin/sleep 60
            """)
        let harness = try Harness(workspace)
        let app = harness.wait("app.service") { $0.isReady }
        #expect(app?.dependencyFailure == nil)
        #expect(harness.status("setup.service")?.activeState == "inactive")
        #expect(harness.status("setup.service")?.result == .success)
        #expect(harness.shutdown() == 0)
    }

    @Test("shutdown stops in reverse order: the dependent before what it is ordered after")
    func reverseShutdown() throws {
        let workspace = Workspace()
        workspace.unit("base.service", "[Service]\nExecStart=/bin/sleep 60\n")
        workspace.unit("top.service", "[Unit]\nAfter=base.service\n[Service]\nExecStart=/bin/sleep 60\n")
        let harness = try Harness(workspace)
        _ = harness.wait("top.service") { $0.isReady }
        #expect(harness.shutdown() == 0)
        let topStopped = harness.capture.firstIndex("[top]", "stopped")
        let baseKilled = harness.capture.firstIndex("[base]", "main process")
        #expect(topStopped != nil && baseKilled != nil && topStopped! < baseKilled!)
    }
}

@Suite("Stopping")
struct SupervisorStopTests {
    @Test("ExecStop= then ExecStopPost= run in order with SERVICE_RESULT, EXIT_CODE, EXIT_STATUS, MAINPID")
    func stopHooks() throws {
        let workspace = Workspace()
        let log = workspace.path("hooks")
        workspace.unit("hooked.service", """
            [Service]
            ExecStart=/bin/sleep 60
            ExecStop=/bin/sh -c 'echo "stop result=$SERVICE_RESULT mainpid=$MAINPID" >> \(log); kill $MAINPID'
            ExecStopPost=/bin/sh -c 'echo "post1 result=$SERVICE_RESULT code=$EXIT_CODE status=$EXIT_STATUS" >> \(log)'
            ExecStopPost=/bin/sh -c 'echo post2 >> \(log)'
            """)
        let harness = try Harness(workspace)
        let running = harness.wait("hooked.service") { $0.isReady && $0.mainPID != nil }
        #expect(harness.shutdown() == 0)
        let lines = readText(log).split(separator: "\n").map(String.init)
        #expect(lines == [
            "stop result=success mainpid=\(running?.mainPID ?? -1)",
            "post1 result=success code=killed status=TERM",
            "post2",
        ])
    }

    @Test("a process that ignores SIGTERM gets SIGKILL after TimeoutStopSec=")
    func killEscalation() throws {
        let workspace = Workspace()
        let log = workspace.path("post")
        workspace.unit("stubborn.service", """
            [Service]
            ExecStart=/bin/sh -c 'trap "" TERM; touch \(workspace.path("trapped")); while :; do sleep 0.05; done'
            TimeoutStopSec=1s
            ExecStopPost=/bin/sh -c 'echo "$SERVICE_RESULT $EXIT_CODE $EXIT_STATUS" > \(log)'
            """)
        let harness = try Harness(workspace)
        let running = harness.wait("stubborn.service") { $0.isReady && $0.mainPID != nil }
        #expect(eventually { access(workspace.path("trapped"), F_OK) == 0 })
        #expect(harness.shutdown() == 0)
        #expect(readText(log) == "timeout killed KILL\n")
        if let pid = running?.mainPID { #expect(!isAlive(pid)) }
    }

    @Test("a component that double-forks and calls setsid() is stopped completely")
    func doubleFork() throws {
        // Run as its own process: `warden run` is a child subreaper there, which the test
        // process must not become (see Harness).
        guard let warden = BuiltBinary.warden else {
            print("skipped: warden is not built next to the test bundle")
            return
        }
        let workspace = Workspace()
        let pidFile = workspace.path("daemon.pid")
        workspace.unit("forker.service", """
            [Service]
            ExecStart=/bin/sh -c '(setsid /bin/sh -c "echo \\\\$\\\\$ > \(pidFile); exec sleep 300" &); exec sleep 300'
            """)
        _ = workspace.load()  // writes warden.conf
        let logPath = workspace.path("warden.log")
        let child = try spawnLogged(
            [warden, "run", "--config", workspace.root + "/warden.conf", "--state-dir", workspace.root + "/state"],
            stderrPath: logPath)
        defer { killAndReap(child) }
        #expect(eventually(within: 20) { Int32(readText(pidFile).trimmingCharacters()) != nil }, "log: \(readText(logPath))")
        guard let daemon = Int32(readText(pidFile).trimmingCharacters()) else { return }
        #expect(isAlive(daemon))
        kill(child, SIGTERM)
        let status = waitExit(child, within: 60)
        #expect(status == 0, "exit status \(String(describing: status)); log:\n\(readText(logPath))")
        #expect(!isAlive(daemon), "the double-forked daemon \(daemon) survived")
        // Reaped by warden too, not left as a zombie.
        #expect(eventually(within: 5) { access("/proc/\(daemon)", F_OK) != 0 })
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.last, c == "\n" || c == " " { s = s.dropLast() }
        while let c = s.first, c == "\n" || c == " " { s = s.dropFirst() }
        return String(s)
    }
}

@Suite struct NotifySocketReachTests {
    /// A daemon that drops to its own user before READY=1 must reach the notify socket
    /// even when the state directory is private (mkdtemp makes the workspace 0700).
    @Test("a Type=notify unit with User=nobody becomes ready under a 0700 state directory")
    func unprivilegedNotifyUnderPrivateStateDirectory() throws {
        guard getuid() == 0, getpwnam("nobody") != nil else {
            print("skipped: needs root and the user nobody")
            return
        }
        let workspace = Workspace()
        chmod(workspace.root, 0o700)
        // The main process itself sends READY=1 and lives on: systemd-notify would send it
        // from a short-lived child, which may be gone before Warden can tell whose it is.
        let notifier = [
            "import os, socket, time",
            "path = os.environ['NOTIFY_SOCKET']",
            "path = '\\\\0' + path[1:] if path.startswith('@') else path",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "s.sendto(b'READY=1', path)",
            "time.sleep(60)",
        ].joined(separator: "; ")
        workspace.unit("broker.service", """
            [Service]
            Type=notify
            User=nobody
            TimeoutStartSec=20s
            ExecStart=/usr/bin/python3 -c "\(notifier)"
            """)
        let harness = try Harness(workspace)
        #expect(harness.wait("broker.service") { $0.isReady } != nil)
        #expect(harness.status("broker.service")?.activeState == "active")
        #expect(harness.shutdown() == 0)
    }
}

@Suite("Limits the kernel does not hold")
struct SupervisorNotEnforcedTests {
    /// Without a usable cgroup, `status` shows what the unit asks for and says, per
    /// setting, that nothing holds it; a component with no limit says nothing.
    @Test func statusNamesTheComponentsSettingsThatHoldNothing() throws {
        let workspace = Workspace()
        workspace.unit("hog.service", "[Service]\nExecStart=/bin/sleep 600\nCPUQuota=20%\nMemoryMax=32M\n")
        workspace.unit("plain.service", "[Service]\nExecStart=/bin/sleep 600\n")
        let reason = "/sys/fs/cgroup is not cgroup2 (hybrid v1 host)"
        let harness = try Harness(workspace, cgroupAvailability: CgroupAvailability(hierarchy: .unusable(reason: reason)))
        _ = harness.wait("hog.service") { $0.activeState == "active" }
        let snapshots = Dictionary(uniqueKeysWithValues: harness.supervisor.controlSnapshots().map { ($0.name, $0) })
        let hog = try #require(snapshots["hog.service"])
        #expect(hog.cpuQuotaPercent == 20)
        #expect(hog.notEnforced?.map(\.key).sorted() == ["CPUQuota=", "MemoryMax="])
        #expect(hog.notEnforced?.allSatisfy { $0.reason.contains(reason) } == true)
        #expect(snapshots["plain.service"]?.notEnforced == nil)
        #expect(harness.shutdown() == 0)
    }
}

@Suite("Stop signals")
struct SupervisorStopSignalTests {
    /// The main process gets the stop signal once: first through its pidfd, and the
    /// search for the rest of the run's processes spares it (a second SIGTERM is "stop
    /// now" to many programs). The program counts every SIGTERM for half a second.
    @Test func theMainProcessGetsTheStopSignalOnce() throws {
        let countSIGTERM =
            #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/")
            + "/fixtures/count-sigterm.py"
        let workspace = Workspace()
        // A child as well, so the stop has a rest to search for.
        workspace.unit("counted.service", """
            [Service]
            ExecStart=/bin/sh -c 'sleep 600 & exec /usr/bin/python3 \(countSIGTERM) \(workspace.path("terms"))'
            """)
        let harness = try Harness(workspace)
        _ = harness.wait("counted.service") { $0.activeState == "active" }
        #expect(eventually(within: 20) { access(workspace.path("terms.ready"), F_OK) == 0 })
        #expect(harness.shutdown() == 0)
        #expect(readText(workspace.path("terms")) == "term\n")
    }
}
