// Signal names and numbers (`signal_from_string()`), Linux x86_64.

/// A Linux signal number, named as in unit files (`KillSignal=SIGTERM`).
///
/// Numbers are the Linux x86_64 (and generic) ones. Real-time signals follow glibc,
/// as systemd does: the kernel's real-time range starts at 32, but glibc reserves
/// 32 and 33 for its threads implementation, so `SIGRTMIN` is 34 and `SIGRTMAX` 64
/// (`_NSIG - 1`). 32 and 33 have no name and are accepted only as numbers.
public struct SignalNumber: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let realtimeMinimum: Int32 = 34
    public static let realtimeMaximum: Int32 = 64

    public static let hangup = SignalNumber(rawValue: 1)
    public static let interrupt = SignalNumber(rawValue: 2)
    public static let kill = SignalNumber(rawValue: 9)
    public static let terminate = SignalNumber(rawValue: 15)
    public static let continueSignal = SignalNumber(rawValue: 18)
    public static let stop = SignalNumber(rawValue: 19)

    /// Names without the `SIG` prefix, indexed by number (1…31).
    static let names: [String] = [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
        "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
        "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ]

    static let expectation =
        "a signal name such as SIGTERM or TERM, a number from 1 to 64, or SIGRTMIN+n / SIGRTMAX-n (n from 0 to 30)"

    /// Parses as systemd's `signal_from_string()`: a number 1…64; a name with or
    /// without `SIG` (`SIGTERM`, `TERM`; case-sensitive); `RTMIN`, `RTMIN+n`,
    /// `RTMAX`, `RTMAX-n` with or without `SIG`, n from 0 to 30.
    public static func parse(_ text: String) -> Result<SignalNumber, ValueError> {
        if let n = ValueSyntax.signed(text) {
            guard n >= 1 && n <= Int64(realtimeMaximum) else {
                return .failure(ValueError("'\(text)' is not a signal number; expected \(expectation)"))
            }
            return .success(SignalNumber(rawValue: Int32(n)))
        }
        var name = Substring(text)
        if name.hasPrefix("SIG") { name = name.dropFirst(3) }
        if let index = names.firstIndex(of: String(name)), index > 0 {
            return .success(SignalNumber(rawValue: Int32(index)))
        }
        let span = Int64(realtimeMaximum - realtimeMinimum)
        if name.hasPrefix("RTMIN") {
            let rest = name.dropFirst(5)
            if rest.isEmpty { return .success(SignalNumber(rawValue: realtimeMinimum)) }
            if rest.first == "+", let n = ValueSyntax.signed(rest), n >= 0, n <= span {
                return .success(SignalNumber(rawValue: realtimeMinimum + Int32(n)))
            }
        } else if name.hasPrefix("RTMAX") {
            let rest = name.dropFirst(5)
            if rest.isEmpty { return .success(SignalNumber(rawValue: realtimeMaximum)) }
            if rest.first == "-", let n = ValueSyntax.signed(rest), n <= 0, n >= -span {
                return .success(SignalNumber(rawValue: realtimeMaximum + Int32(n)))
            }
        }
        return .failure(.notA(text, "a signal", expected: expectation))
    }

    /// `SIGTERM`, `SIGRTMIN`, `SIGRTMIN+3`; the number for 32 and 33.
    public var name: String {
        if rawValue >= 1 && rawValue < Int32(Self.names.count) { return "SIG" + Self.names[Int(rawValue)] }
        if rawValue == Self.realtimeMinimum { return "SIGRTMIN" }
        if rawValue > Self.realtimeMinimum && rawValue <= Self.realtimeMaximum {
            return "SIGRTMIN+\(rawValue - Self.realtimeMinimum)"
        }
        return String(rawValue)
    }

    public var description: String { name }

    public static func < (a: SignalNumber, b: SignalNumber) -> Bool { a.rawValue < b.rawValue }
}
