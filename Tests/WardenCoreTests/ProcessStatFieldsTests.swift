import Testing
import WardenCore

/// `/proc/PID/stat` lines from a 6.18 kernel, and the cases around comm and short lines.
@Suite struct ProcessStatFieldsTests {
    /// A process whose comm (`prctl(PR_SET_NAME)`) is `x) y (z`.
    static let parenthesesInName =
        "4760 (x) y (z) R 4714 4714 18378 0 -1 4194304 2896 6525 1 0 6 1 4 3 20 0 1 0 1454045 17162240 3428 18446744073709551615 93845180207104 93845180207445 140726582122944 0 0 0 0 16781312 2 0 0 0 17 0 0 0 0 0 0 93845180218800 93845180219416 93845880082432 140726582130803 140726582130955 140726582130955 140726582132687 0\n"
    /// A kernel thread: no memory of its own.
    static let kernelThread =
        "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 26 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    /// PID 1 with a negative nice and 40 threads.
    static let initProcess =
        "1 (process_api) S 0 0 0 0 -1 4194560 54589 282525829 0 58905 804 6889 1192011 279528 10 -10 40 0 26 53518336 3162 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

    static func parse(_ line: String) -> ProcessStatFields? { ProcessStatFields.parse(Array(line.utf8)) }

    @Test func realLines() {
        #expect(Self.parse(Self.parenthesesInName) == ProcessStatFields(
            state: UInt8(ascii: "R"), parentPID: 4714, processGroupID: 4714, sessionID: 18378, userTicks: 6, systemTicks: 1,
            threads: 1, startTicks: 1_454_045, virtualBytes: 17_162_240, residentPages: 3428))
        #expect(ProcessStatFields.commandName(Array(Self.parenthesesInName.utf8)) == "x) y (z")
        #expect(Self.parse(Self.kernelThread) == ProcessStatFields(
            state: UInt8(ascii: "S"), parentPID: 0, processGroupID: 0, sessionID: 0, userTicks: 0, systemTicks: 0,
            threads: 1, startTicks: 26, virtualBytes: 0, residentPages: 0))
        #expect(ProcessStatFields.commandName(Array(Self.kernelThread.utf8)) == "kthreadd")
        let initProcess = Self.parse(Self.initProcess)
        #expect(initProcess?.cpuTicks == 804 + 6889)
        #expect(initProcess?.threads == 40)
        #expect(initProcess?.startTicks == 26)
        #expect(initProcess?.isZombie == false)
    }

    @Test(arguments: [
        ("1 (sh) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 4242 0 0", UInt64(4242)),
        ("77 (a) b) c) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 1 2", UInt64(99)),
        ("5 (short) S 1 2", nil),
        ("9 (two  spaces)  S  1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 31337", UInt64(31337)),
        ("3 (x) S 1 3 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12x 0", nil),
        ("4 (x) S 1 4 4 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999 0", nil),
        ("no parenthesis at all", nil),
        ("", nil),
        ("no parenthesis here 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", nil),
    ] as [(String, UInt64?)])
    func startTimeIsCountedAfterTheLastParenthesis(line: String, expected: UInt64?) {
        #expect(Self.parse(line)?.startTicks == expected)
    }

    @Test(arguments: [
        ("1 (a) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0", 1),
        ("9 (a b) c) R 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 12 0 5 0", 12),
        ("9 (a) R 1 9 9", nil),
    ] as [(String, UInt64?)])
    func threadsAreField20(line: String, expected: UInt64?) {
        #expect(Self.parse(line)?.threads == expected)
    }

    @Test func sizesAreOptionalAndTheProcessFieldsAreRead() {
        let line = "77 (x) Z 1 70 60 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500"
        let fields = Self.parse(line)
        #expect(fields?.virtualBytes == nil)
        #expect(fields?.residentPages == nil)
        #expect(fields?.parentPID == 1)
        #expect(fields?.processGroupID == 70)
        #expect(fields?.sessionID == 60)
        #expect(fields?.isZombie == true)
        #expect(ProcessStatFields.commandName(Array("no name".utf8)) == nil)
    }
}
