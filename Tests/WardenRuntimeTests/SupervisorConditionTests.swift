import Glibc
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

/// `Condition…=`, `Assert…=` and `ExecCondition=` with the real supervisor, real
/// processes and this host's facts.
@Suite("Conditions and asserts with real processes")
struct SupervisorConditionTests {
    @Test("an unmet condition skips a unit (inactive, not failed); what requires it still starts; a failed assert fails its dependents")
    func conditionSkipsAndAssertFails() throws {
        let workspace = Workspace()
        let missing = workspace.path("rc.local")
        // rc-local.service's guard: the program it runs is not there.
        workspace.unit("rc-local.service", """
            [Unit]
            ConditionFileIsExecutable=\(missing)
            [Service]
            Type=oneshot
            ExecStart=\(missing) start
            RemainAfterExit=yes
            """)
        workspace.unit("app.service", """
            [Unit]
            Requires=rc-local.service
            After=rc-local.service
            [Service]
            ExecStart=/bin/sleep 60
            """)
        workspace.unit("initrd.service", """
            [Unit]
            AssertPathExists=\(workspace.path("initrd-release"))
            [Service]
            ExecStart=/bin/sh -c 'touch \(workspace.path("initrd-ran")); exec sleep 60'
            """)
        workspace.unit("after-initrd.service", """
            [Unit]
            Requires=initrd.service
            After=initrd.service
            [Service]
            ExecStart=/bin/sleep 60
            """)
        let harness = try Harness(workspace)

        let app = harness.wait("app.service") { $0.isReady }
        #expect(app?.dependencyFailure == nil)
        let rc = harness.status("rc-local.service")
        #expect(rc?.activeState == "inactive")
        #expect(rc?.subState == "dead")
        #expect(rc?.result == .success)
        #expect(rc?.conditionNote == "start condition unmet: ConditionFileIsExecutable=\(missing)")
        #expect(harness.capture.firstIndex("rc-local", "start condition unmet: ConditionFileIsExecutable=", "not started") != nil)

        // An operator's start tests the conditions again and says why nothing ran.
        let supervisor = harness.supervisor
        let answer = supervisor.loop.executeAndWait { () -> ControlResponse in
            guard let c = supervisor.lookUp("rc-local.service", includingRetired: false) else {
                return supervisor.unknown("rc-local.service", nil)
            }
            return supervisor.operatorRequest(.start, for: c, id: 1, peer: ControlPeer(pid: getpid(), userID: 0, groupIDs: [0]))
        }
        #expect(
            answer.message
                == "start of rc-local.service requested; now inactive (dead): start condition unmet: ConditionFileIsExecutable=\(missing)")
        #expect(harness.status("app.service")?.isReady == true)

        let dependent = harness.wait("after-initrd.service") { $0.dependencyFailure != nil }
        #expect(dependent?.dependencyFailure == "initrd.service")
        let initrd = harness.status("initrd.service")
        #expect(initrd?.activeState == "inactive")
        #expect(initrd?.conditionNote == "start assertion failed: AssertPathExists=\(workspace.path("initrd-release"))")
        #expect(access(workspace.path("initrd-ran"), F_OK) != 0)
        #expect(harness.shutdown() == 0)
    }

    @Test("a condition that holds starts the unit; ExecCondition= exit 1 skips it, exit 255 fails it")
    func execCondition() throws {
        let workspace = Workspace()
        writeText(workspace.path("present"), "x")
        workspace.unit("guarded.service", """
            [Unit]
            ConditionPathExists=\(workspace.path("present"))
            ConditionPathExists=|/nonexistent-\(getpid())
            ConditionPathExists=|!/nonexistent-\(getpid())
            [Service]
            ExecStart=/bin/sleep 60
            """)
        workspace.unit("skip.service", """
            [Service]
            ExecCondition=/bin/sh -c 'exit 1'
            ExecStartPre=/bin/sh -c 'touch \(workspace.path("skip-pre-ran"))'
            ExecStart=/bin/sleep 60
            """)
        workspace.unit("after-skip.service", """
            [Unit]
            Requires=skip.service
            After=skip.service
            [Service]
            ExecStart=/bin/sleep 60
            """)
        workspace.unit("broken.service", """
            [Service]
            ExecCondition=/bin/sh -c 'exit 255'
            ExecStart=/bin/sleep 60
            """)
        let harness = try Harness(workspace)
        #expect(harness.wait("guarded.service") { $0.isReady } != nil)
        #expect(harness.wait("after-skip.service") { $0.isReady }?.dependencyFailure == nil)
        let skipped = harness.status("skip.service")
        #expect(skipped?.activeState == "inactive")
        #expect(skipped?.conditionNote == "start condition unmet: ExecCondition[0] exited with status 1")
        #expect(access(workspace.path("skip-pre-ran"), F_OK) != 0)
        let broken = harness.wait("broken.service") { $0.activeState == "failed" }
        #expect(broken?.result == .exitCode)
        #expect(harness.shutdown() == 0)
    }
}

@Suite("Conditions and re-adoption")
struct SupervisorConditionAdoptionTests {
    @Test("a running main process is taken over even when its conditions no longer hold; ExecCondition= is not run again")
    func takeoverSkipsConditions() throws {
        let seconds = uniqueSleepSeconds()
        let stray = try Stray(["/bin/sleep", seconds])
        let start = try #require(stray.startTime)
        let workspace = Workspace()
        workspace.unit("bot.service", """
            [Unit]
            ConditionPathExists=\(workspace.path("gone-since"))
            [Service]
            ExecCondition=/bin/sh -c 'touch \(workspace.path("condition-ran"))'
            ExecStart=/bin/sleep \(seconds)
            """)
        writeRecords(
            [ComponentRecord(unit: "bot.service", process: ProcessIdentity(pid: stray.pid, startTimeTicks: start), cgroup: nil, invocationID: "0123456789abcdef0123456789abcdef")],
            in: workspace)
        let harness = try Harness(workspace)
        let status = harness.wait("bot.service") { $0.subState == "running" && $0.mainPID != nil }
        #expect(status?.mainPID == stray.pid)
        #expect(status?.conditionNote == nil)
        #expect(access(workspace.path("condition-ran"), F_OK) != 0, "ExecCondition= must not run for a takeover")
        #expect(harness.shutdown() == 0)
        #expect(eventually { stray.isGone() })
    }
}
