import Testing
@testable import WardenCore

@Suite struct ValuesCPUTests {
    static let validQuotas: [(String, UInt64)] = [
        ("150%", 1_500_000), ("100%", 1_000_000), ("12.5%", 125_000), ("0.01%", 100), ("400%", 4_000_000),
        ("1%", 10_000), ("50\u{2030}", 50_000), ("1\u{2031}", 100), ("33.33%", 333_300), ("1000%", 10_000_000),
        ("0.1%", 1_000),
    ]

    @Test(arguments: validQuotas)
    func parsesCPUQuota(text: String, perSecondUSec: UInt64) {
        #expect(CPUQuota.parse(text) == .success(CPUQuota(perSecondUSec: perSecondUSec)))
    }

    @Test func emptyCPUQuotaResets() {
        #expect(CPUQuota.parse("") == .success(nil))
    }

    static let invalidQuotas: [(String, String)] = [
        ("150", "150%"), ("0%", "above 0%"), ("-5%", "150%"), ("abc", "CPU quota"), ("1.234%", "150%"),
        ("%", "150%"), ("150 %", "150%"), ("1.5", "one CPU"), ("infinity", "150%"), ("0.00%", "above 0%"),
    ]

    @Test(arguments: invalidQuotas)
    func rejectsBadCPUQuota(text: String, reason: String) {
        expectValueError(CPUQuota.parse(text), mentions: ["'\(text)'", reason])
    }

    @Test func messageForBareNumberSaysWhatIsExpected() {
        #expect(CPUQuota.parse("150") == .failure(ValueError("'150' is not a CPU quota; expected a percentage such as 150% (100% = one CPU)")))
    }

    static let cpuMaxCases: [(UInt64, UInt64?, UInt64, UInt64)] = [
        (1_500_000, nil, 150_000, 100_000), (100_000, nil, 10_000, 100_000), (10_000, nil, 1_000, 100_000),
        (5_000, nil, 1_000, 200_000), (100, nil, 1_000, 1_000_000), (1_500_000, 500, 1_500, 1_000),
        (1_500_000, 2_000_000, 1_500_000, 1_000_000), (2_000_000, 50_000, 100_000, 50_000),
        (500_000, nil, 50_000, 100_000), (1_000_000, 1_000_000, 1_000_000, 1_000_000),
        (250_000, 10_000, 2_500, 10_000), (20_000, 10_000, 1_000, 50_000),
    ]

    @Test(arguments: cpuMaxCases)
    func computesCPUMaxAsSystemd(perSecond: UInt64, period: UInt64?, quota: UInt64, effectivePeriod: UInt64) {
        let q = CPUQuota(perSecondUSec: perSecond)
        let v = q.cpuMax(periodUSec: period)
        #expect(v.quotaUSec == quota)
        #expect(v.periodUSec == effectivePeriod)
        #expect(q.cpuMaxValue(periodUSec: period) == "\(quota) \(effectivePeriod)")
    }

    @Test func cpuMaxTextForOneAndAHalfCPUs() {
        #expect(CPUQuota(perSecondUSec: 1_500_000).cpuMaxValue() == "150000 100000")
        #expect(CPUQuota.unlimitedCPUMaxValue == "max 100000")
    }

    @Test(arguments: [(UInt64(1_500_000), "150%"), (125_000, "12.5%"), (100, "0.01%"), (333_300, "33.33%")])
    func formatsCPUQuota(perSecond: UInt64, text: String) {
        #expect(CPUQuota(perSecondUSec: perSecond).description == text)
        #expect(CPUQuota.parse(text) == .success(CPUQuota(perSecondUSec: perSecond)))
    }

    @Test(arguments: [("", UInt64?.none), ("infinity", nil), ("100ms", 100_000), ("1s", 1_000_000), ("5", 5_000_000),
                      ("500us", 500)])
    func parsesQuotaPeriod(text: String, usec: UInt64?) {
        #expect(CPUQuotaPeriod.parse(text) == .success(usec.map { TimeSpan(usec: $0) }))
    }

    @Test(arguments: ["abc", "-1s", "5x"])
    func rejectsBadQuotaPeriod(text: String) {
        expectValueError(CPUQuotaPeriod.parse(text), mentions: ["'\(text)'", "CPU quota period", "100ms"])
    }

    @Test func notesPeriodClamping() {
        let quota = CPUQuota(perSecondUSec: 1_500_000)
        #expect(CPUQuotaPeriod.clampingNote(period: .milliseconds(100), quota: quota) == nil)
        let note = CPUQuotaPeriod.clampingNote(period: .seconds(2), quota: quota)
        #expect(note?.contains("clamped to 1s") == true)
        #expect(CPUQuotaPeriod.clampingNote(period: .milliseconds(10), quota: CPUQuota(perSecondUSec: 10_000))?
            .contains("100ms") == true)
    }

    static let validCPUWeights: [(String, CPUWeight?)] = [
        ("idle", .idle), ("1", .weight(1)), ("100", .weight(100)), ("10000", .weight(10_000)), ("", nil),
        ("500", .weight(500)),
    ]

    @Test(arguments: validCPUWeights)
    func parsesCPUWeight(text: String, weight: CPUWeight?) {
        #expect(CPUWeight.parse(text) == .success(weight))
        if let weight { #expect(weight.description == text) }
    }

    @Test(arguments: ["0", "10001", "-1", "abc", "IDLE", "1.5", "100%"])
    func rejectsBadCPUWeight(text: String) {
        expectValueError(CPUWeight.parse(text), mentions: ["'\(text)'", "1 to 10000", "idle"])
    }

    @Test(arguments: [("1", UInt64?(1)), ("100", 100), ("10000", 10_000), ("", nil)])
    func parsesIOWeight(text: String, weight: UInt64?) {
        #expect(IOWeight.parse(text) == .success(weight.map { IOWeight(value: $0) }))
    }

    @Test(arguments: ["0", "10001", "idle", "-5", "x"])
    func rejectsBadIOWeight(text: String) {
        expectValueError(IOWeight.parse(text), mentions: ["'\(text)'", "1 to 10000"])
    }

    static let validSets: [(String, [Int])] = [
        ("0-3,6", [0, 1, 2, 3, 6]), ("0-3 6", [0, 1, 2, 3, 6]), ("1", [1]), ("", []), ("0,,1", [0, 1]),
        (" 0 , 2 ", [0, 2]), ("3,1,2", [1, 2, 3]), ("0-0", [0]), ("8191", [8191]), ("0-1 1-2", [0, 1, 2]),
        ("2-4\t7", [2, 3, 4, 7]), ("0-1,4\n", [0, 1, 4]), ("5,5,5", [5]),
    ]

    @Test(arguments: validSets)
    func parsesCPUSets(text: String, indices: [Int]) {
        #expect(CPUSet.parse(text) == .success(CPUSet(indices)))
    }

    static let invalidSets: [(String, String)] = [
        ("3-0", "reversed"), ("8192", "8192"), ("0-8192", "8192"), ("a", "not an index"), ("1-", "not an index"),
        ("-1", "not an index"), ("1-2-3", "not an index"), ("0;1", "not an index"), ("1.5", "not an index"),
    ]

    @Test(arguments: invalidSets)
    func rejectsBadCPUSets(text: String, reason: String) {
        expectValueError(CPUSet.parse(text), mentions: ["'\(text)'", reason, "0-3,6"])
    }

    @Test(arguments: [([0, 1, 2, 3, 6], "0-3,6"), ([], ""), ([0, 2, 4], "0,2,4"), ([0, 1], "0-1"), ([5], "5"),
                      ([0, 1, 2, 5, 6, 7, 9], "0-2,5-7,9")])
    func formatsKernelListAndParsesBack(indices: [Int], text: String) {
        #expect(CPUSet(indices).description == text)
        #expect(CPUSet.parse(text) == .success(CPUSet(indices)))
    }

    @Test func subsetsAndUnions() throws {
        let all = try CPUSet.parse("0-3").get()
        #expect(try CPUSet.parse("0-1").get().isSubset(of: all))
        #expect(try !CPUSet.parse("0-4").get().isSubset(of: all))
        #expect(CPUSet.empty.isSubset(of: all))
        #expect(try CPUSet.parse("1").get().union(CPUSet.parse("5").get()).description == "1,5")
        #expect(try all.intersection(CPUSet.parse("2-9").get()).description == "2-3")
        #expect(all.count == 4 && all.contains(3) && !all.contains(4))
    }
}
