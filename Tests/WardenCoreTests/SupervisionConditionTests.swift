import Testing
@testable import WardenCore

/// The start's condition steps in the component machine: `Condition…=`/`Assert…=`
/// tested at each start, `ExecCondition=` before `ExecStartPre=`.
@Suite struct SupervisionConditionTests {
    static let guarded = ServiceCommands(checksConditions: true)
    static let rcLocal = conditionLines([("ConditionFileIsExecutable", "/etc/rc.local")])

    static func verdict(_ lines: [(String, String)]) -> ConditionVerdict {
        let all = conditionLines(lines)
        return ConditionEvaluator(facts: FixtureFacts())
            .evaluate(conditions: all.filter { !$0.isAssert }, asserts: all.filter(\.isAssert))
    }

    @Test func aStartWithConditionsTestsThemFirst() {
        var h = Harness(RestartPolicy(type: .simple), Self.guarded)
        let start = withoutLogs(h.send(.startRequested))
        #expect(start == [.testConditions])
        #expect(h.state == .starting(.conditions))
        #expect(h.machine.activeState == "activating" && h.machine.subState == "condition")
        let met = withoutLogs(h.send(.conditionsTested(Self.verdict([("ConditionPathExists", "/sbin/quotaon")]))))
        #expect(met == [.runCommand(.start, index: 0, resultEnvironment: nil)])
        h.send(.spawned(pid: 7))
        #expect(h.state == .running)
        #expect(h.machine.conditionNote == nil)
    }

    @Test func aStartWithoutConditionsGoesStraightToItsCommands() {
        var h = Harness(RestartPolicy(type: .simple))
        #expect(withoutLogs(h.send(.startRequested)) == [.runCommand(.start, index: 0, resultEnvironment: nil)])
    }

    @Test func anUnmetConditionSkipsTheStartAndLeavesItInactive() {
        var h = Harness(RestartPolicy(type: .simple, restart: .always), Self.guarded)
        h.send(.startRequested)
        let actions = h.send(.conditionsTested(Self.verdict([("ConditionFileIsExecutable", "/etc/rc.local")])))
        let reason = "start condition unmet: ConditionFileIsExecutable=/etc/rc.local"
        #expect(withoutLogs(actions) == [.markSkipped(reason: reason)])
        #expect(logEvents(actions) == ["condition-unmet"])
        #expect(h.state == .inactive)
        #expect(h.machine.activeState == "inactive" && h.machine.subState == "dead")
        #expect(h.machine.result == .success)
        #expect(h.machine.conditionNote == reason)
        #expect(h.machine.timers.isEmpty)
    }

    @Test func aFailedAssertFailsTheStartWithoutAFailedState() {
        var h = Harness(RestartPolicy(type: .simple, restart: .always), Self.guarded)
        h.send(.startRequested)
        let actions = h.send(.conditionsTested(Self.verdict([("AssertPathExists", "/etc/initrd-release")])))
        #expect(withoutLogs(actions).isEmpty)
        #expect(logEvents(actions) == ["assert-failed"])
        #expect(ComponentLogEvent.assertFailed.level == .warning)
        #expect(h.state == .inactive)
        #expect(h.machine.conditionNote == "start assertion failed: AssertPathExists=/etc/initrd-release")
    }

    @Test func conditionsAreTestedAgainAtAnAutomaticRestart() {
        var h = Harness(noJitter(RestartPolicy(type: .simple, restart: .always)), Self.guarded)
        h.send(.startRequested)
        h.send(.conditionsTested(Self.verdict([])))
        h.send(.spawned(pid: 7))
        h.mainDies(.exited(code: 1))
        guard case .autoRestartWait = h.state else {
            Issue.record("expected a restart pause, got \(h.state)")
            return
        }
        let restart = withoutLogs(h.fire(.restartDelay))
        #expect(restart == [.testConditions])
        h.send(.conditionsTested(Self.verdict([("ConditionPathExists", "/gone")])))
        #expect(h.state == .inactive)
        #expect(h.machine.conditionNote == "start condition unmet: ConditionPathExists=/gone")
        // The next explicit start tests them again and clears the note once met.
        h.send(.startRequested)
        h.send(.conditionsTested(Self.verdict([])))
        #expect(h.machine.conditionNote == nil)
    }

    @Test func uncheckableLinesAreLoggedAndTheStartGoesOn() {
        var h = Harness(RestartPolicy(type: .simple), Self.guarded)
        h.send(.startRequested)
        let actions = h.send(.conditionsTested(Self.verdict([("ConditionPathIsEncrypted", "/var")])))
        #expect(logEvents(actions).contains("condition-unevaluated"))
        #expect(withoutLogs(actions) == [.runCommand(.start, index: 0, resultEnvironment: nil)])
    }

    @Test func aStaleVerdictIsIgnored() {
        var h = Harness(RestartPolicy(type: .simple), Self.guarded)
        #expect(h.send(.conditionsTested(Self.verdict([]))).isEmpty)
        #expect(h.state == .inactive)
    }

    @Test func aStopWhileTestingEndsInactive() {
        var h = Harness(RestartPolicy(type: .simple), Self.guarded)
        h.send(.startRequested)
        h.send(.stopRequested)
        #expect(h.state == .inactive)
        #expect(h.send(.conditionsTested(Self.verdict([]))).isEmpty)
    }

    // MARK: ExecCondition=

    static let execCondition = ServiceCommands(startPre: [.plain], condition: [.plain, .plain])

    /// The exit of the second `ExecCondition=` command → what follows.
    static let exits: [(ExitStatus, String)] = [
        (.exited(code: 0), "start-pre"),
        (.exited(code: 1), "skipped"),
        (.exited(code: 254), "skipped"),
        (.exited(code: 255), "failed exit-code"),
        (.killed(signal: 9, coreDumped: false), "failed signal"),
    ]

    @Test(arguments: exits)
    func execConditionExit(_ status: ExitStatus, _ expected: String) {
        var h = Harness(RestartPolicy(type: .simple, restart: .always), Self.execCondition)
        #expect(withoutLogs(h.send(.startRequested)).first == .runCommand(.condition, index: 0, resultEnvironment: nil))
        #expect(h.state == .starting(.conditionCommand(index: 0)))
        #expect(h.machine.subState == "condition")
        h.send(.spawned(pid: 5))
        let next = h.send(.hookExited(.exited(code: 0)))
        #expect(next.contains(.runCommand(.condition, index: 1, resultEnvironment: nil)))
        h.send(.spawned(pid: 6))
        let actions = h.send(.hookExited(status))
        switch expected {
        case "start-pre":
            #expect(actions.contains(.runCommand(.startPre, index: 0, resultEnvironment: nil)))
            #expect(h.state == .starting(.preCommand(index: 0)))
        case "skipped":
            guard case .exited(let code) = status else { return }
            let reason = "start condition unmet: ExecCondition[1] exited with status \(code)"
            #expect(actions.contains(.markSkipped(reason: reason)))
            #expect(actions.contains(.markStopped(.success)))
            #expect(h.state == .inactive)
            #expect(h.machine.conditionNote == reason)
            #expect(h.machine.timers.isEmpty)
        default:
            h.send(.allProcessesGone)
            let result = String(expected.dropFirst("failed ".count))
            // Restart=always restarts a failed start, as for any failed ExecStartPre=.
            #expect(h.machine.result.rawValue == result)
            #expect(!actions.contains { if case .markSkipped = $0 { true } else { false } })
        }
    }

    @Test func anIgnoredExecConditionFailureGoesOn() {
        var h = Harness(RestartPolicy(type: .simple), ServiceCommands(condition: [.ignoringFailure]))
        h.send(.startRequested)
        h.send(.spawned(pid: 5))
        let actions = h.send(.hookExited(.exited(code: 3)))
        #expect(actions.contains(.runCommand(.start, index: 0, resultEnvironment: nil)))
    }

    @Test func execConditionRunsAfterTheConditions() {
        var h = Harness(RestartPolicy(type: .simple), ServiceCommands(condition: [.plain], checksConditions: true))
        #expect(withoutLogs(h.send(.startRequested)) == [.testConditions])
        let met = h.send(.conditionsTested(Self.verdict([])))
        #expect(met.contains(.runCommand(.condition, index: 0, resultEnvironment: nil)))
    }
}

/// How the stack treats a skipped start and a failed assert (systemd: a condition-skipped
/// start job is done, an assert fails the job and the jobs that require it).
@Suite struct ConditionStackTests {
    static func stack() -> (StackPlanner, [StackMember]) {
        let units: [String: UnitDependencies] = [
            "rc-local": UnitDependencies(),
            "needs-rc": UnitDependencies(requires: ["rc-local"], after: ["rc-local"]),
            "after-rc": UnitDependencies(after: ["rc-local"]),
        ]
        var planner = StackPlanner(graph: DependencyGraph(units))
        planner.beginRunning()
        let members = units.keys.sorted().map { name in
            var member = StackMember(name: name, priority: .normal, requiredUnits: Set(units[name]!.requires))
            member.wantsStart = true
            return member
        }
        return (planner, members)
    }

    static func names(_ decisions: [StackDecision], _ members: [StackMember]) -> [String] {
        decisions.map {
            switch $0 {
            case .start(let i): "start \(members[i].name)"
            case .dependencyFailed(let i, let dependency): "\(members[i].name) fails: \(dependency)"
            default: "\($0)"
            }
        }
    }

    @Test func aSkippedStartLetsDependentsStart() {
        var (planner, members) = Self.stack()
        #expect(Self.names(planner.orchestrate(&members, queueIsEmpty: true), members) == ["start rc-local"])
        let rc = members.firstIndex { $0.name == "rc-local" }!
        // The machine saw the start, tested the conditions and skipped: `markSkipped`.
        members[rc].startQueued = false
        members[rc].isDown = true
        members[rc].readySinceStart = true
        #expect(
            Self.names(planner.orchestrate(&members, queueIsEmpty: true), members).sorted() == [
                "start after-rc", "start needs-rc",
            ])
    }

    @Test func aFailedAssertFailsWhatRequiresIt() {
        var (planner, members) = Self.stack()
        _ = planner.orchestrate(&members, queueIsEmpty: true)
        let rc = members.firstIndex { $0.name == "rc-local" }!
        // Inactive, not failed, and never ready.
        members[rc].startQueued = false
        members[rc].isDown = true
        #expect(
            Self.names(planner.orchestrate(&members, queueIsEmpty: true), members).sorted() == [
                "needs-rc fails: rc-local", "start after-rc",
            ])
    }
}
