import Glibc
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

/// `warden kill`: the signal reaches whom it names, and what follows is the component's
/// own business (an exit it causes is judged as any other).
@Suite("kill: a signal to a component's processes")
struct SupervisorKillTests {
    func kill(_ harness: Harness, _ unit: String, signal: String?, whom: String?) -> ControlResponse {
        let supervisor = harness.supervisor
        let request = ControlRequest(op: .kill, unit: unit, signal: signal, whom: whom)
        return supervisor.loop.executeAndWait { () -> ControlResponse in
            guard let c = supervisor.lookUp(unit, includingRetired: false) else { return supervisor.unknown(unit, nil) }
            return supervisor.operatorRequest(
                .kill, for: c, id: 1, peer: ControlPeer(pid: getpid(), userID: 0, groupIDs: [0]), request: request)
        }
    }

    @Test func theMainProcessKilledIsRestartedAsAnyCrash() throws {
        let workspace = Workspace()
        workspace.unit("steady.service", "[Service]\nExecStart=/bin/sleep 600\nRestart=always\nRestartSec=10ms\n")
        let harness = try Harness(workspace)
        let first = try #require(harness.wait("steady.service") { $0.activeState == "active" && $0.mainPID != nil })
        let response = kill(harness, "steady", signal: "KILL", whom: "main")
        #expect(response.error == nil, "\(String(describing: response.error))")
        #expect(response.message == "SIGKILL sent to 1 process(es) of steady.service (main)")
        let again = harness.wait("steady.service") { $0.mainPID != nil && $0.mainPID != first.mainPID && $0.activeState == "active" }
        #expect(again?.restartCount == 1)
        #expect(again?.lastExit == .killed(signal: SIGKILL, coreDumped: false))
        #expect(harness.shutdown() == 0)
    }

    /// Every process of the component: a shell and the child it waits for.
    @Test func allReachesTheChildrenToo() throws {
        let workspace = Workspace()
        workspace.unit("tree.service", "[Service]\nExecStart=/bin/sh -c '/bin/sleep 600; exit 0'\n")
        let harness = try Harness(workspace)
        _ = harness.wait("tree.service") { $0.activeState == "active" && $0.mainPID != nil }
        let response = kill(harness, "tree.service", signal: nil, whom: nil)
        #expect(response.error == nil, "\(String(describing: response.error))")
        #expect(response.message?.hasPrefix("SIGTERM sent to") == true)
        let ended = harness.wait("tree.service") { $0.activeState != "active" }
        #expect(ended != nil)
        #expect(harness.shutdown() == 0)
    }

    @Test func nothingToSignalIsSaid() throws {
        let workspace = Workspace()
        workspace.unit("steady.service", "[Service]\nExecStart=/bin/sleep 600\n")
        let harness = try Harness(workspace)
        _ = harness.wait("steady.service") { $0.activeState == "active" && $0.mainPID != nil }
        let control = kill(harness, "steady", signal: "HUP", whom: "control")
        #expect(control.error?.code == .unavailable)
        #expect(control.error?.message == "steady.service has no control process to signal")
        let unknown = kill(harness, "nosuch", signal: "HUP", whom: nil)
        #expect(unknown.error?.code == .unknownUnit)
        #expect(harness.shutdown() == 0)
    }
}
