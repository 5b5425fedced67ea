import Testing
import WardenCore

// Swift Testing has its own `ExitStatus` (exit tests); the tests mean Warden's.
typealias ExitStatus = WardenCore.ExitStatus

// Shared test support for the supervision tests: a seeded generator and a harness that
// drives a ComponentMachine with an injected clock.

/// SplitMix64: tiny, seedable, good enough to make jitter deterministic in tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum Sig {
    static let hup: Int32 = 1, int: Int32 = 2, abrt: Int32 = 6, kill: Int32 = 9
    static let usr1: Int32 = 10, segv: Int32 = 11, pipe: Int32 = 13, term: Int32 = 15
}

extension TimeSpan {
    static func us(_ v: UInt64) -> TimeSpan { TimeSpan(usec: v) }
}

func at(_ usec: UInt64) -> MonotonicInstant { MonotonicInstant(usec: usec) }
func seconds(_ s: UInt64) -> MonotonicInstant { MonotonicInstant(usec: s * 1_000_000) }

/// Drives one machine; records every action; the clock only moves when told to.
struct Harness {
    var machine: ComponentMachine
    var now = MonotonicInstant.zero
    var rng = SplitMix64(seed: 42)
    var history: [ComponentAction] = []

    init(_ policy: RestartPolicy, _ commands: ServiceCommands = ServiceCommands()) {
        machine = ComponentMachine(policy: policy, commands: commands)
    }

    var state: ComponentState { machine.state }

    @discardableResult
    mutating func send(_ event: ComponentEvent) -> [ComponentAction] {
        let actions = machine.handle(event, now: now, rng: &rng)
        history += actions
        return actions
    }

    @discardableResult
    mutating func send(_ event: ComponentEvent, at instant: MonotonicInstant) -> [ComponentAction] {
        now = instant
        return send(event)
    }

    /// Moves the clock to the timer's deadline and fires it.
    @discardableResult
    mutating func fire(_ kind: TimerKind) -> [ComponentAction] {
        guard let deadline = machine.timers[kind] else {
            Issue.record("timer \(kind) is not armed in \(machine.state)")
            return []
        }
        now = deadline
        return send(.timerFired(kind))
    }

    /// A Type=simple/exec/notify component from inactive to running.
    mutating func startToRunning(pid: Int32 = 100) {
        send(.startRequested)
        send(.spawned(pid: pid))
        if case .starting(.main(_, .exec)) = machine.state { send(.execSucceeded) }
        if case .starting(.main(_, .ready)) = machine.state { send(.notify(.ready)) }
    }

    /// The main process exits and the cgroup empties.
    mutating func mainDies(_ status: ExitStatus) {
        send(.mainExited(status))
        send(.allProcessesGone)
    }
}

func noJitter(_ p: RestartPolicy) -> RestartPolicy {
    var p = p
    p.restartJitterPercent = 0
    return p
}

func logEvents(_ actions: [ComponentAction]) -> [String] {
    actions.compactMap { if case .log(let event, _) = $0 { event.rawValue } else { nil } }
}

func withoutLogs(_ actions: [ComponentAction]) -> [ComponentAction] {
    actions.filter { if case .log = $0 { false } else { true } }
}

@Suite struct SupervisionHarnessTests {
    @Test func seededGeneratorIsDeterministic() {
        var a = SplitMix64(seed: 7)
        var b = SplitMix64(seed: 7)
        var c = SplitMix64(seed: 8)
        let xs = (0..<5).map { _ in a.next() }
        #expect(xs == (0..<5).map { _ in b.next() })
        #expect(xs != (0..<5).map { _ in c.next() })
    }

    @Test func monotonicInstantArithmeticSaturates() {
        #expect(at(5).advanced(by: .us(7)) == at(12))
        #expect(at(5).advanced(by: .infinity) == MonotonicInstant(usec: .max))
        #expect(at(12).since(at(5)) == .us(7))
        #expect(at(5).since(at(12)) == .zero)
    }
}

@Suite struct SupervisionThroughputTests {
    /// Prints how fast the machine handles a crash-restart cycle (6 events); asserts only
    /// the outcome, never the time.
    @Test func crashRestartCyclesPrintThroughput() {
        var machine = ComponentMachine(
            policy: RestartPolicy(restart: .always, startLimitIntervalUSec: .zero),
            commands: ServiceCommands(stopPost: [.plain]))
        var rng = SplitMix64(seed: 3)
        var now = MonotonicInstant.zero
        let cycles = 20_000
        let clock = ContinuousClock()
        var actionCount = 0
        let elapsed = clock.measure {
            actionCount += machine.handle(.startRequested, now: now, rng: &rng).count
            for pid in 0..<cycles {
                actionCount += machine.handle(.spawned(pid: Int32(pid)), now: now, rng: &rng).count
                actionCount += machine.handle(.mainExited(.exited(code: 1)), now: now, rng: &rng).count
                actionCount += machine.handle(.allProcessesGone, now: now, rng: &rng).count
                actionCount += machine.handle(.spawned(pid: -1), now: now, rng: &rng).count
                actionCount += machine.handle(.hookExited(.exited(code: 0)), now: now, rng: &rng).count
                guard let deadline = machine.timers[.restartDelay] else { break }
                now = deadline
                actionCount += machine.handle(.timerFired(.restartDelay), now: now, rng: &rng).count
            }
        }
        #expect(machine.restartCount == cycles)
        let events = Double(cycles * 6)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("supervision: \(cycles) crash-restart cycles, \(Int(events)) events, \(actionCount) actions in \(elapsed); \(Int(events / seconds)) events/s")
    }
}
