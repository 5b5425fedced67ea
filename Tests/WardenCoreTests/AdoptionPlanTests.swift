import Testing
import WardenCore

/// What a Warden starting after a SIGKILL does with each component, from the previous
/// Warden's record: its intent × the process alive or gone × an operator's stop × the
/// settings it was started from.
@Suite struct AdoptionPlanTests {
    enum Settings: String, Sendable { case same, changed, unrecorded }
    enum Want: Hashable, Sendable { case start, stayStopped, adopt, stop, restart, replace }

    struct Case: CustomTestStringConvertible, Sendable {
        var recorded = true
        var intent: ComponentIntent?
        var runs: Bool
        var stoppedByOperator = false
        var settings = Settings.same
        var want: Want
        var testDescription: String {
            let record = recorded ? "intent \(intent?.rawValue ?? "none"), settings \(settings.rawValue)" : "no record"
            return "\(record), process \(runs ? "alive" : "gone")\(stoppedByOperator ? ", stopped by operator" : "") → \(want)"
        }
    }

    static let now = UnitFingerprint(recorded: "0123456789abcdef0123456789abcdef")!
    static let older = UnitFingerprint(recorded: "fedcba9876543210fedcba9876543210")!

    static let cases: [Case] = [
        // Nothing begun: kept running, or started when gone (the stack's start).
        Case(intent: nil, runs: true, want: .adopt),
        Case(intent: nil, runs: false, want: .start),
        Case(intent: nil, runs: true, settings: .unrecorded, want: .adopt),
        // An operator's stop: finished when the process still runs, never undone.
        Case(intent: .stop, runs: true, stoppedByOperator: true, want: .stop),
        Case(intent: .stop, runs: false, stoppedByOperator: true, want: .stayStopped),
        Case(intent: .stop, runs: true, want: .stop),
        Case(intent: .stop, runs: false, want: .stayStopped),
        Case(intent: .stop, runs: true, stoppedByOperator: true, settings: .changed, want: .stop),
        Case(recorded: false, runs: false, stoppedByOperator: true, want: .stayStopped),
        // A restart: done again when the old process still runs, else the start half.
        Case(intent: .restart, runs: true, want: .restart),
        Case(intent: .restart, runs: false, want: .start),
        // A reload's replacement, or settings changed while no Warden read them: the
        // reload's replacement; gone, the stack starts the unit as configured.
        Case(intent: .replace, runs: true, want: .replace),
        Case(intent: .replace, runs: false, want: .start),
        Case(intent: nil, runs: true, settings: .changed, want: .replace),
        Case(intent: .restart, runs: true, settings: .changed, want: .replace),
        Case(intent: nil, runs: false, settings: .changed, want: .start),
        Case(recorded: false, runs: false, want: .start),
    ]

    @Test(arguments: cases)
    func plan(_ c: Case) {
        let settings: UnitFingerprint? =
            switch c.settings {
            case .same: Self.now
            case .changed: Self.older
            case .unrecorded: nil
            }
        let record = ComponentRecord(
            unit: "feed.service", process: ProcessIdentity(pid: 4242, startTimeTicks: 7), cgroup: nil, invocationID: "ab",
            settings: settings, intent: c.intent)
        let plan = AdoptionPlan.plan(
            record: c.recorded ? record : nil, processRuns: c.runs, stoppedByOperator: c.stoppedByOperator, settings: Self.now)
        let got: Want
        switch plan {
        case .startAsConfigured: got = .start
        case .stayStopped: got = .stayStopped
        case .takeOver(nil): got = .adopt
        case .takeOver(.stop?): got = .stop
        case .takeOver(.restart?): got = .restart
        case .takeOver(.replace(let reason)?):
            got = .replace
            #expect(reason.contains("4242"), "\(reason)")
            if c.settings == .changed { #expect(reason.contains(Self.older.hex) && reason.contains(Self.now.hex), "\(reason)") }
        }
        #expect(got == c.want)
    }
}
