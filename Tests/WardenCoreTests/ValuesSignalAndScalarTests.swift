import Testing
@testable import WardenCore

@Suite struct ValuesSignalTests {
    static let valid: [(String, Int32)] = [
        ("SIGTERM", 15), ("TERM", 15), ("15", 15), ("SIGKILL", 9), ("KILL", 9), ("SIGHUP", 1), ("SIGINT", 2),
        ("SIGQUIT", 3), ("SIGABRT", 6), ("SIGUSR1", 10), ("SIGUSR2", 12), ("SIGPIPE", 13), ("SIGALRM", 14),
        ("SIGSTKFLT", 16), ("SIGCHLD", 17), ("SIGCONT", 18), ("SIGSTOP", 19), ("SIGTSTP", 20), ("SIGURG", 23),
        ("SIGXCPU", 24), ("SIGWINCH", 28), ("SIGIO", 29), ("SIGPWR", 30), ("SIGSYS", 31), ("SIGRTMIN", 34),
        ("RTMIN", 34), ("SIGRTMIN+3", 37), ("RTMIN+3", 37), ("SIGRTMAX", 64), ("RTMAX", 64), ("SIGRTMAX-1", 63),
        ("RTMAX-30", 34), ("SIGRTMIN+30", 64), ("SIGRTMIN+0", 34), ("SIGRTMAX-0", 64), ("32", 32), ("33", 33),
        ("64", 64), ("1", 1), ("9", 9),
    ]

    @Test(arguments: valid)
    func parsesSignals(text: String, number: Int32) {
        #expect(SignalNumber.parse(text) == .success(SignalNumber(rawValue: number)))
    }

    @Test(arguments: ["0", "65", "-1", "SIGFOO", "sigterm", "Term", "SIGRTMIN+31", "SIGRTMAX-31", "SIGRTMIN-1",
                      "SIGRTMAX+1", "SIGRTMIN+", "", "SIG", "SIGSIGTERM", "SIG15", "RTMIN3", " SIGTERM"])
    func rejectsBadSignals(text: String) {
        expectValueError(SignalNumber.parse(text), mentions: ["'\(text)'", "SIGTERM", "SIGRTMIN+n"])
    }

    @Test(arguments: [(Int32(15), "SIGTERM"), (9, "SIGKILL"), (34, "SIGRTMIN"), (37, "SIGRTMIN+3"),
                      (64, "SIGRTMIN+30"), (32, "32"), (33, "33"), (1, "SIGHUP"), (31, "SIGSYS")])
    func namesSignals(number: Int32, name: String) {
        #expect(SignalNumber(rawValue: number).name == name)
        #expect(SignalNumber(rawValue: number).description == name)
    }

    @Test(arguments: Array(Int32(1)...64))
    func everyNameParsesBack(number: Int32) {
        let signal = SignalNumber(rawValue: number)
        #expect(SignalNumber.parse(signal.name) == .success(signal))
    }
}

@Suite struct ValuesScalarTests {
    @Test(arguments: ["1", "yes", "y", "true", "t", "on", "YES", "On", "TRUE", "Y", "T", "yEs"])
    func parsesTrue(text: String) { #expect(SystemdBoolean.parse(text) == .success(true)) }

    @Test(arguments: ["0", "no", "n", "false", "f", "off", "NO", "Off", "FALSE", "N", "F"])
    func parsesFalse(text: String) { #expect(SystemdBoolean.parse(text) == .success(false)) }

    @Test(arguments: ["2", "yess", "", "enabled", "nope", "ja", "1 ", "+1"])
    func rejectsNonBooleans(text: String) {
        expectValueError(SystemdBoolean.parse(text), mentions: ["'\(text)'", "yes or no"])
    }

    @Test func formatsBooleans() {
        #expect(SystemdBoolean.format(true) == "yes" && SystemdBoolean.format(false) == "no")
    }

    @Test(arguments: [("-20", Int32(-20)), ("19", 19), ("0", 0), ("+5", 5), ("-1", -1), ("10", 10)])
    func parsesNice(text: String, value: Int32) { #expect(Nice.parse(text) == .success(Nice(value: value))) }

    @Test(arguments: [("-21", "out of range"), ("20", "out of range"), ("abc", "not a nice level"), ("", "nice level"),
                      ("1.5", "nice level")])
    func rejectsBadNice(text: String, reason: String) {
        expectValueError(Nice.parse(text), mentions: ["'\(text)'", reason, "-20", "19"])
    }

    @Test(arguments: [("-1000", Int32(-1000)), ("1000", 1000), ("0", 0), ("500", 500), ("-17", -17)])
    func parsesOOMScoreAdjust(text: String, value: Int32) {
        #expect(OOMScoreAdjust.parse(text) == .success(OOMScoreAdjust(value: value)))
    }

    @Test(arguments: ["1001", "-1001", "x", "", "100000000000000000000"])
    func rejectsBadOOMScoreAdjust(text: String) {
        expectValueError(OOMScoreAdjust.parse(text), mentions: ["'\(text)'", "-1000", "1000"])
    }

    @Test(arguments: [("0", Int32(0)), ("1", 1), ("99", 99), ("50", 50)])
    func parsesSchedulingPriority(text: String, value: Int32) {
        #expect(CPUSchedulingPriority.parse(text) == .success(CPUSchedulingPriority(value: value)))
    }

    @Test(arguments: ["100", "-1", "high", ""])
    func rejectsBadSchedulingPriority(text: String) {
        expectValueError(CPUSchedulingPriority.parse(text), mentions: ["'\(text)'", "1 to 99"])
    }

    @Test(arguments: [(Int32(0), SchedulingPolicy.fifo, false), (1, .fifo, true), (50, .rr, true), (0, .rr, false),
                      (0, .other, true), (5, .other, false), (5, .batch, false), (0, .idle, true), (0, .batch, true)])
    func checksPriorityAgainstPolicy(value: Int32, policy: SchedulingPolicy, fine: Bool) {
        let problem = CPUSchedulingPriority(value: value).problem(with: policy)
        #expect((problem == nil) == fine)
        if let problem { #expect(problem.message.contains(policy.rawValue)) }
    }

    @Test(arguments: [("0", UInt32(0)), ("10", 10), ("4294967295", .max), ("0x10", 16)])
    func parsesRestartSteps(text: String, value: UInt32) { #expect(RestartSteps.parse(text) == .success(value)) }

    @Test(arguments: [("4294967296", "out of range"), ("-1", "RestartSteps"), ("x", "RestartSteps"), ("", "RestartSteps")])
    func rejectsBadRestartSteps(text: String, reason: String) {
        expectValueError(RestartSteps.parse(text), mentions: ["'\(text)'", reason, "0 to 4294967295"])
    }

    @Test(arguments: [("5", UInt32(5)), ("0", 0), ("100", 100)])
    func parsesStartLimitBurst(text: String, value: UInt32) { #expect(StartLimitBurst.parse(text) == .success(value)) }

    @Test(arguments: ["-5", "five", "5.0"])
    func rejectsBadStartLimitBurst(text: String) {
        expectValueError(StartLimitBurst.parse(text), mentions: ["'\(text)'", "StartLimitBurst"])
    }

    @Test(arguments: [("0027", UInt32(0o27), "0027"), ("022", 0o22, "0022"), ("0", 0, "0000"), ("7777", 0o7777, "7777"),
                      ("0777", 0o777, "0777"), ("077", 0o77, "0077")])
    func parsesUMask(text: String, value: UInt32, canonical: String) {
        #expect(UMask.parse(text) == .success(UMask(value: value)))
        #expect(UMask(value: value).description == canonical)
    }

    @Test(arguments: [("8", "octal"), ("0o22", "octal"), ("10000", "out of range"), ("-022", "octal"), ("", "octal"),
                      ("0x1f", "octal")])
    func rejectsBadUMask(text: String, reason: String) {
        expectValueError(UMask.parse(text), mentions: ["'\(text)'", reason, "0022"])
    }
}

@Suite struct DecimalDigitsTests {
    @Test(arguments: [
        ("0", UInt64(0) as UInt64?), ("18446744073709551615", UInt64.max), ("18446744073709551616", nil),
        ("", nil), ("12a", nil), ("-1", nil), (" 1", nil), ("0042", 42),
    ])
    func unsigned(text: String, expected: UInt64?) {
        var text = text
        #expect(text.withUTF8 { DecimalDigits.unsigned($0) } == expected)
    }
}

@Suite struct ContainsBytesTests {
    @Test(arguments: [
        ("/usr/bin/../x", "..", true), ("/usr/bin/x", "..", false), ("//x", "//", true), ("/a/./b", "/./", true),
        ("/a/.b", "/./", false), ("", "", true), ("ab", "", true), ("", "a", false), ("a", "ab", false),
        ("x@.service", "@.", true), ("x@y.service", "@.", false), ("aab", "ab", true), ("ab", "ab", true),
        ("/ü/./", "/./", true), ("é..", "..", true),
    ])
    func occurrence(text: String, part: String, expected: Bool) {
        #expect(text.containsBytes(part) == expected)
    }
}
