import Testing
@testable import WardenCore

/// Records an issue unless `result` failed with a message containing every fragment.
func expectValueError<T>(_ result: Result<T, ValueError>, mentions fragments: [String]) {
    switch result {
    case .success(let value):
        Issue.record("expected an error mentioning \(fragments), got \(value)")
    case .failure(let error):
        for fragment in fragments {
            #expect(error.message.contains(fragment), "'\(error.message)' should mention '\(fragment)'")
        }
    }
}

@Suite struct ValuesTimeSpanTests {
    static let valid: [(String, UInt64)] = [
        ("1min 30s", 90_000_000), ("1min30s", 90_000_000), ("250ms", 250_000), ("5", 5_000_000),
        ("0.5s", 500_000), (".5s", 500_000), ("0", 0), ("1.5", 1_500_000), ("1.5min", 90_000_000),
        ("1s", 1_000_000), ("1sec", 1_000_000), ("1second", 1_000_000), ("2seconds", 2_000_000),
        ("2m", 120_000_000), ("2min", 120_000_000), ("2minute", 120_000_000), ("2minutes", 120_000_000),
        ("1h", 3_600_000_000), ("1hr", 3_600_000_000), ("1hour", 3_600_000_000), ("2hours", 7_200_000_000),
        ("2 h", 7_200_000_000), ("3 min", 180_000_000), ("1d", 86_400_000_000), ("1day", 86_400_000_000),
        ("2days", 172_800_000_000), ("1w", 604_800_000_000), ("1week", 604_800_000_000),
        ("2weeks", 1_209_600_000_000), ("1M", 2_629_800_000_000), ("1month", 2_629_800_000_000),
        ("2months", 5_259_600_000_000), ("1y", 31_557_600_000_000), ("1year", 31_557_600_000_000),
        ("2years", 63_115_200_000_000), ("10us", 10), ("10usec", 10), ("10\u{00B5}s", 10),
        ("10\u{03BC}s", 10), ("10ms", 10_000), ("10msec", 10_000), ("5 6", 11_000_000),
        ("0.0000001s", 0), ("1.2345678s", 1_234_567), ("+5s", 5_000_000), ("1s 500ms", 1_500_000),
        ("1d 2h 3min 4s 5ms 6us", 93_784_005_006), ("12.34 .56", 12_900_000), ("1h30m", 5_400_000_000),
        ("\t1s\n", 1_000_000), ("  2s  ", 2_000_000), ("1.5h", 5_400_000_000), ("0.001s", 1_000),
        ("1s500ms", 1_500_000), ("100ms", 100_000), ("90s", 90_000_000), ("1min 0s", 60_000_000),
        ("584541y", 18_446_711_061_600_000_000), ("infinity", .max), (" infinity ", .max),
        ("5s 5s", 10_000_000), ("0.25ms", 250), ("3.5d", 302_400_000_000),
    ]

    @Test(arguments: valid)
    func parsesSystemdTimeSpans(text: String, usec: UInt64) {
        #expect(TimeSpan.parse(text) == .success(TimeSpan(usec: usec)))
    }

    @Test(arguments: [("500", UInt64(500)), ("1ms", 1_000), ("1s", 1_000_000), ("2.5", 2), ("infinity", .max)])
    func parsesWithMicrosecondDefaultUnit(text: String, usec: UInt64) {
        #expect(TimeSpan.parse(text, defaultUnit: TimeSpan(usec: 1)) == .success(TimeSpan(usec: usec)))
    }

    @Test(arguments: [("5", UInt64(300_000_000)), ("5s", 5_000_000), ("0.5", 30_000_000)])
    func parsesWithMinuteDefaultUnit(text: String, usec: UInt64) {
        #expect(TimeSpan.parse(text, defaultUnit: .seconds(60)) == .success(TimeSpan(usec: usec)))
    }

    static let invalid: [(String, String)] = [
        ("", "empty"), ("   ", "empty"), ("-5s", "negative"), ("5 -3s", "negative"), ("5x", "unknown unit"),
        ("abc", "time span"), ("1.s", "decimal point"), ("3.", "decimal point"), (".", "decimal point"),
        ("12.34.56", "unknown unit"), ("5 secs", "time span"), ("infinityx", "time span"),
        ("infinity 5", "time span"), ("1S", "unknown unit"), ("1 S", "time span"), ("1ns", "unknown unit"),
        ("+", "time span"), ("+s", "time span"), ("99999999999999999999", "too large"),
        ("584542y", "too large"), ("584541y 584541y", "too large"), ("1,5s", "unknown unit"), ("1e3s", "unknown unit"),
        ("s", "time span"), ("ms", "time span"), ("1min x", "time span"), ("INFINITY", "time span"),
        ("5 s s", "time span"), ("0x10", "unknown unit"),
    ]

    @Test(arguments: invalid)
    func rejectsMalformedTimeSpans(text: String, reason: String) {
        expectValueError(TimeSpan.parse(text), mentions: ["'\(text)'", reason, "1min 30s"])
    }

    static let formatted: [(UInt64, String)] = [
        (0, "0"), (.max, "infinity"), (90_000_000, "1min 30s"), (250_000, "250ms"), (1_500_000, "1.500000s"),
        (1, "1us"), (1_000_000, "1s"), (3_600_000_000, "1h"), (86_400_000_000, "1d"),
        (93_784_005_006, "1d 2h 3min 4.005006s"), (61_500_000, "1min 1.500000s"), (1_500, "1.500ms"),
        (31_557_600_000_000, "1y"), (2_629_800_000_000, "1month"), (604_800_000_000, "1w"),
        (100_000, "100ms"), (5_400_000_000, "1h 30min"), (60_000_000, "1min"), (999, "999us"),
        (1_000, "1ms"), (59_000_000, "59s"), (3_661_000_000, "1h 1min 1s"),
    ]

    @Test(arguments: formatted)
    func formatsLikeFormatTimespan(usec: UInt64, text: String) {
        #expect(TimeSpan(usec: usec).systemdString() == text)
    }

    @Test(arguments: [(UInt64(1_500_000), "1.500s"), (90_000_000, "1min 30s"), (1_234, "1ms"), (250_000, "250ms")])
    func formatsWithMillisecondAccuracy(usec: UInt64, text: String) {
        #expect(TimeSpan(usec: usec).systemdString(accuracy: .milliseconds(1)) == text)
    }

    @Test(arguments: [UInt64(0), 1, 999, 1_000, 1_500, 250_000, 1_500_000, 59_999_999, 60_000_000, 61_500_000,
                      93_784_005_006, 2_629_800_000_001, 31_557_600_000_000, 18_446_711_061_600_000_000, .max])
    func formattedSpanParsesBack(usec: UInt64) {
        let text = TimeSpan(usec: usec).systemdString()
        #expect(TimeSpan.parse(text) == .success(TimeSpan(usec: usec)), "\(text)")
    }
}
