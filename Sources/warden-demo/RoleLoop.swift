import Glibc

/// One role of the demo stack: work done on a fixed period, plus answers to the
/// control signals. The loop in `run(_:)` owns time and signals; roles only react.
protocol DemoRole {
    /// Time between two `tick` calls.
    var periodNanoseconds: UInt64 { get }
    /// One period's work. `latenessNanoseconds` is how long after its deadline the
    /// loop woke: the scheduling delay the executor reports.
    mutating func tick(nowNanoseconds: UInt64, latenessNanoseconds: UInt64)
    /// SIGUSR1: release what can be released.
    mutating func freeCaches()
    /// SIGHUP.
    mutating func reload()
    /// SIGTERM/SIGINT, after "shutting down" was logged: last words before exit 0.
    mutating func finish()
}

extension DemoRole {
    mutating func freeCaches() { say("freeing caches: nothing cached") }
    mutating func reload() { say("reloading: configuration unchanged") }
    mutating func finish() {}
}

/// Runs `role` until a shutdown request, then exits 0.
func run<Role: DemoRole>(_ role: inout Role, inbox: inout SignalInbox) -> Never {
    var deadline = monotonicNanoseconds() + role.periodNanoseconds
    while true {
        if let request = inbox.wait(untilNanoseconds: deadline) {
            switch request {
            case .shutDown:
                say("shutting down")
                role.finish()
                exit(0)
            case .freeCaches:
                role.freeCaches()
            case .reload:
                role.reload()
            }
            continue
        }
        let now = monotonicNanoseconds()
        role.tick(nowNanoseconds: now, latenessNanoseconds: now > deadline ? now - deadline : 0)
        deadline += role.periodNanoseconds
        // After a stall (the process was frozen or starved), resume the rhythm from
        // now instead of firing a burst of catch-up ticks.
        if deadline <= now { deadline = now + role.periodNanoseconds }
    }
}
