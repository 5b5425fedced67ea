import Testing
import WardenCore

@Suite struct SupervisionBackoffTests {
    /// RestartSec=1s RestartSteps=4 RestartMaxDelaySec=16s: the pause doubles each restart.
    @Test func stepsInterpolateGeometricallyToTheMaximum() {
        let p = RestartPolicy(restartUSec: .seconds(1), restartSteps: 4, restartMaxDelayUSec: .seconds(16))
        let delays = (1...7).map { p.restartDelay(forRestart: $0) }
        #expect(delays == [1, 2, 4, 8, 16, 16, 16].map { TimeSpan.seconds($0) })
    }

    /// Non-power cases, against values computed independently with
    /// r0 * (rmax/r0)^((n-1)/steps), truncated to microseconds as systemd does.
    @Test(arguments: [
        (2, UInt64(464_158)),  // 100000 * 100^(1/3) = 464158.88
        (3, UInt64(2_154_434)),  // 100000 * 100^(2/3) = 2154434.69
        (4, UInt64(10_000_000)),
        (9, UInt64(10_000_000)),
    ])
    func fractionalSteps(restart: Int, expectedUSec: UInt64) {
        let p = RestartPolicy(restartUSec: .milliseconds(100), restartSteps: 3, restartMaxDelayUSec: .seconds(10))
        #expect(p.restartDelay(forRestart: restart) == .us(expectedUSec))
    }

    @Test func manyStepsStayMonotonicAndBounded() {
        let p = RestartPolicy(restartUSec: .milliseconds(100), restartSteps: 50, restartMaxDelayUSec: .seconds(300))
        var previous = TimeSpan.zero
        for n in 1...60 {
            let d = p.restartDelay(forRestart: n)
            #expect(d >= previous)
            #expect(d >= .milliseconds(100) && d <= .seconds(300))
            previous = d
        }
        #expect(p.restartDelay(forRestart: 51) == .seconds(300))
    }

    @Test(arguments: [
        RestartPolicy(restartUSec: .seconds(2)),  // no steps
        RestartPolicy(restartUSec: .seconds(2), restartSteps: 5),  // no maximum
        RestartPolicy(restartUSec: .seconds(2), restartSteps: 5, restartMaxDelayUSec: .infinity),
        RestartPolicy(restartUSec: .seconds(2), restartSteps: 5, restartMaxDelayUSec: .seconds(1)),  // max below
        RestartPolicy(restartUSec: .seconds(2), restartSteps: 5, restartMaxDelayUSec: .seconds(2)),
    ])
    func pauseStaysRestartSecWithoutGrowthSettings(policy: RestartPolicy) {
        for n in 1...8 { #expect(policy.restartDelay(forRestart: n) == .seconds(2)) }
    }

    @Test func zeroRestartSecNeverGrows() {
        let p = RestartPolicy(restartUSec: .zero, restartSteps: 3, restartMaxDelayUSec: .seconds(10))
        #expect(p.restartDelay(forRestart: 5) == .zero)
        var rng = SplitMix64(seed: 1)
        let jittered = p.jitteredRestartDelay(forRestart: 5, using: &rng)
        #expect(jittered == .zero)
    }

    @Test func jitterStaysWithinItsBoundsAndSpreads() {
        let p = RestartPolicy(restartUSec: .seconds(10), restartJitterPercent: 10)
        #expect(p.maximumRestartJitter(for: .seconds(10)) == .seconds(1))
        var rng = SplitMix64(seed: 2024)
        var lowest = TimeSpan.infinity
        var highest = TimeSpan.zero
        for _ in 0..<2000 {
            let d = p.jitteredRestartDelay(forRestart: 1, using: &rng)
            #expect(d >= .seconds(10) && d <= .us(11_000_000))
            lowest = min(lowest, d)
            highest = max(highest, d)
        }
        // A fleet spreads over the whole window, not a sliver of it.
        #expect(lowest < .us(10_050_000))
        #expect(highest > .us(10_950_000))
    }

    @Test func jitterIsDeterministicForASeedAndOffWhenZero() {
        let p = RestartPolicy(restartUSec: .seconds(3))
        var a = SplitMix64(seed: 9)
        var b = SplitMix64(seed: 9)
        let sameForSameSeed = p.jitteredRestartDelay(forRestart: 1, using: &a) == p.jitteredRestartDelay(forRestart: 1, using: &b)
        #expect(sameForSameSeed)
        let exact = noJitter(p)
        var c = SplitMix64(seed: 9)
        for _ in 0..<100 {
            let delay = exact.jitteredRestartDelay(forRestart: 1, using: &c)
            #expect(delay == .seconds(3))
        }
    }

    @Test func jitterAppliesToTheMaximumDelayToo() {
        let p = RestartPolicy(
            restartUSec: .seconds(1), restartSteps: 2, restartMaxDelayUSec: .seconds(100), restartJitterPercent: 20)
        var rng = SplitMix64(seed: 5)
        for _ in 0..<200 {
            let d = p.jitteredRestartDelay(forRestart: 10, using: &rng)
            #expect(d >= .seconds(100) && d <= .seconds(120))
        }
    }

    // MARK: Start limit (systemd ratelimit_below)

    @Test func startLimitAdmitsBurstStartsPerWindow() {
        var limiter = StartLimiter(burst: 5, intervalUSec: .seconds(10))
        let admitted = [0, 1, 2, 3, 4, 5, 9].map { limiter.admit(at: seconds(UInt64($0))) }
        #expect(admitted == [true, true, true, true, true, false, false])
        // Exactly the interval after the window opened is still inside it.
        let refusedAtIntervalEnd = !limiter.admit(at: seconds(10))
        #expect(refusedAtIntervalEnd)
        let admittedAfterInterval = limiter.admit(at: at(10_000_001))
        #expect(admittedAfterInterval)
        #expect(limiter.startsInWindow == 1)
        #expect(limiter.windowBegin == at(10_000_001))
    }

    @Test func startLimitIsOffWithZeroBurstOrInterval() {
        var a = StartLimiter(burst: 0, intervalUSec: .seconds(10))
        var b = StartLimiter(burst: 5, intervalUSec: .zero)
        for t in 0..<50 {
            let admittedWithoutBurst = a.admit(at: at(UInt64(t)))
            #expect(admittedWithoutBurst)
            let admittedWithoutInterval = b.admit(at: at(UInt64(t)))
            #expect(admittedWithoutInterval)
        }
    }

    @Test func startLimitResetForgetsTheWindow() {
        var limiter = StartLimiter(burst: 2, intervalUSec: .seconds(10))
        let firstTwoAdmitted = limiter.admit(at: seconds(1)) && limiter.admit(at: seconds(2))
        #expect(firstTwoAdmitted)
        let thirdRefused = !limiter.admit(at: seconds(3))
        #expect(thirdRefused)
        limiter.reset()
        let admittedAfterReset = limiter.admit(at: seconds(4))
        #expect(admittedAfterReset)
    }
}
