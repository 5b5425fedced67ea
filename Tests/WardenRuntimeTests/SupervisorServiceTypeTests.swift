import Glibc
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

/// `warden reload NAME` (ExecReload=), Type=idle and Type=dbus with real processes, in
/// the test process (no subreaper needed; Type=forking runs under `warden run`, see
/// ServiceTypeCommandTests).
@Suite("service types and reload with real processes")
struct SupervisorServiceTypeTests {
    func reload(_ harness: Harness, _ unit: String) -> ControlResponse {
        let supervisor = harness.supervisor
        return supervisor.loop.executeAndWait { () -> ControlResponse in
            guard let c = supervisor.lookUp(unit, includingRetired: false) else { return supervisor.unknown(unit, nil) }
            return supervisor.operatorRequest(
                .reloadUnit, for: c, id: 1, peer: ControlPeer(pid: getpid(), userID: 0, groupIDs: [0]),
                request: ControlRequest(op: .reloadUnit, unit: unit))
        }
    }

    /// $MAINPID reaches every control command once the main process is known, as in
    /// systemd: ExecStartPost= and each ExecReload=.
    @Test func reloadRunsExecReloadInOrderWithMAINPIDAndKeepsTheProcess() throws {
        let workspace = Workspace()
        let record = workspace.path("reloads")
        workspace.unit(
            "steady.service",
            """
            [Service]
            ExecStart=/bin/sleep 600
            ExecStartPost=/bin/sh -c 'echo post $MAINPID >> \(record)'
            ExecReload=/bin/sh -c 'echo first $MAINPID >> \(record)'
            ExecReload=/bin/sh -c 'echo second $MAINPID >> \(record)'

            """)
        let harness = try Harness(workspace)
        let running = try #require(harness.wait("steady.service") { $0.activeState == "active" && $0.mainPID != nil })
        let main = try #require(running.mainPID)
        let response = reload(harness, "steady")
        #expect(response.error == nil, "\(String(describing: response.error))")
        #expect(response.message?.hasPrefix("reload of steady.service requested") == true)
        #expect(eventually { readText(record) == "post \(main)\nfirst \(main)\nsecond \(main)\n" }, "\(readText(record))")
        let after = harness.wait("steady.service") { $0.subState == "running" }
        #expect(after?.mainPID == main)
        #expect(after?.restartCount == 0)
        #expect(eventually { harness.capture.firstIndex("[steady]", "reload finished") != nil })
        #expect(harness.shutdown() == 0)
    }

    @Test func aFailingReloadLeavesTheServiceRunning() throws {
        let workspace = Workspace()
        let marker = workspace.path("not-reached")
        workspace.unit(
            "steady.service",
            "[Service]\nExecStart=/bin/sleep 600\nExecReload=/bin/false\nExecReload=/bin/touch \(marker)\n")
        let harness = try Harness(workspace)
        let running = try #require(harness.wait("steady.service") { $0.activeState == "active" && $0.mainPID != nil })
        #expect(reload(harness, "steady.service").error == nil)
        #expect(eventually { harness.capture.firstIndex("[steady]", "reload failed (exit-code)") != nil })
        let after = harness.wait("steady.service") { $0.subState == "running" }
        #expect(after?.mainPID == running.mainPID)
        #expect(after?.result == .success)
        #expect(access(marker, F_OK) != 0, "the command after the failed one does not run")
        #expect(harness.shutdown() == 0)
    }

    @Test func reloadIsRefusedWithoutExecReloadOrWhenDown() throws {
        let workspace = Workspace()
        workspace.unit("plain.service", "[Service]\nExecStart=/bin/sleep 600\n")
        workspace.unit("done.service", "[Service]\nType=oneshot\nExecStart=/bin/true\nExecReload=/bin/true\n")
        let harness = try Harness(workspace)
        _ = harness.wait("plain.service") { $0.activeState == "active" }
        _ = harness.wait("done.service") { $0.activeState == "inactive" && $0.lastExit != nil }
        let plain = reload(harness, "plain")
        #expect(plain.error?.code == .unavailable)
        #expect(plain.error?.message == "plain.service has no ExecReload= (a reload is not applicable)")
        let done = reload(harness, "done")
        #expect(done.error?.message == "done.service is not active (inactive), cannot reload")
        #expect(harness.status("plain.service")?.subState == "running")
        #expect(harness.shutdown() == 0)
    }

    /// Type=notify-reload: SIGHUP to the main process, then RELOADING=1 and READY=1 from
    /// it end the reload (warden-demo executor answers SIGHUP so).
    @Test(.enabled(if: BuiltBinary.demo != nil, "warden-demo is not built next to the test bundle"))
    func notifyReloadSignalsAndWaitsForTheAnswer() throws {
        let workspace = Workspace()
        workspace.unit("executor.service", "[Service]\nType=notify-reload\nExecStart=warden-demo executor --warmup-ms 100\n")
        let harness = try Harness(workspace)
        let running = try #require(harness.wait("executor.service") { $0.isReady && $0.mainPID != nil })
        #expect(reload(harness, "executor").error == nil)
        #expect(eventually { harness.capture.firstIndex("[executor]", "reload finished") != nil }, "\(harness.capture.lines.joined(separator: "\n"))")
        let reloading = harness.capture.firstIndex("[executor]", "reloading: sending SIGHUP to the main process")
        let answered = harness.capture.firstIndex("[executor]", "reloading: order routes re-read")
        #expect(reloading != nil && answered != nil && reloading! < answered!)
        let after = harness.wait("executor.service") { $0.subState == "running" }
        #expect(after?.mainPID == running.mainPID)
        #expect(harness.shutdown() == 0)
    }

    /// RemainAfterExit=: active (exited) after a clean end; the stop runs ExecStop=.
    @Test func remainAfterExitStaysActiveAndStopRunsExecStop() throws {
        let workspace = Workspace()
        let marker = workspace.path("stopped")
        workspace.unit(
            "setup.service",
            "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecStop=/bin/touch \(marker)\n")
        let harness = try Harness(workspace)
        let exited = harness.wait("setup.service") { $0.subState == "exited" }
        #expect(exited?.activeState == "active")
        #expect(exited?.isReady == true)
        let supervisor = harness.supervisor
        _ = supervisor.loop.executeAndWait { () -> ControlResponse in
            let c = supervisor.lookUp("setup", includingRetired: false)!
            return supervisor.operatorRequest(.stop, for: c, id: 1, peer: ControlPeer(pid: getpid(), userID: 0, groupIDs: [0]))
        }
        _ = harness.wait("setup.service") { $0.activeState == "inactive" }
        #expect(access(marker, F_OK) == 0, "ExecStop= ran")
        #expect(harness.shutdown() == 0)
    }

    /// Type=idle waits until the rest of its start wave has started.
    @Test func idleStartsAfterTheOthersOfItsWave() throws {
        let workspace = Workspace()
        workspace.unit("slow.service", "[Service]\nType=oneshot\nExecStart=/bin/sleep 1\nRemainAfterExit=yes\n")
        workspace.unit("quiet.service", "[Service]\nType=idle\nExecStart=/bin/sleep 600\n")
        let harness = try Harness(workspace)
        _ = harness.wait("quiet.service") { $0.activeState == "active" && $0.mainPID != nil }
        let capture = harness.capture
        let deferred = capture.firstIndex("[quiet]", "Type=idle")
        let slowDone = capture.firstIndex("[slow]", "main process exited with status 0")
        let quietStarting = capture.lines.firstIndex(of: "warden[quiet]: starting")
        #expect(deferred != nil, "\(capture.lines.joined(separator: "\n"))")
        if let slowDone, let quietStarting {
            #expect(slowDone < quietStarting, "\(capture.lines.joined(separator: "\n"))")
        } else {
            Issue.record("missing lines:\n\(capture.lines.joined(separator: "\n"))")
        }
        #expect(harness.shutdown() == 0)
    }

    @Test(.enabled(if: !FileIO.exists(SystemBusNames.socketPath), "this host has a D-Bus system bus"))
    func dbusWithoutASystemBusFailsToStartAndSaysWhy() throws {
        let workspace = Workspace()
        workspace.unit("bus.service", "[Service]\nType=dbus\nBusName=org.example.Absent\nExecStart=/bin/sleep 600\n")
        let harness = try Harness(workspace)
        let failed = harness.wait("bus.service") { $0.activeState == "failed" }
        #expect(failed?.result == .resources)
        #expect(failed?.mainPID == nil)
        #expect(harness.capture.firstIndex("[bus]", "there is no system bus here", "BusName=org.example.Absent") != nil)
        #expect(harness.shutdown() == 0)
    }
}
