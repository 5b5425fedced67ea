/// What the supervisor keeps about one component beside its `ComponentMachine`: where it
/// stands in the start and stop of the whole stack. The machine knows one component's
/// life; this knows why Warden wants it started or stopped.
public struct StackMember: Hashable, Sendable {
    public let name: String
    public var priority: Priority
    /// `Requires=` and `BindsTo=`: a failed start of one of these fails this start too.
    public var requiredUnits: Set<String>

    /// Down: the machine is inactive, failed or blocked (a restart pause is not down).
    /// Refreshed from the machine before each plan.
    public var isDown = true
    /// Down in state failed. Refreshed from the machine before each plan.
    public var isFailed = false

    /// Waiting for the units it is ordered after before starting.
    public var wantsStart = false
    /// A start request is queued but the machine has not seen it yet.
    public var startQueued = false
    /// Warden asked for a start at least once in this configuration.
    public var startAttempted = false
    /// The start reached readiness since Warden last asked for one (automatic restarts
    /// keep it), or was skipped by an unmet condition (systemd finishes such a start job
    /// as done): for the units ordered after this one the start succeeded, even when a
    /// `Type=oneshot` unit is down again by now.
    public var readySinceStart = false
    /// Not started because a `Requires=`/`BindsTo=` unit ordered before it failed.
    public var dependencyFailure: String?
    /// A stop Warden asked for (shutdown, reload, propagation, an operator) is under way.
    public var explicitStop = false
    /// A reload changed the unit: once down, its new configuration is swapped in and it
    /// starts again.
    public var replacement: Replacement?
    /// The unit is gone from the configuration; forgotten once down.
    public var removed = false

    /// What a reloaded unit brings that the plan needs.
    public struct Replacement: Hashable, Sendable {
        public var priority: Priority
        public var requiredUnits: Set<String>
        public init(priority: Priority, requiredUnits: Set<String>) {
            self.priority = priority
            self.requiredUnits = requiredUnits
        }
    }

    public init(name: String, priority: Priority, requiredUnits: Set<String>) {
        self.name = name
        self.priority = priority
        self.requiredUnits = requiredUnits
    }

    /// The start finished one way or the other, for the units ordered after this one.
    public var startSettled: Bool {
        readySinceStart || dependencyFailure != nil || (startAttempted && !startQueued && isDown)
    }

    /// The start failed, for its `Requires=`/`BindsTo=` dependents.
    public var startFailed: Bool {
        dependencyFailure != nil || (startAttempted && !startQueued && isDown && !readySinceStart)
    }

    // MARK: What an operator asks for

    /// `warden start`: a fresh start, whatever failed before.
    public mutating func operatorStart() {
        explicitStop = false
        dependencyFailure = nil
        startAttempted = true
        readySinceStart = false
        startQueued = true
    }

    /// `warden stop`: down, and not started again by the plan.
    public mutating func operatorStop() {
        wantsStart = false
        if !isDown { explicitStop = true }
    }

    /// `warden restart`.
    public mutating func operatorRestart() {
        wantsStart = false
        dependencyFailure = nil
        startAttempted = true
    }

    // MARK: What a reload does

    /// The unit is gone from the new configuration. Returns whether it must be stopped.
    public mutating func retire() -> Bool {
        removed = true
        wantsStart = false
        replacement = nil
        if !isDown { explicitStop = true }
        return !isDown
    }

    /// The unit's settings changed: stopped, then started with the new ones. Returns
    /// whether it must be stopped first.
    public mutating func await(_ replacement: Replacement) -> Bool {
        self.replacement = replacement
        wantsStart = false
        return !isDown
    }
}

/// Why the stack goes down.
public enum ShutdownCause: Hashable, Sendable {
    /// A `Priority=critical` component failed for good.
    case criticalFailed(String)
    /// A `Priority=critical` component cannot start: a unit it requires failed.
    case criticalCannotStart(String)
    /// The main program (`warden run -- CMD`) ended.
    case mainProgramEnded(String)
}

/// Why a component is stopped by the plan.
public enum PlannedStopReason: Hashable, Sendable {
    /// The stack shuts down, and everything ordered after it is down.
    case shutdown
    /// A unit it `Requires=` or is bound to (`BindsTo=`) stopped.
    case stopsWith(String)
}

/// One thing the supervisor must do for the stack. Indices are into the member list the
/// plan was given.
public enum StackDecision: Hashable, Sendable {
    /// A removed unit is down: forget it.
    case forget(Int)
    /// A reloaded unit is down: swap its new configuration in (a fresh machine).
    case replaceConfiguration(Int)
    /// Feed `startRequested` to its machine.
    case start(Int)
    /// Not started: `dependency`, which it requires, failed (result `dependency`).
    case dependencyFailed(Int, dependency: String)
    /// Not started: `dependency`, which it requires, is masked.
    case dependencyMasked(Int, dependency: String)
    /// Feed `stopRequested` to its machine.
    case stop(Int, PlannedStopReason)
    /// Begin the graceful shutdown of everything (the plan is already in phase
    /// `shuttingDown`); the supervisor logs the cause, arms the budget and marks the
    /// exit status.
    case shutDown(ShutdownCause)
    /// Everything is down after a shutdown: Warden may exit.
    case finish
}

/// The stack-level decisions of the supervisor, pure: from the members, the dependency
/// graph and the daemon's phase, what to start, stop, swap or fail. `Requires=`/`BindsTo=`
/// propagation, the end of the stack after a critical failure or the main program's
/// exit, and the reverse stop order of a shutdown are decided here; the runtime feeds the
/// machines and logs.
public struct StackPlanner: Sendable {
    public enum Phase: Hashable, Sendable {
        case idle, running, shuttingDown, finished
    }

    public private(set) var phase: Phase = .idle
    public var graph: DependencyGraph
    /// The main program's unit (`warden run -- CMD`), whose end ends the stack.
    public let mainProgram: String?
    /// The main program ended (its status is Warden's from then on).
    public private(set) var mainProgramEnded = false

    public init(graph: DependencyGraph, mainProgram: String? = nil) {
        self.graph = graph
        self.mainProgram = mainProgram
    }

    /// From idle to running (`start()`).
    public mutating func beginRunning() {
        if phase == .idle { phase = .running }
    }

    /// The supervisor has exited.
    public mutating func markFinished() {
        phase = .finished
    }

    /// Starts the shutdown: no member is started again and pending replacements are
    /// dropped. Returns whether a shutdown began now (false: one was under way already,
    /// or the stack never ran, which `finishesAtOnce` tells).
    public mutating func beginShutdown(_ members: inout [StackMember]) -> Bool {
        guard phase == .running else {
            if phase == .idle { phase = .shuttingDown }
            return false
        }
        phase = .shuttingDown
        for i in members.indices {
            members[i].wantsStart = false
            members[i].replacement = nil
        }
        return true
    }

    /// One pass of orchestration: what may start starts, reloaded units swap their new
    /// configuration in once down, and a shutdown stops whatever no running unit is
    /// ordered before. `queueIsEmpty`: no event is waiting for any machine (a shutdown
    /// finishes only then).
    public mutating func orchestrate(_ members: inout [StackMember], queueIsEmpty: Bool) -> [StackDecision] {
        var decisions: [StackDecision] = []
        switch phase {
        case .idle, .finished:
            return []
        case .running:
            for i in members.indices where members[i].removed && members[i].isDown {
                decisions.append(.forget(i))
            }
            for i in members.indices where !members[i].removed && members[i].isDown {
                guard let replacement = members[i].replacement else { continue }
                members[i].replacement = nil
                members[i].priority = replacement.priority
                members[i].requiredUnits = replacement.requiredUnits
                members[i].startAttempted = false
                members[i].readySinceStart = false
                members[i].dependencyFailure = nil
                members[i].wantsStart = true
                decisions.append(.replaceConfiguration(i))
            }
            let current = currentIndices(members)
            for i in members.indices.sorted(by: { members[$0].name < members[$1].name })
            where !members[i].removed && members[i].wantsStart {
                considerStart(i, &members, current, &decisions)
            }
        case .shuttingDown:
            let running = Set(members.lazy.filter { !$0.isDown }.map(\.name))
            var stopped = false
            for i in members.indices where !members[i].isDown && !members[i].explicitStop {
                let dependents = graph.startsBefore[members[i].name] ?? []
                guard dependents.isDisjoint(with: running) else { continue }
                members[i].explicitStop = true
                decisions.append(.stop(i, .shutdown))
                stopped = true
            }
            if queueIsEmpty && !stopped && members.allSatisfy(\.isDown) { decisions.append(.finish) }
        }
        return decisions
    }

    /// Member `index` went down for good (not into a restart pause): the main program's
    /// end, stop propagation along `Requires=`/`BindsTo=`, and the end of the stack when a
    /// critical component failed.
    public mutating func wentDown(_ index: Int, _ members: inout [StackMember]) -> [StackDecision] {
        let wasExplicit = members[index].explicitStop
        members[index].explicitStop = false
        let member = members[index]
        var decisions: [StackDecision] = []
        if member.name == mainProgram, !mainProgramEnded, !member.removed {
            mainProgramEnded = true
            if beginShutdown(&members) { return [.shutDown(.mainProgramEnded(member.name))] }
        }
        guard phase == .running else { return [] }

        // systemd: Requires=/BindsTo= propagate an explicit stop, BindsTo= also an exit or
        // a failure. Not for a stop that restarts the unit after a reload.
        if member.replacement == nil && !member.removed || wasExplicit {
            let cause: StopCause = wasExplicit ? .explicitStop : .exitedOrFailed
            let current = currentIndices(members)
            for name in graph.unitsToStop(when: member.name, stopsBecause: cause) {
                guard let other = current[name], !members[other].isDown else { continue }
                members[other].explicitStop = true
                decisions.append(.stop(other, .stopsWith(member.name)))
            }
        }
        if member.isFailed && member.priority == .critical && member.replacement == nil && !member.removed {
            if beginShutdown(&members) { decisions.append(.shutDown(.criticalFailed(member.name))) }
        }
        return decisions
    }

    private func currentIndices(_ members: [StackMember]) -> [String: Int] {
        var byName: [String: Int] = [:]
        for i in members.indices where !members[i].removed { byName[members[i].name] = i }
        return byName
    }

    private mutating func considerStart(
        _ i: Int, _ members: inout [StackMember], _ current: [String: Int], _ decisions: inout [StackDecision]
    ) {
        let name = members[i].name
        if let masked = members[i].requiredUnits.sorted().first(where: graph.maskedUnits.contains) {
            members[i].wantsStart = false
            members[i].dependencyFailure = masked
            decisions.append(.dependencyMasked(i, dependency: masked))
            if members[i].priority == .critical, beginShutdown(&members) {
                decisions.append(.shutDown(.criticalCannotStart(name)))
            }
            return
        }
        let before = graph.startsAfter[name] ?? []
        for other in before {
            guard let j = current[other] else { continue }
            if !members[j].startSettled { return }
        }
        let required = members[i].requiredUnits
        if let failed = before.sorted().first(where: { other in
            required.contains(other) && current[other].map { members[$0].startFailed } == true
        }) {
            members[i].wantsStart = false
            members[i].dependencyFailure = failed
            decisions.append(.dependencyFailed(i, dependency: failed))
            if members[i].priority == .critical, beginShutdown(&members) {
                decisions.append(.shutDown(.criticalCannotStart(name)))
            }
            return
        }
        members[i].wantsStart = false
        members[i].startAttempted = true
        members[i].readySinceStart = false
        members[i].dependencyFailure = nil
        members[i].startQueued = true
        decisions.append(.start(i))
    }
}

/// What a reload changes, by unit name: a unit whose settings differ (not only where they
/// were written) is stopped and started again with the new ones; one that is gone is
/// stopped and forgotten.
public struct ReloadChanges: Hashable, Sendable {
    public var added: [String] = []
    public var changed: [String] = []
    public var removed: [String] = []

    public init(current: [String: ServiceConfig], new: Configuration) {
        let newNames = Set(new.services.map(\.name.description))
        removed = current.keys.filter { !newNames.contains($0) }.sorted()
        for service in new.services {
            let name = service.name.description
            guard let old = current[name] else {
                added.append(name)
                continue
            }
            if old.differsInSettings(from: service) { changed.append(name) }
        }
        added.sort()
        changed.sort()
    }
}
