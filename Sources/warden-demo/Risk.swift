/// The risk engine: a periodic check of a simulated exposure against its limit.
struct Risk: DemoRole {
    static let options = ["interval-ms"]
    static let usage = """
        risk [--interval-ms N]
            Risk engine: a check line every N ms (default 500).
        """

    let periodNanoseconds: UInt64
    private var checks = 0
    private var exposurePercent = 30.0
    private var breaches = 0

    init(_ arguments: RoleArguments) throws(UsageError) {
        periodNanoseconds = UInt64(try arguments.integer("interval-ms", default: 500, in: 1...60_000))
            * nanosecondsPerMillisecond
        say("risk engine ready: exposure limit 100%")
    }

    mutating func tick(nowNanoseconds: UInt64, latenessNanoseconds: UInt64) {
        checks += 1
        exposurePercent = min(120, max(0, exposurePercent + Double.random(in: -4...4)))
        let verdict: String
        if exposurePercent > 100 {
            breaches += 1
            verdict = "over limit, blocking new orders"
        } else {
            verdict = "ok"
        }
        say("risk check \(checks): exposure \(fixed(exposurePercent, decimals: 1))% of limit, \(verdict)")
    }

    mutating func reload() {
        say("reloading: limits re-read, exposure limit 100%")
    }

    mutating func finish() {
        say("risk engine stopped after \(checks) checks, \(breaches) over limit")
    }
}
