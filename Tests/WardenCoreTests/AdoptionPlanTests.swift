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

/// The machine's half of an adopted component's fate: after the takeover, the supervisor
/// feeds the plan's follow-up (`stopRequested` for a stop or a replacement,
/// `restartRequested` for a restart, nothing to keep it), then the adopted process ends
/// with a status nobody can read. Under a stop that end is the stop's, whatever
/// `Restart=` says; only a process Warden meant to keep ends as a crash.
@Suite struct AdoptedEndUnderIntentTests {
    enum FollowUp: String, Sendable { case keep, stop, restart }
    enum Want: Hashable, Sendable { case inactive, failed, autoRestart, startedAgain }

    struct Case: CustomTestStringConvertible, Sendable {
        var followUp: FollowUp
        var restart: RestartMode
        var want: Want
        var testDescription: String { "\(followUp.rawValue), Restart=\(restart) → \(want)" }
    }

    static let cases: [Case] = [
        Case(followUp: .stop, restart: .no, want: .inactive),
        Case(followUp: .stop, restart: .onFailure, want: .inactive),
        Case(followUp: .stop, restart: .always, want: .inactive),
        Case(followUp: .restart, restart: .no, want: .startedAgain),
        Case(followUp: .restart, restart: .onFailure, want: .startedAgain),
        Case(followUp: .restart, restart: .always, want: .startedAgain),
        Case(followUp: .keep, restart: .no, want: .failed),
        Case(followUp: .keep, restart: .onFailure, want: .autoRestart),
        Case(followUp: .keep, restart: .always, want: .autoRestart),
    ]

    @Test(arguments: cases)
    func adoptedEnd(_ c: Case) {
        var h = Harness(noJitter(RestartPolicy(type: .simple, restart: c.restart)))
        h.startToRunning(pid: 4242)
        switch c.followUp {
        case .keep: break
        case .stop: h.send(.stopRequested)
        case .restart: h.send(.restartRequested)
        }
        let started = h.history.count
        h.mainDies(.unknown)
        let got: Want
        switch h.state {
        case .inactive: got = .inactive
        case .failed: got = .failed
        case .autoRestartWait: got = .autoRestart
        case .starting: got = h.history[started...].contains(.runCommand(.start, index: 0, resultEnvironment: nil)) ? .startedAgain : .failed
        default:
            Issue.record("unexpected state \(h.state)")
            return
        }
        #expect(got == c.want, "\(h.state), result \(h.machine.result)")
        if c.followUp != .keep { #expect(h.machine.result == .success) }
    }
}
