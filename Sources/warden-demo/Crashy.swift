import Glibc

/// A component that fails on schedule, for restart, backoff and
/// `RestartPreventExitStatus=` demos. SIGTERM before the deadline still exits 0.
struct Crashy: DemoRole {
    static let options = ["exit-code", "after"]
    static let usage = """
        crashy [--exit-code N] [--after SECS]
            Exits with status N (default 1) after SECS seconds (default 3, fractions allowed).
        """

    let periodNanoseconds: UInt64
    private let exitCode: Int32

    init(_ arguments: RoleArguments) throws(UsageError) {
        exitCode = Int32(try arguments.integer("exit-code", default: 1, in: 0...255))
        let afterSeconds = try arguments.number("after", default: 3, in: 0...86_400)
        periodNanoseconds = UInt64(afterSeconds * Double(nanosecondsPerSecond))
        say("crashy: will exit with status \(exitCode) in \(fixed(afterSeconds, decimals: 1)) s")
    }

    mutating func tick(nowNanoseconds: UInt64, latenessNanoseconds: UInt64) {
        say("crashy: exiting with status \(exitCode)")
        exit(exitCode)
    }
}
