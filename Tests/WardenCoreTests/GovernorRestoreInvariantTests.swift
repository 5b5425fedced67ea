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
    static let step = zip(Gen.int(in: 0...99), Gen.int(in: 0...7), Gen.int(in: 0...31), Gen.int(in: 0...7))
        .map { GovernorStep(kind: $0, a: $1, b: $2, c: $3) }
    static let script = step.array(of: 0...40).map { GovernorScript(steps: $0) }

    /// Runs the script, then the final off and cooldowns; the wrong values and the trace.
    static func run(_ script: GovernorScript) -> (wrong: [String], left: [GovernorChange], trace: [String]) {
        var world = GovernorRestoreWorld()
        for step in script.steps { world.perform(step) }
        world.finish()
        return (world.wrongValues, world.state.changes, world.trace)
    }

    @Test func everyValueEndsAsConfiguredOrAsTheOperatorSetIt() async {
        await propertyCheck(count: 1000, input: Self.script) { script in
            let outcome = Self.run(script)
            #expect(
                outcome.wrong.isEmpty && outcome.left.isEmpty,
                "\(outcome.wrong.joined(separator: "; ")); left on record: \(outcome.left)\n\(outcome.trace.joined(separator: "\n"))")
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
