import Testing
@testable import WardenCore

/// A trigger event counts only when the `some total=` stall bears it out.
@Suite struct GovernorPressureEvidenceTests {
    static let critical = FiredTrigger(resource: .cpu, level: .critical)
    static let io = FiredTrigger(resource: .io, level: .critical)
    static let share = Percentage(percent: 25)

    /// One step: milliseconds since the start, the cpu total (µs), whether the event fires
    /// now, and what the step must confirm and drop.
    struct Step {
        var ms: UInt64
        var total: UInt64?
        var fires = false
        var confirmed = false
        var dropped = false
    }

    static let cases: [(String, [Step])] = [
        ("an event after a calm waits for the second reading, which bears it out",
         [Step(ms: 0, total: 0), Step(ms: 60_000, total: 10_000, fires: true),
          Step(ms: 60_250, total: 10_000 + 100_000, confirmed: true)]),
        ("an event with no stall behind it is dropped at the second reading",
         [Step(ms: 0, total: 0), Step(ms: 60_000, total: 10_000, fires: true),
          Step(ms: 60_250, total: 10_500, dropped: true)]),
        ("exactly the share over the span is enough (62.5 ms of 250 ms is 25 %)",
         [Step(ms: 0, total: 0, fires: true), Step(ms: 250, total: 62_500, confirmed: true)]),
        ("one microsecond short of the share is not",
         [Step(ms: 0, total: 0, fires: true), Step(ms: 250, total: 62_499, dropped: true)]),
        ("a reading within the window is a checkpoint: the event is judged at once",
         [Step(ms: 0, total: 0), Step(ms: 600, total: 300_000, fires: true, confirmed: true)]),
        ("a checkpoint closer than the shortest span waits until the span is long enough",
         [Step(ms: 0, total: 0), Step(ms: 100, total: 90_000, fires: true),
          Step(ms: 250, total: 200_000, confirmed: true)]),
        ("a checkpoint older than the window does not dilute: the event waits",
         [Step(ms: 0, total: 0), Step(ms: 1_500, total: 400_000, fires: true),
          Step(ms: 1_750, total: 480_000, confirmed: true)]),
        ("a total that went backwards (the group was recreated) starts afresh",
         [Step(ms: 0, total: 900_000), Step(ms: 500, total: 1_000, fires: true),
          Step(ms: 750, total: 101_000, confirmed: true)]),
        ("an unreadable file drops the event",
         [Step(ms: 0, total: 0), Step(ms: 500, total: nil, fires: true, dropped: true)]),
        ("two events while one waits are judged once",
         [Step(ms: 0, total: 0, fires: true), Step(ms: 100, total: 50_000, fires: true),
          Step(ms: 250, total: 100_000, confirmed: true)]),
    ]

    @Test(arguments: cases)
    func evidence(_ name: String, _ steps: [Step]) {
        var evidence = PressureEvidence(window: .seconds(1))
        for step in steps {
            let now = MonotonicInstant(usec: 1_000_000_000 + step.ms * 1_000)
            var totals: [PressureResource: UInt64] = [:]
            totals[.cpu] = step.total
            let fired = step.fires ? [(trigger: Self.critical, share: Self.share)] : []
            let judged = evidence.judge(fired: fired, totals: totals, at: now)
            evidence.observe(totals: totals, at: now)
            #expect(judged.confirmed == (step.confirmed ? [Self.critical] : []), "\(name) at \(step.ms) ms")
            #expect(judged.dropped == (step.dropped ? [Self.critical] : []), "\(name) at \(step.ms) ms")
        }
        #expect(evidence.pending.isEmpty, "\(name): nothing left waiting")
        #expect(evidence.followUpAt == nil)
    }

    @Test func theFollowUpIsAQuarterWindowAfterTheCheckpoint() {
        var evidence = PressureEvidence(window: .seconds(2))
        let now = MonotonicInstant(usec: 5_000_000)
        _ = evidence.judge(fired: [(Self.io, Self.share)], totals: [.io: 7], at: now)
        #expect(evidence.followUpAt == now.advanced(by: TimeSpan(usec: 500_000)))
        // A short window still judges over at least 100 ms.
        #expect(PressureEvidence(window: TimeSpan(usec: 200_000)).shortestSpan == TimeSpan(usec: 100_000))
    }

    @Test func readingsOfOtherResourcesDoNotMoveAWaitingCheckpoint() {
        var evidence = PressureEvidence(window: .seconds(1))
        let start = MonotonicInstant(usec: 10_000_000)
        _ = evidence.judge(fired: [(Self.critical, Self.share)], totals: [.cpu: 0, .io: 0], at: start)
        // A reading 2 s later without events must not replace the cpu checkpoint its event waits on.
        evidence.observe(totals: [.cpu: 1_000_000, .io: 0], at: start.advanced(by: .seconds(2)))
        let judged = evidence.judge(fired: [], totals: [.cpu: 1_000_000, .io: 0], at: start.advanced(by: .seconds(2)))
        #expect(judged.confirmed == [Self.critical], "judged on the 2 s since the event: 50 %")
    }
}
