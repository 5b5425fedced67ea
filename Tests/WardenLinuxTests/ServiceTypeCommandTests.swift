import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// Type=forking end to end under `warden run` (a child subreaper, so the double-forked
/// daemon is re-parented to it and followed), and `warden reload NAME…` with the real
/// binary: its output and exit statuses.
@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct ServiceTypeCommandTests {
    /// A daemon that forks twice: the first child starts a session and becomes the
    /// daemon, which writes its PID file and records each SIGHUP; the parent exits at once.
    static let daemonScript = """
        #!/bin/sh
        dir=$1
        ( setsid /bin/sh -c 'echo $$ > "$1/daemon.pid"; trap "echo hup >> \\"$1/hups\\"" HUP; while :; do sleep 0.2; done' daemon "$dir" & )
        exit 0

        """

    struct Daemon {
        let root: String
        let process: DemoProcess
        var socket: [String] { ["--socket", root + "/state/control.sock"] }

        func run(_ arguments: [String]) throws -> WardenCommandOutcome {
            try runWarden(arguments + socket, environment: ["NO_COLOR": "1"], within: 30)
        }

        /// Polls `status NAME --json` until `condition` holds.
        func wait(_ name: String, within seconds: Double = 30, _ condition: (ComponentSnapshot) -> Bool) throws
            -> ComponentSnapshot?
        {
            let deadline = monotonicSeconds() + seconds
            while monotonicSeconds() < deadline {
                let outcome = try run(["status", name, "--json"])
                if case .success(let response) = ControlCodec.decodeResponse(Array(outcome.stdout.utf8)),
                    let snapshot = response.components?.first, condition(snapshot)
                {
                    return snapshot
                }
                usleep(50_000)
            }
            return nil
        }

        /// The main process of NAME once it is active with one (and `condition` holds).
        func mainPID(
            of name: String, within seconds: Double = 30, _ condition: (ComponentSnapshot) -> Bool = { _ in true }
        ) throws -> Int32 {
            let snapshot = try wait(name, within: seconds) { $0.activeState == "active" && $0.mainPID != nil && condition($0) }
            return try #require(snapshot?.mainPID, "\(name) has no main process: \(process.standardError())")
        }

        /// SIGTERM to Warden; nil when it did not exit within 30 s.
        @discardableResult
        func stop() -> WardenCore.ExitStatus? {
            process.send(SIGTERM)
            return process.exitStatus(within: 30)
        }
    }

    func startDaemon(_ units: [String: String]) throws -> Daemon {
        let root = NotifyClient.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: root + "/units", withIntermediateDirectories: true)
        try Self.daemonScript.write(toFile: root + "/daemon.sh", atomically: true, encoding: .utf8)
        for (name, text) in units {
            try text.replacingOccurrences(of: "@ROOT@", with: root)
                .write(toFile: root + "/units/" + name, atomically: true, encoding: .utf8)
        }
        let process = try DemoProcess(
            ["run", "--units", root + "/units", "--state-dir", root + "/state"], environment: ["NO_COLOR": "1"],
            binary: DemoBinary.wardenPath)
        return Daemon(root: root, process: process)
    }

    func pidFile(_ path: String) -> Int32? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    @Test func forkingDaemonIsFollowedRestartedReloadedAndStopped() throws {
        let daemon = try startDaemon([
            "forked.service": """
                [Service]
                Type=forking
                PIDFile=@ROOT@/daemon.pid
                ExecStart=/bin/sh @ROOT@/daemon.sh @ROOT@
                ExecReload=/bin/kill -HUP $MAINPID
                Restart=on-failure
                RestartSec=50ms

                """,
            "plain.service": "[Service]\nExecStart=/bin/sleep 600\n",
            "badreload.service": "[Service]\nExecStart=/bin/sleep 600\nExecReload=/bin/false\n",
        ])
        defer { daemon.stop() }
        let pid = try daemon.mainPID(of: "forked")
        #expect(pidFile(daemon.root + "/daemon.pid") == pid, "the main process is the PID file's")
        #expect(alive(pid))

        // reload: ExecReload= gets $MAINPID; the daemon stays the same process.
        let reloaded = try daemon.run(["reload", "forked"])
        #expect(reloaded.status == .exited(code: 0), "\(reloaded.stderr)")
        #expect(reloaded.stdout.contains("reload of forked.service requested"), "\(reloaded.stdout)")
        #expect(reloaded.stdout.contains("forked.service reloaded"), "\(reloaded.stdout)")
        let deadline = monotonicSeconds() + 20
        while monotonicSeconds() < deadline, (try? String(contentsOfFile: daemon.root + "/hups", encoding: .utf8)) == nil {
            usleep(50_000)
        }
        #expect((try? String(contentsOfFile: daemon.root + "/hups", encoding: .utf8)) == "hup\n")
        #expect(try daemon.wait("forked") { $0.subState == "running" }?.mainPID == pid)

        // Several names: each tried; refusals say why and set the exit status.
        let refused = try daemon.run(["reload", "plain", "forked"])
        #expect(refused.status == .exited(code: 1), "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("plain.service has no ExecReload="), "\(refused.stderr)")
        #expect(refused.stdout.contains("reload of forked.service requested"))
        #expect(try daemon.run(["reload", "nosuch"]).status == .exited(code: 5))
        // A failed reload fails the command, as systemctl's; the component keeps running.
        _ = try daemon.wait("badreload") { $0.activeState == "active" }
        let failed = try daemon.run(["reload", "badreload"])
        #expect(failed.status == .exited(code: 1), "\(failed.stdout) \(failed.stderr)")
        #expect(failed.stderr.contains("reload of badreload.service failed (exit-code)"), "\(failed.stderr)")
        #expect(try daemon.wait("badreload") { $0.subState == "running" }?.reloadResult == "exit-code")
        let noBlock = try daemon.run(["reload", "badreload", "--no-block"])
        #expect(noBlock.status == .exited(code: 0), "\(noBlock.stderr)")

        // kill -9 the daemon: its end is the service's, and Restart=on-failure restarts it.
        kill(pid, SIGKILL)
        let second = try daemon.mainPID(of: "forked") { $0.mainPID != pid && $0.restarts == 1 }
        #expect(pidFile(daemon.root + "/daemon.pid") == second)
        #expect(!alive(pid))

        // stop: the daemon and its children are gone.
        let children = (try? String(contentsOfFile: "/proc/\(second)/task/\(second)/children", encoding: .utf8)) ?? ""
        let stop = try daemon.run(["stop", "forked"])
        #expect(stop.status == .exited(code: 0), "\(stop.stderr)")
        #expect(try daemon.wait("forked") { $0.activeState == "inactive" } != nil)
        #expect(!alive(second))
        #expect(access(daemon.root + "/daemon.pid", F_OK) != 0, "the PID file of a stopped service is removed, as systemd does")
        for child in children.split(separator: " ").compactMap({ Int32($0) }) {
            #expect(!alive(child), "child \(child) of the daemon is left")
        }
        #expect(daemon.stop() == .exited(code: 0), "\(daemon.process.standardError())")
    }

    /// A reload that starts a new daemon (as nginx's binary upgrade does) and rewrites the
    /// PID file: the new pid is the main process from then on.
    @Test func reloadFollowsANewPIDInThePIDFile() throws {
        let daemon = try startDaemon([
            "upgraded.service": """
                [Service]
                Type=forking
                PIDFile=@ROOT@/daemon.pid
                ExecStart=/bin/sh @ROOT@/daemon.sh @ROOT@
                ExecReload=/bin/sh -c 'old=$$(cat @ROOT@/daemon.pid); /bin/sh @ROOT@/daemon.sh @ROOT@; while [ "$$(cat @ROOT@/daemon.pid)" = "$$old" ]; do sleep 0.05; done'

                """
        ])
        defer { daemon.stop() }
        let first = try daemon.mainPID(of: "upgraded")
        let reload = try daemon.run(["reload", "upgraded"])
        #expect(reload.status == .exited(code: 0), "\(reload.stderr)")
        let second = try #require(
            try daemon.wait("upgraded") { $0.subState == "running" && $0.mainPID != first }?.mainPID,
            "main process not followed: \(daemon.process.standardError())")
        #expect(pidFile(daemon.root + "/daemon.pid") == second)
        #expect(daemon.stop() == .exited(code: 0), "\(daemon.process.standardError())")
        #expect(!alive(first) && !alive(second), "both daemons are stopped with the component")
    }

    /// No PIDFile=: the one process re-parented to Warden is the main process
    /// (GuessMainPID=yes), not the worker it started.
    @Test func forkingMainProcessIsGuessedWhenOneIsLeft() throws {
        let daemon = try startDaemon([
            "guessed.service": """
                [Service]
                Type=forking
                ExecStart=/bin/sh -c "(setsid /bin/sh -c '/bin/sleep 600 & exec /bin/sleep 601' &); sleep 0.3; exit 0"

                """
        ])
        defer { daemon.stop() }
        let pid = try daemon.mainPID(of: "guessed")
        let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        #expect(command == "/bin/sleep\u{0}601\u{0}", "the guessed main process is the daemon, not \(command)")
        #expect(daemon.stop() == .exited(code: 0))
        #expect(!alive(pid))
    }

    /// nginx's shape without cgroups: the daemon clears its environment (nginx overwrites
    /// it with its process title) and starts its worker after writing its PID file, when
    /// Warden has already looked at the component. When the daemon is killed the worker,
    /// reparented to Warden with no `INVOCATION_ID=` and no ancestry, is known by the
    /// session the daemon leads: it is stopped before the restart, and holds nothing the
    /// next daemon needs (nginx's port).
    @Test func workersOfAKilledDaemonThatClearedItsEnvironmentAreStopped() throws {
        let daemon = try startDaemon([
            "cleared.service": """
                [Service]
                Type=forking
                PIDFile=@ROOT@/master.pid
                ExecStart=/bin/sh -c "(setsid env -i /bin/sh -c 'echo $$$$ > @ROOT@/master.pid; sleep 0.5; env -i /bin/sleep 600 & echo $$! > @ROOT@/worker.pid; wait' &); exit 0"
                Restart=on-failure
                RestartSec=50ms

                """
        ])
        defer { daemon.stop() }
        let master = try daemon.mainPID(of: "cleared")
        var worker: Int32?
        let deadline = monotonicSeconds() + 20
        while monotonicSeconds() < deadline, worker == nil {
            worker = pidFile(daemon.root + "/worker.pid")
            if worker == nil { usleep(50_000) }
        }
        let firstWorker = try #require(worker, "the daemon started no worker")
        #expect(alive(firstWorker))
        let environment = (try? String(contentsOfFile: "/proc/\(firstWorker)/environ", encoding: .utf8)) ?? "?"
        #expect(!environment.contains("INVOCATION_ID="), "the worker still has its environment: \(environment)")
        try FileManager.default.removeItem(atPath: daemon.root + "/worker.pid")

        kill(master, SIGKILL)
        _ = try daemon.mainPID(of: "cleared") { $0.mainPID != master && $0.restarts == 1 }
        #expect(!alive(firstWorker), "the killed daemon's worker \(firstWorker) is left")
        #expect(daemon.stop() == .exited(code: 0), "\(daemon.process.standardError())")
        if let second = pidFile(daemon.root + "/worker.pid") { #expect(!alive(second)) }
    }

    /// A daemon that cleared its environment and writes its PID file a second after its
    /// forking parent exited: no scan attributes it without cgroups, yet it is alive and on
    /// its way, so the file is waited for (systemd waits while the group is not empty).
    @Test func aPIDFileWrittenLateByADaemonThatClearedItsEnvironmentIsWaitedFor() throws {
        let daemon = try startDaemon([
            "late.service": """
                [Service]
                Type=forking
                PIDFile=@ROOT@/late.pid
                ExecStart=/bin/sh -c "(setsid env -i /bin/sh -c 'sleep 1; echo $$$$ > @ROOT@/late.pid; exec /bin/sleep 602' &); exit 0"

                """
        ])
        let main = try daemon.mainPID(of: "late")
        let pid = try #require(pidFile(daemon.root + "/late.pid"))
        #expect(main == pid)
        #expect(try daemon.wait("late") { _ in true }?.restarts == 0)
        #expect(!daemon.process.standardError().contains("none is left"), "\(daemon.process.standardError())")
        #expect(daemon.stop() == .exited(code: 0))
        #expect(!alive(pid))
    }

    /// A forking start whose parent left no daemon fails at once, even while an orphan of
    /// another component, begun after that start, lives: it is that component's, not a
    /// daemon on its way to write the PID file (the start timeout is 90 s).
    @Test func anotherComponentsOrphanDoesNotHoldAFailedForkingStart() throws {
        let daemon = try startDaemon([
            "other.service": """
                [Service]
                ExecStart=/bin/sh -c "sleep 0.3; (/bin/sleep 603 &); exec /bin/sleep 604"

                """,
            "broken.service": """
                [Service]
                Type=forking
                PIDFile=@ROOT@/never.pid
                ExecStart=/bin/sh -c "sleep 1; exit 0"

                """,
        ])
        defer { daemon.stop() }
        let failed = try daemon.wait("broken", within: 20) { $0.activeState == "failed" }
        #expect(failed != nil, "still waiting: \(daemon.process.standardError())")
        #expect(daemon.process.standardError().contains("none is left"))
    }

    /// rc-local.service's shape: Type=forking, GuessMainPID=no, RemainAfterExit=yes. No
    /// main process: running while what the script left runs, then active (exited).
    @Test func forkingWithoutAMainProcessRunsWhileItsProcessesDoThenRemains() throws {
        let daemon = try startDaemon([
            "rc-local.service": """
                [Service]
                Type=forking
                ExecStart=/bin/sh -c "/bin/sleep 1 & exit 0"
                TimeoutSec=0
                RemainAfterExit=yes
                GuessMainPID=no

                """
        ])
        defer { daemon.stop() }
        let running = try daemon.wait("rc-local") { $0.activeState == "active" }
        #expect(running?.mainPID == nil, "\(daemon.process.standardError())")
        #expect(running?.subState == "running", "\(String(describing: running))")
        let exited = try daemon.wait("rc-local") { $0.subState == "exited" }
        #expect(exited?.activeState == "active", "\(daemon.process.standardError())")
        #expect(daemon.stop() == .exited(code: 0), "\(daemon.process.standardError())")
    }

    /// Type=dbus against a real bus: a private dbus-daemon named by
    /// $DBUS_SYSTEM_BUS_ADDRESS, a component that takes its BusName= after a pause (ready
    /// then), and one whose name never appears (its start times out).
    @Test(.enabled(if: access("/usr/bin/dbus-daemon", X_OK) == 0, "no /usr/bin/dbus-daemon"))
    func dbusIsReadyWhenItsNameAppearsOnTheBus() throws {
        let owner = try BusOwner.built.get()
        let root = NotifyClient.temporaryDirectory()
        let busSocket = root + "/bus"
        try """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>custom</type>
              <listen>unix:path=\(busSocket)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <allow own="*"/>
                <allow send_destination="*"/>
                <allow receive_sender="*"/>
              </policy>
            </busconfig>
            """.write(toFile: root + "/bus.conf", atomically: true, encoding: .utf8)
        let bus = try DemoProcess(
            ["--config-file=" + root + "/bus.conf", "--nofork", "--nopidfile"], binary: "/usr/bin/dbus-daemon")
        defer {
            bus.send(SIGTERM)
            _ = bus.exitStatus(within: 10)
        }
        let address = "unix:path=" + busSocket
        var waited = 0
        while access(busSocket, F_OK) != 0 && waited < 200 {
            usleep(50_000)
            waited += 1
        }
        try FileManager.default.createDirectory(atPath: root + "/units", withIntermediateDirectories: true)
        try "[Service]\nType=dbus\nBusName=org.example.Owner\nEnvironment=DBUS_SYSTEM_BUS_ADDRESS=\(address)\nExecStart=\(owner) org.example.Owner 300\n"
            .write(toFile: root + "/units/owner.service", atomically: true, encoding: .utf8)
        try "[Service]\nType=dbus\nBusName=org.example.Never\nExecStart=/bin/sleep 600\nTimeoutStartSec=1\n"
            .write(toFile: root + "/units/never.service", atomically: true, encoding: .utf8)
        let process = try DemoProcess(
            ["run", "--units", root + "/units", "--state-dir", root + "/state"],
            environment: ["NO_COLOR": "1", "DBUS_SYSTEM_BUS_ADDRESS": address], binary: DemoBinary.wardenPath)
        let daemon = Daemon(root: root, process: process)
        defer { daemon.stop() }
        let ready = try daemon.wait("owner") { $0.activeState == "active" && $0.ready }
        #expect(ready?.subState == "running", "\(process.standardError())")
        let never = try daemon.wait("never") { $0.activeState == "failed" }
        #expect(never?.result == "timeout", "\(process.standardError())")
        #expect(daemon.stop() == .exited(code: 0))
        #expect(process.standardError().contains("BusName=org.example.Owner is on the system bus"))
    }
}

/// Builds Tests/fixtures/bus-owner.c (it links libsystemd) once per test process.
enum BusOwner {
    static let built: Result<String, NotifyClient.TestSetupError> = {
        let testsDirectory = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/"))
        let source = testsDirectory + "/fixtures/bus-owner.c"
        let output = NotifyClient.temporaryDirectory() + "/bus-owner"
        var request = SpawnRequest(executablePath: "/usr/bin/cc", arguments: ["cc", "-O1", "-o", output, source, "-lsystemd"])
        request.environment = ["PATH=/usr/bin:/bin"]
        guard let (status, _) = try? TestProcess.run(request), status == .exited(code: 0) else {
            return .failure(NotifyClient.TestSetupError(description: "cc failed to build \(source) (needs libsystemd-dev)"))
        }
        return .success(output)
    }()
}
