import PropertyBased
import Testing

@testable import WardenCore

/// Exact restore as an invariant: whatever happens between the governor's first write and
/// the end of the emergency (tier changes, manual on/off/expiry, component restarts, a
/// SIGKILLed Warden resuming from its state file, reloads that change a unit's own quota,
/// operators writing values of their own), once the emergency is off and the cooldowns
/// have passed every value is the configuration's, or the operator's where one wrote it.
@Suite struct GovernorRestoreInvariantTests {
    /// A step from four small numbers (GovernorStep.init(kind:a:b:c:)).
    static let step = zip(Gen.int(in: 0...99), Gen.int(in: 0...7), Gen.int(in: 0...63), Gen.int(in: 0...7))
        .map { GovernorStep(kind: $0, a: $1, b: $2, c: $3) }
    static let script = step.array(of: 0...40).map { GovernorScript(steps: $0) }

    /// Runs the script, then the final off and cooldowns: the values that are not as
    /// configured or set by an operator (and every write that lowered the CPU of a group
    /// holding a component that is not batch), the records left, and the trace.
    static func run(_ script: GovernorScript, tracing: Bool = false) -> (wrong: [String], left: [GovernorChange], trace: [String]) {
        var world = GovernorRestoreWorld()
        world.tracing = tracing
        for step in script.steps { world.perform(step) }
        world.finish()
        return (world.wrongValues + world.lowered.map { "lowered: \($0)" }, world.state.changes, world.trace)
    }

    @Test func everyValueEndsAsConfiguredOrAsTheOperatorSetIt() async {
        await propertyCheck(count: 1000, input: Self.script) { script in
            let outcome = Self.run(script)
            guard !outcome.wrong.isEmpty || !outcome.left.isEmpty else { return }
            let traced = Self.run(script, tracing: true)
            Issue.record(
                "\(outcome.wrong.joined(separator: "; ")); left on record: \(outcome.left)\n\(traced.trace.joined(separator: "\n"))")
        }
    }

    @Test func theStateFileReadsBackAsTheStateAtEveryStep() async {
        await propertyCheck(count: 200, input: Self.script) { script in
            var world = GovernorRestoreWorld()
            for step in script.steps {
                world.perform(step)
                #expect(GovernorState.decode(world.stateFile) == .success(world.state), "after \(step)")
            }
        }
    }
}

/// The shortest sequences the property found, each a bug of its own, kept as they shrank.
@Suite struct GovernorRestoreRegressionTests {
    static func wrongValues(_ steps: [GovernorStep]) -> [String] {
        let outcome = GovernorRestoreInvariantTests.run(GovernorScript(steps: steps))
        return outcome.wrong + outcome.left.map { "left on record: \($0)" }
    }

    /// batch.service's own quota equals the emergency quota (50%): its new group, after a
    /// restart with its `CPUQuota=` back at 50%, holds exactly what the governor wrote to
    /// the old one, so only the group's identity tells that the record of `max` is void.
    @Test func aGroupCreatedAgainHoldingTheThrottledValueIsRestoredToItsConfiguration() {
        #expect(
            Self.wrongValues([
                .reload("batch.service", cpuMax: "max 100000"), .signals(.crit, after: 1),
                .reload("batch.service", cpuMax: "50000 100000"),
            ]) == [])
    }

    /// The same after a SIGKILL: the new Warden knows the old group's identity only from
    /// the state file.
    @Test func theIdentityOfTheGroupWrittenToSurvivesASIGKILL() {
        #expect(
            Self.wrongValues([
                .reload("batch.service", cpuMax: "max 100000"), .signals(.crit, after: 1),
                .daemonKilled(groupsRecreated: false), .reload("batch.service", cpuMax: "50000 100000"),
            ]) == [])
    }
}

extension GovernorRestoreRegressionTests {
    /// An operator who changed a throttled value and then set it to the very value the
    /// governor had written: it is theirs from their first change on, and stays.
    @Test func aValueAnOperatorTookOverStaysTheirsEvenAtTheGovernorsValue() {
        #expect(
            Self.wrongValues([
                .manualOn(quotaPercent: nil, targets: [], freezeBatch: false, forSeconds: nil), .signals(.calm, after: 1),
                .operatorWrites("backtest.service", kind: .group, file: "cpu.weight", value: "50"), .signals(.calm, after: 1),
                .operatorWrites("backtest.service", kind: .group, file: "cpu.weight", value: "1"),
            ]) == [])
    }
}

extension GovernorRestoreRegressionTests {
    /// A reload sets batch.slice's own quota to the very value the governor wrote: the
    /// value found is the governor's, but the configuration changed, and a restore of the
    /// old `max` would undo the reload.
    @Test func aReloadToTheThrottledValueIsTheValueToRestore() {
        #expect(Self.wrongValues([.signals(.crit, after: 1), .reload("batch.slice", cpuMax: "50000 100000")]) == [])
    }

    /// A reload writes a throttled slice's configured values over the throttle: the
    /// governor throttles it again and restores the new configuration, no conflict.
    @Test func aReloadOverAThrottledSliceIsThrottledAgainAndRestoredToTheNewValue() {
        var world = GovernorRestoreWorld()
        world.perform(.signals(.crit, after: 1))
        world.perform(.reload("batch.slice", cpuMax: "80000 100000"))
        world.decide(.crit, "critical")
        #expect(world.kernel["group batch.slice"]?["cpu.max"] == "50000 100000")
        #expect(world.state.changes.first { $0.target == "batch.slice" && $0.file == "cpu.max" }?.previous == "80000 100000")
        world.finish()
        #expect(world.wrongValues == [])
    }
}

extension GovernorRestoreRegressionTests {
    /// Warden SIGKILLed while batch.service is throttled to 50%, its components killed with
    /// it and started again by the new Warden at the unit's own `CPUQuota=50%`: the value
    /// found is the one the governor wrote, but the group is another. `off` must leave the
    /// unit's own 50%, not write back the `max` the old group had.
    @Test func aSIGKILLThatRecreatesTheGroupsLeavesTheUnitsOwnQuota() {
        #expect(
            Self.wrongValues([
                .operatorWrites("batch.service", kind: .group, file: "cpu.max", value: "max 100000"), .signals(.crit, after: 1),
                .daemonKilled(groupsRecreated: true),
            ]) == [])
    }
}
