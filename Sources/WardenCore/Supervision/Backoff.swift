// Time for the supervision core: an injected monotonic instant, the restart pause
// (RestartSec=, RestartSteps=, RestartMaxDelaySec=, Warden's jitter) and the start limit.

/// A point on the monotonic clock (`CLOCK_MONOTONIC`), in microseconds. The core never
/// reads a clock: the runtime passes `now` with every event, tests pass whatever they like.
public struct MonotonicInstant: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var usec: UInt64

    public init(usec: UInt64) { self.usec = usec }

    public static let zero = MonotonicInstant(usec: 0)

    /// `self + span`, saturating at the end of time (an infinite span never arrives).
    public func advanced(by span: TimeSpan) -> MonotonicInstant {
        let (sum, overflow) = usec.addingReportingOverflow(span.usec)
        return MonotonicInstant(usec: overflow ? .max : sum)
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    public func since(_ earlier: MonotonicInstant) -> TimeSpan {
        TimeSpan(usec: usec >= earlier.usec ? usec - earlier.usec : 0)
    }

    public static func < (a: MonotonicInstant, b: MonotonicInstant) -> Bool { a.usec < b.usec }

    public var description: String { "@\(usec)us" }
}

extension RestartPolicy {
    /// The pause before the `restartNumber`-th automatic restart (1 for the first), without
    /// jitter: systemd's `service_restart_usec_next()` (systemd ≥ 254).
    ///
    /// With `RestartSteps=n > 0` and a finite `RestartMaxDelaySec=` above `RestartSec=`,
    /// restart i+1 waits `r0 · (rmax / r0)^(i / n)` for i < n, and `rmax` from restart n+1
    /// on; so the pause grows geometrically from `RestartSec=` to `RestartMaxDelaySec=`.
    /// Otherwise every restart waits `RestartSec=`. The counter is systemd's `n_restarts`:
    /// it only resets on an explicit start or `reset-failed`, not after a long healthy run.
    public func restartDelay(forRestart restartNumber: Int) -> TimeSpan {
        let base = restartUSec.usec
        guard restartNumber > 1, restartSteps > 0, base > 0,
            let maxDelay = restartMaxDelayUSec, !maxDelay.isInfinite, base < maxDelay.usec
        else { return restartUSec }
        if restartNumber > restartSteps { return maxDelay }
        let ratio = Double(maxDelay.usec) / Double(base)
        let value = Double(base) * RestartPolicy.power(ratio, restartNumber - 1, over: restartSteps)
        return TimeSpan(usec: RestartPolicy.truncatedMicroseconds(value))
    }

    /// The largest jitter `restartDelay(forRestart:)` may receive: `restartJitterPercent` of it.
    public func maximumRestartJitter(for delay: TimeSpan) -> TimeSpan {
        guard restartJitterPercent > 0, !delay.isInfinite else { return .zero }
        let (high, low) = delay.usec.multipliedFullWidth(by: UInt64(restartJitterPercent))
        let (quotient, _) = UInt64(100).dividingFullWidth((high, low))
        return TimeSpan(usec: quotient)
    }

    /// The pause including jitter, drawn uniformly from
    /// `[delay, delay + maximumRestartJitter(for: delay)]` with the injected generator.
    public func jitteredRestartDelay<R: RandomNumberGenerator>(
        forRestart restartNumber: Int, using rng: inout R
    ) -> TimeSpan {
        jitteredRestartDelay(forRestart: restartNumber, draw: rng.next())
    }

    /// The same with the random 64 bits already drawn: the state machine draws once per event.
    func jitteredRestartDelay(forRestart restartNumber: Int, draw: UInt64) -> TimeSpan {
        let delay = restartDelay(forRestart: restartNumber)
        let spread = maximumRestartJitter(for: delay).usec
        guard spread > 0 else { return delay }
        // Scale the 64-bit draw onto 0...spread (multiply-high, no modulo bias worth naming).
        let jitter = draw.multipliedFullWidth(by: spread &+ 1).high
        return TimeSpan(usec: delay.usec &+ jitter)
    }

    /// `base^(numerator/denominator)` for base > 1 without libm (the core has no Foundation):
    /// the denominator-th root by Newton's method from above, then an integer power.
    static func power(_ base: Double, _ numerator: Int, over denominator: Int) -> Double {
        let n = Double(denominator)
        // Bernoulli: (1 + (b-1)/n)^n ≥ b, so this starts at or above the root and Newton's
        // iteration on the convex x^n - b then decreases monotonically to it.
        var x = 1 + (base - 1) / n
        for _ in 0..<200 {
            let next = ((n - 1) * x + base / integerPower(x, denominator - 1)) / n
            if !(next < x) { break }
            x = next
        }
        return integerPower(x, numerator)
    }

    static func integerPower(_ x: Double, _ exponent: Int) -> Double {
        var result = 1.0
        var factor = x
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result *= factor }
            factor *= factor
            e >>= 1
        }
        return result
    }

    /// systemd truncates its `long double` to whole microseconds. A `Double` computed here
    /// can land a hair below an exact integer (4e6 as 3999999.9999999995), which plain
    /// truncation would turn into an off-by-one; values within rounding error of an
    /// integer are taken as that integer.
    static func truncatedMicroseconds(_ value: Double) -> UInt64 {
        let nearest = value.rounded()
        if abs(value - nearest) <= max(1, value) * 1e-12 { return UInt64(nearest) }
        return UInt64(value.rounded(.towardZero))
    }
}

/// `StartLimitIntervalSec=`/`StartLimitBurst=`: systemd's `ratelimit_below()`. A window
/// opens at the first start; up to `burst` starts are admitted in it; once the interval
/// since the window opened has passed, the next start opens a new window.
public struct StartLimiter: Hashable, Sendable {
    public var burst: Int
    public var intervalUSec: TimeSpan
    public private(set) var windowBegin: MonotonicInstant?
    public private(set) var startsInWindow: Int

    public init(burst: Int, intervalUSec: TimeSpan) {
        self.burst = burst
        self.intervalUSec = intervalUSec
        self.windowBegin = nil
        self.startsInWindow = 0
    }

    /// systemd: a zero interval or burst switches the limit off.
    public var isEnabled: Bool { burst > 0 && intervalUSec.usec > 0 }

    /// Counts a start at `now` and says whether it is allowed.
    public mutating func admit(at now: MonotonicInstant) -> Bool {
        guard isEnabled else { return true }
        if let begin = windowBegin, now.since(begin) <= intervalUSec {
            startsInWindow += 1
            return startsInWindow <= burst
        }
        windowBegin = now
        startsInWindow = 1
        return true
    }

    /// `systemctl reset-failed`: forget every counted start.
    public mutating func reset() {
        windowBegin = nil
        startsInWindow = 0
    }
}
