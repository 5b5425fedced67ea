import Testing
@testable import WardenCore

/// A stack for the planner: members named by the keys of `units`, in name order.
private struct Stack {
    var planner: StackPlanner
    var members: [StackMember]

    init(
        _ units: [String: UnitDependencies], critical: Set<String> = [], mainProgram: String? = nil,
        running: Bool = true
    ) {
        planner = StackPlanner(graph: DependencyGraph(units), mainProgram: mainProgram)
        members = units.keys.sorted().map { name in
            let deps = units[name]!
            var member = StackMember(
                name: name, priority: critical.contains(name) ? .critical : .normal,
                requiredUnits: Set(deps.requires + deps.bindsTo))
            member.wantsStart = true
            return member
        }
        if running { planner.beginRunning() }
    }

    func index(_ name: String) -> Int { members.firstIndex { $0.name == name && !$0.removed }! }
    subscript(_ name: String) -> StackMember {
        get { members[index(name)] }
        set { members[index(name)] = newValue }
    }

    /// One orchestration pass, decisions spelt with names.
    mutating func orchestrate(queueIsEmpty: Bool = true) -> [String] {
        let decisions = planner.orchestrate(&members, queueIsEmpty: queueIsEmpty)
        return decisions.map(describe)
    }

    mutating func wentDown(_ name: String) -> [String] {
        planner.wentDown(index(name), &members).map(describe)
    }

    /// The machine saw the queued start and the component came up and became ready.
    mutating func ready(_ name: String) {
        self[name].startQueued = false
        self[name].isDown = false
        self[name].readySinceStart = true
    }

    /// The machine saw the queued start, and the start failed.
    mutating func failedToStart(_ name: String) {
        self[name].startQueued = false
        self[name].isDown = true
        self[name].isFailed = true
    }

    func describe(_ decision: StackDecision) -> String {
        switch decision {
        case .forget(let i): "forget \(members[i].name)"
        case .replaceConfiguration(let i): "replace \(members[i].name)"
        case .start(let i): "start \(members[i].name)"
        case .dependencyFailed(let i, let dependency): "\(members[i].name) fails: \(dependency)"
        case .dependencyMasked(let i, let dependency): "\(members[i].name) masked: \(dependency)"
        case .stop(let i, .shutdown): "stop \(members[i].name)"
        case .stop(let i, .stopsWith(let other)): "stop \(members[i].name) with \(other)"
        case .shutDown(.criticalFailed(let name)): "shut down: \(name) failed"
        case .shutDown(.criticalCannotStart(let name)): "shut down: \(name) cannot start"
        case .shutDown(.mainProgramEnded(let name)): "shut down: \(name) ended"
        case .finish: "finish"
        }
    }
}

@Suite struct StackPlannerStartTests {
    @Test func startsInDependencyOrderOnceTheEarlierAreReady() {
        var stack = Stack([
            "db": UnitDependencies(), "app": UnitDependencies(requires: ["db"], after: ["db"]),
            "web": UnitDependencies(after: ["app"]),
        ])
        #expect(stack.orchestrate() == ["start db"])
        #expect(stack.orchestrate() == [], "a queued start is not settled")
        stack.ready("db")
        #expect(stack.orchestrate() == ["start app"])
        stack.ready("app")
        #expect(stack.orchestrate() == ["start web"])
        #expect(stack["web"].startAttempted && stack["web"].startQueued && !stack["web"].wantsStart)
    }

    /// `Requires=` with `After=`: the failed start fails the dependent's (result
    /// `dependency`); `After=` alone does not.
    @Test(arguments: [
        (UnitDependencies(requires: ["db"], after: ["db"]), false, ["app fails: db"]),
        (UnitDependencies(bindsTo: ["db"], after: ["db"]), false, ["app fails: db"]),
        (UnitDependencies(after: ["db"]), false, ["start app"]),
        (UnitDependencies(wants: ["db"], after: ["db"]), false, ["start app"]),
        (UnitDependencies(requires: ["db"], after: ["db"]), true, ["app fails: db", "shut down: app cannot start"]),
    ])
    func aFailedStartFailsWhatRequiresIt(app: UnitDependencies, critical: Bool, expected: [String]) {
        var stack = Stack(["db": UnitDependencies(), "app": app], critical: critical ? ["app"] : [])
        #expect(stack.orchestrate() == ["start db"])
        stack.failedToStart("db")
        #expect(stack.orchestrate() == expected)
        if expected.first == "app fails: db" {
            #expect(stack["app"].dependencyFailure == "db")
            #expect(stack["app"].startSettled && stack["app"].startFailed)
        }
        #expect(stack.planner.phase == (critical ? .shuttingDown : .running))
    }

    /// A oneshot that finished (down again, but ready since its start) lets its
    /// dependents start.
    @Test func aFinishedOneshotCountsAsStarted() {
        var stack = Stack(["setup": UnitDependencies(), "app": UnitDependencies(requires: ["setup"], after: ["setup"])])
        _ = stack.orchestrate()
        stack.ready("setup")
        stack["setup"].isDown = true
        #expect(stack.orchestrate() == ["start app"])
    }

    @Test func nothingHappensBeforeRunningOrAfterTheEnd() {
        var idle = Stack(["a": UnitDependencies()], running: false)
        #expect(idle.orchestrate() == [])
        var stack = Stack(["a": UnitDependencies()])
        stack.planner.markFinished()
        #expect(stack.orchestrate() == [])
    }
}

@Suite struct StackPlannerStopTests {
    /// A shutdown stops a unit only once everything ordered after it is down, and
    /// finishes once all are down and no event waits.
    @Test func shutdownStopsInReverseOrderThenFinishes() {
        var stack = Stack([
            "db": UnitDependencies(), "app": UnitDependencies(after: ["db"]), "web": UnitDependencies(after: ["app"]),
        ])
        for name in ["db", "app", "web"] {
            _ = stack.orchestrate()
            stack.ready(name)
        }
        let began = stack.planner.beginShutdown(&stack.members)
        let beganAgain = stack.planner.beginShutdown(&stack.members)
        #expect(began && !beganAgain, "a second request begins nothing")
        #expect(stack.orchestrate() == ["stop web"])
        #expect(stack.orchestrate() == [], "web's stop is under way")
        stack["web"].isDown = true
        #expect(stack.orchestrate() == ["stop app"])
        stack["app"].isDown = true
        #expect(stack.orchestrate() == ["stop db"])
        stack["db"].isDown = true
        #expect(stack.orchestrate(queueIsEmpty: false) == [], "an event still waits for a machine")
        #expect(stack.orchestrate() == ["finish"])
    }

    @Test func aShutdownCancelsWantedStartsAndReplacements() {
        var stack = Stack(["a": UnitDependencies(), "b": UnitDependencies(after: ["a"])])
        stack["a"].replacement = .init(priority: .normal, requiredUnits: [])
        let began = stack.planner.beginShutdown(&stack.members)
        #expect(began)
        #expect(stack.members.allSatisfy { !$0.wantsStart && $0.replacement == nil })
        #expect(stack.orchestrate() == ["finish"])
    }

    /// systemd's propagation: `BindsTo=` on any stop, `Requires=` only on an explicit
    /// one; nothing for a unit stopped to swap a reloaded configuration in, unless the
    /// stop was explicit.
    @Test(arguments: [
        (UnitDependencies(bindsTo: ["db"], after: ["db"]), false, false, ["stop app with db"]),
        (UnitDependencies(requires: ["db"], after: ["db"]), false, false, []),
        (UnitDependencies(requires: ["db"], after: ["db"]), true, false, ["stop app with db"]),
        (UnitDependencies(after: ["db"]), true, false, []),
        (UnitDependencies(bindsTo: ["db"], after: ["db"]), false, true, []),
        (UnitDependencies(bindsTo: ["db"], after: ["db"]), true, true, ["stop app with db"]),
    ])
    func stopsPropagate(app: UnitDependencies, explicit: Bool, reloading: Bool, expected: [String]) {
        var stack = Stack(["db": UnitDependencies(), "app": app])
        for name in ["db", "app"] {
            _ = stack.orchestrate()
            stack.ready(name)
        }
        stack["db"].explicitStop = explicit
        if reloading { stack["db"].replacement = .init(priority: .normal, requiredUnits: []) }
        stack["db"].isDown = true
        #expect(stack.wentDown("db") == expected)
        #expect(!stack["db"].explicitStop)
        #expect(stack["app"].explicitStop == !expected.isEmpty)
    }

    @Test(arguments: [
        (Priority.critical, true, false, false, ["shut down: db failed"]),
        (Priority.normal, true, false, false, []),
        (Priority.critical, false, false, false, []),
        (Priority.critical, true, true, false, []),
        (Priority.critical, true, false, true, []),
    ])
    func aCriticalFailureEndsTheStack(
        priority: Priority, failed: Bool, reloading: Bool, removed: Bool, expected: [String]
    ) {
        var stack = Stack(["db": UnitDependencies()])
        stack["db"].priority = priority
        _ = stack.orchestrate()
        stack.ready("db")
        let i = stack.index("db")
        stack.members[i].isDown = true
        stack.members[i].isFailed = failed
        stack.members[i].removed = removed
        if reloading { stack.members[i].replacement = .init(priority: priority, requiredUnits: []) }
        let decisions = stack.planner.wentDown(i, &stack.members).map(stack.describe)
        #expect(decisions == expected)
        #expect(stack.planner.phase == (expected.isEmpty ? .running : .shuttingDown))
    }

    @Test func theMainProgramsEndEndsTheStackOnce() {
        var stack = Stack(["main": UnitDependencies(), "db": UnitDependencies()], mainProgram: "main")
        _ = stack.orchestrate()
        stack.ready("main")
        stack.ready("db")
        stack["main"].isDown = true
        #expect(stack.wentDown("main") == ["shut down: main ended"])
        #expect(stack.planner.mainProgramEnded)
        #expect(stack.wentDown("main") == [], "only its first end counts")
    }

    @Test func theMainProgramsEndDuringAShutdownIsRecordedOnly() {
        var stack = Stack(["main": UnitDependencies()], mainProgram: "main")
        _ = stack.orchestrate()
        stack.ready("main")
        _ = stack.planner.beginShutdown(&stack.members)
        stack["main"].isDown = true
        #expect(stack.wentDown("main") == [])
        #expect(stack.planner.mainProgramEnded)
    }
}

@Suite struct StackPlannerReloadTests {
    /// A changed unit is swapped once down and started with its new dependencies; a
    /// removed one is forgotten once down.
    @Test func replacementsSwapInOnceDownAndRemovedUnitsAreForgotten() {
        var stack = Stack(["a": UnitDependencies(), "b": UnitDependencies()])
        _ = stack.orchestrate()
        stack.ready("a")
        stack.ready("b")
        let mustStopA = stack.members[0].await(.init(priority: .critical, requiredUnits: ["b"]))
        let mustStopB = stack.members[1].retire()
        #expect(mustStopA && mustStopB)
        #expect(stack.orchestrate() == [], "both still run")
        stack.members[0].isDown = true
        stack.members[1].isDown = true
        #expect(stack.orchestrate() == ["forget b", "replace a", "start a"])
        #expect(stack.members[0].priority == .critical && stack.members[0].requiredUnits == ["b"])
    }

    @Test func operatorRequests() {
        var member = StackMember(name: "a", priority: .normal, requiredUnits: [])
        member.dependencyFailure = "db"
        member.explicitStop = true
        member.operatorStart()
        #expect(member.dependencyFailure == nil && !member.explicitStop && member.startQueued && member.startAttempted)
        member.isDown = false
        member.wantsStart = true
        member.operatorStop()
        #expect(member.explicitStop && !member.wantsStart)
        member.dependencyFailure = "db"
        member.operatorRestart()
        #expect(member.dependencyFailure == nil)
    }

    @Test func reloadChangesIgnoreWhereSettingsWereWritten() throws {
        var tree = Tree()
        tree.unit("a.service", service("Restart=always"))
        tree.unit("b.service", service(""))
        tree.unit("c.service", service(""))
        let old = try #require(tree.load().configuration)
        tree.files["/u/a.service"] = "\n\n" + service("Restart=always")
        tree.unit("b.service", service("Restart=on-failure"))
        tree.files["/u/c.service"] = nil
        tree.unit("d.service", service(""))
        let new = try #require(tree.load().configuration)
        let changes = ReloadChanges(
            current: Dictionary(uniqueKeysWithValues: old.services.map { ($0.name.description, $0) }), new: new)
        #expect(changes.added == ["d.service"])
        #expect(changes.changed == ["b.service"])
        #expect(changes.removed == ["c.service"])
    }
}

@Suite struct ComponentLogEventTests {
    /// Every event that reports a failure is a warning; the rest are routine.
    @Test(arguments: ComponentLogEvent.allCases)
    func failuresAreWarnings(event: ComponentLogEvent) {
        let failures: Set<ComponentLogEvent> = [
            .failed, .startLimitHit, .spawnFailed, .watchdog, .startTimeout, .stopTimeout, .healthCheckFailed, .oomKill,
            .startBlocked, .assertFailed, .conditionUnevaluated, .reloadFailed,
        ]
        #expect(event.level == (failures.contains(event) ? .warning : .info))
    }
}
