/// The dashboard: light, infrequent output, the component that can wait.
struct Dashboard: DemoRole {
    static let options = ["interval-ms"]
    static let usage = """
        dashboard [--interval-ms N]
            Dashboard: a refresh line every N ms (default 5000).
        """

    let periodNanoseconds: UInt64
    private var refreshes = 0
    private let startNanoseconds = monotonicNanoseconds()

    init(_ arguments: RoleArguments) throws(UsageError) {
        periodNanoseconds = UInt64(try arguments.integer("interval-ms", default: 5_000, in: 1...3_600_000))
            * nanosecondsPerMillisecond
        say("dashboard serving 4 panels")
    }

    mutating func tick(nowNanoseconds: UInt64, latenessNanoseconds: UInt64) {
        refreshes += 1
        let uptimeSeconds = (nowNanoseconds - startNanoseconds) / nanosecondsPerSecond
        say("dashboard refresh \(refreshes): 4 panels, up \(uptimeSeconds) s")
    }
}
