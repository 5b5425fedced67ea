import Glibc

/// The order executor, the latency-critical component: a 1 ms loop whose wake-up
/// lateness is its health figure (the digest's order-execution target is 2 ms). It is
/// `Type=notify`: READY=1 after the warm-up, WATCHDOG=1 every half `WatchdogSec=`,
/// and a STATUS= line each second with the orders sent and the p99 lateness.
struct Executor: DemoRole {
    static let options = ["warmup-ms", "stall-after"]
    static let usage = """
        executor [--warmup-ms N] [--stall-after SECS]
            Order executor (Type=notify): READY=1 after N ms of warm-up (default 500),
            WATCHDOG=1 every $WATCHDOG_USEC/2, STATUS= with orders sent and the p99 of
            its 1 ms sleep lateness. --stall-after stops the watchdog pings after SECS s
            (a hung executor, for watchdog demos).
        """

    let periodNanoseconds = nanosecondsPerMillisecond
    private let notifier: ServiceManagerSocket?
    private let startNanoseconds = monotonicNanoseconds()
    private let warmupNanoseconds: UInt64
    private let stallAfterNanoseconds: UInt64?
    private let watchdogIntervalNanoseconds: UInt64?
    private var nextWatchdogNanoseconds: UInt64 = 0
    private var nextReportNanoseconds: UInt64 = 0
    private var ready = false
    private var stalled = false
    private var ordersSent = 0
    /// Lateness samples of the current second, in nanoseconds.
    private var lateness: [UInt64] = []
    private var lastNotifyFailure: Int32?

    init(_ arguments: RoleArguments) throws(UsageError) {
        warmupNanoseconds = UInt64(try arguments.integer("warmup-ms", default: 500, in: 0...600_000))
            * nanosecondsPerMillisecond
        let stallAfter = try arguments.number("stall-after", default: -1, in: -1...86_400)
        stallAfterNanoseconds = stallAfter < 0 ? nil : UInt64(stallAfter * Double(nanosecondsPerSecond))
        do {
            notifier = try ServiceManagerSocket.fromEnvironment()
        } catch {
            complain(error.message)
            notifier = nil
        }
        watchdogIntervalNanoseconds = Self.watchdogInterval()
        lateness.reserveCapacity(1_100)
        if let notifier {
            say("executor warming up, will notify \(notifier.name)")
        } else {
            say("executor warming up (no NOTIFY_SOCKET: running without a service manager)")
        }
        if let interval = watchdogIntervalNanoseconds {
            say("watchdog: pinging every \(interval / nanosecondsPerMillisecond) ms")
        }
    }

    /// Half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises, or nil when the
    /// manager set no watchdog or set it for another process (`$WATCHDOG_PID`).
    private static func watchdogInterval() -> UInt64? {
        if let pidText = getenv("WATCHDOG_PID"), Int32(String(cString: pidText)) != getpid() {
            return nil
        }
        guard let usecText = getenv("WATCHDOG_USEC"),
            let usec = UInt64(String(cString: usecText)), usec > 0
        else { return nil }
        return usec * 1_000 / 2
    }

    mutating func tick(nowNanoseconds now: UInt64, latenessNanoseconds: UInt64) {
        if !ready {
            guard now - startNanoseconds >= warmupNanoseconds else { return }
            ready = true
            notify("READY=1\nSTATUS=connected, 0 orders sent")
            say("ready after \((now - startNanoseconds) / nanosecondsPerMillisecond) ms")
            nextReportNanoseconds = now + nanosecondsPerSecond
            nextWatchdogNanoseconds = now
        }
        lateness.append(latenessNanoseconds)
        // About ten orders a second, at random moments.
        if Int.random(in: 0..<100) == 0 { ordersSent += 1 }

        if let interval = watchdogIntervalNanoseconds, now >= nextWatchdogNanoseconds, !stalled {
            if let stallAfter = stallAfterNanoseconds, now - startNanoseconds >= stallAfter {
                stalled = true
                say("stalled: no more watchdog pings")
            } else {
                notify("WATCHDOG=1")
                nextWatchdogNanoseconds = now + interval
            }
        }
        if now >= nextReportNanoseconds {
            let status = "orders sent: \(ordersSent), sleep p99 late: \(percentile99Microseconds()) us"
            notify("STATUS=" + status)
            say(status)
            lateness.removeAll(keepingCapacity: true)
            nextReportNanoseconds += nanosecondsPerSecond
            if nextReportNanoseconds <= now { nextReportNanoseconds = now + nanosecondsPerSecond }
        }
    }

    private func percentile99Microseconds() -> UInt64 {
        guard !lateness.isEmpty else { return 0 }
        let sorted = lateness.sorted()
        return sorted[(sorted.count - 1) * 99 / 100] / 1_000
    }

    mutating func reload() {
        // systemd ≥ 253 pairs RELOADING=1 with the CLOCK_MONOTONIC time in µs.
        notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicNanoseconds() / 1_000)")
        say("reloading: order routes re-read")
        notify("READY=1")
    }

    mutating func freeCaches() {
        let samples = lateness.count
        lateness = []
        lateness.reserveCapacity(1_100)
        say("freeing caches: dropped \(samples) latency samples")
    }

    mutating func finish() {
        notify("STOPPING=1\nSTATUS=shutting down, \(ordersSent) orders sent")
        say("executor stopped: \(ordersSent) orders sent")
    }

    private mutating func notify(_ message: String) {
        guard let notifier else { return }
        let failure = notifier.send(message)
        // One line per change of outcome, not one per failed ping.
        if failure != lastNotifyFailure, let failure {
            complain("notify \(notifier.name) failed: \(errnoText(failure))")
        }
        lastNotifyFailure = failure
    }
}
