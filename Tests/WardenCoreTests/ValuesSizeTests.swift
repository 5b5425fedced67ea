import Testing
@testable import WardenCore

@Suite struct ValuesSizeTests {
    static let validSizes: [(String, UInt64)] = [
        ("4096", 4096), ("4096B", 4096), ("0", 0), ("1K", 1024), ("1 K", 1024), ("512M", 536_870_912),
        ("4G", 4_294_967_296), ("1.5G", 1_610_612_736), ("1T", 1_099_511_627_776),
        ("1P", 1_125_899_906_842_624), ("1E", 1_152_921_504_606_846_976), ("15E", 17_293_822_569_102_704_640),
        ("1G 512M", 1_610_612_736), ("1G512M", 1_610_612_736), ("10.M", 10_485_760), ("1.5K", 1536),
        ("0.5K", 512), ("1G 1", 1_073_741_825), ("1.25M", 1_310_720), ("1M 1K 1B", 1_049_601),
        ("2G 3", 2_147_483_651), ("1K1", 1025), ("100", 100), ("0.1K", 102),
    ]

    @Test(arguments: validSizes)
    func parsesByteSizes(text: String, bytes: UInt64) {
        #expect(ByteSize.parse(text) == .success(bytes))
    }

    static let invalidSizes: [(String, String)] = [
        ("", "size"), ("4KiB", "size"), ("4kB", "size"), ("4g", "size"), ("-1", "negative"), ("+1", "size"),
        ("1K 1K", "size"), ("1M 1G", "size"), ("1 2", "units must descend"), ("abc", "size"),
        ("16E", "too large"), (".5G", "size"), ("1.5.5G", "size"), ("99999999999999999999", "too large"),
        ("1X", "size"), ("G", "size"), ("1G -1", "negative"),
    ]

    @Test(arguments: invalidSizes)
    func rejectsMalformedSizes(text: String, reason: String) {
        expectValueError(ByteSize.parse(text), mentions: ["'\(text)'", reason, "512M"])
    }

    static let exactSizes: [(UInt64, String)] = [
        (0, "0"), (4096, "4K"), (4097, "4097"), (4_294_967_296, "4G"), (1_610_612_736, "1536M"),
        (1_152_921_504_606_846_976, "1E"), (1_049_600, "1025K"), (3_298_534_883_328, "3T"),
    ]

    @Test(arguments: exactSizes)
    func formatsExactSizes(bytes: UInt64, text: String) {
        #expect(ByteSize.format(bytes) == text)
        #expect(ByteSize.parse(text) == .success(bytes))
    }

    static let validMemory: [(String, MemoryLimitKey, MemoryLimit)] = [
        ("4G", .memoryMax, .bytes(4_294_967_296)), ("512M", .memoryHigh, .bytes(536_870_912)),
        ("1.5G", .memoryMax, .bytes(1_610_612_736)), ("4096", .memoryMax, .bytes(4096)),
        ("80%", .memoryMax, .percentOfPhysical(permyriad: 8000)),
        ("12.5%", .memoryHigh, .percentOfPhysical(permyriad: 1250)),
        ("12.34%", .memoryMax, .percentOfPhysical(permyriad: 1234)),
        ("100%", .memoryMax, .percentOfPhysical(permyriad: 10_000)),
        ("125\u{2030}", .memoryMax, .percentOfPhysical(permyriad: 1250)),
        ("1250\u{2031}", .memoryMax, .percentOfPhysical(permyriad: 1250)),
        ("0%", .memoryLow, .percentOfPhysical(permyriad: 0)), ("infinity", .memoryMax, .infinity),
        ("infinity", .memorySwapMax, .infinity), ("", .memoryLow, .bytes(0)), ("", .memoryMin, .bytes(0)),
        ("", .memoryMax, .infinity), ("", .memoryHigh, .infinity), ("", .memorySwapMax, .infinity),
        ("0", .memorySwapMax, .bytes(0)), ("0", .memoryMin, .bytes(0)), ("0", .memoryZSwapMax, .bytes(0)),
        ("1G 512M", .memoryMax, .bytes(1_610_612_736)),
    ]

    @Test(arguments: validMemory)
    func parsesMemoryLimits(text: String, key: MemoryLimitKey, limit: MemoryLimit) {
        #expect(MemoryLimit.parse(text, for: key) == .success(limit))
    }

    static let invalidMemory: [(String, MemoryLimitKey, String)] = [
        ("0", .memoryMax, "out of range"), ("0", .memoryHigh, "out of range"), ("0%", .memoryHigh, "out of range"),
        ("101%", .memoryMax, "100%"), ("12.345%", .memoryMax, "memory limit"), ("80 %", .memoryMax, "80%"),
        ("4g", .memoryMax, "memory limit"), ("abc", .memoryLow, "memory limit"), ("-1G", .memoryMax, "memory limit"),
        ("18446744073709551615", .memoryMax, "out of range"), ("x%", .memoryMax, "memory limit"),
        ("max", .memoryMax, "infinity"), ("4GB", .memoryMax, "4G"),
    ]

    @Test(arguments: invalidMemory)
    func rejectsBadMemoryLimits(text: String, key: MemoryLimitKey, reason: String) {
        expectValueError(MemoryLimit.parse(text, for: key), mentions: ["'\(text)'", reason])
    }

    /// Percentages in whole pages, as the kernel stores a limit; 100% too.
    @Test(arguments: [
        (MemoryLimit.bytes(5), UInt64(8 << 30), UInt64(4096), ResolvedLimit?.some(.value(5))),
        (.infinity, 8 << 30, 4096, .unlimited),
        (.percentOfPhysical(permyriad: 5000), 8 << 30, 4096, .value(4 << 30)),
        (.percentOfPhysical(permyriad: 0), 8 << 30, 4096, .value(0)),
        (.percentOfPhysical(permyriad: 10_000), 1_000_000_007, 4096, .value(999_997_440)),
        (.percentOfPhysical(permyriad: 3333), 1_000_000_000, 4096, .value(333_295_616)),
        (.percentOfPhysical(permyriad: 3333), 1_000_000_000, 65_536, .value(333_250_560)),
    ])
    func resolvesAgainstPhysicalMemory(limit: MemoryLimit, physical: UInt64, page: UInt64, resolved: ResolvedLimit?) {
        #expect(limit.resolved(on: HostFacts(physicalMemoryBytes: physical, pageSizeBytes: page)) == resolved)
    }

    @Test func aPercentageNeedsTheHostsMemory() {
        #expect(MemoryLimit.percentOfPhysical(permyriad: 5000).resolved(on: nil) == nil)
        #expect(MemoryLimit.percentOfPhysical(permyriad: 5000).resolved(on: HostFacts(pidMax: 100)) == nil)
        #expect(MemoryLimit.bytes(4096).resolved(on: nil) == .value(4096))
        #expect(MemoryLimit.infinity.resolved(on: nil) == .unlimited)
    }

    @Test(arguments: [
        (MemoryLimit.bytes(4_294_967_296), "4G"), (.bytes(1_610_612_736), "1536M"), (.bytes(4097), "4097"),
        (.percentOfPhysical(permyriad: 1250), "12.5%"), (.percentOfPhysical(permyriad: 1234), "12.34%"),
        (.percentOfPhysical(permyriad: 1205), "12.05%"), (.percentOfPhysical(permyriad: 8000), "80%"),
        (.percentOfPhysical(permyriad: 1), "0.01%"), (.infinity, "infinity"),
    ])
    func formatsMemoryLimitsAndParsesBack(limit: MemoryLimit, text: String) {
        #expect(limit.description == text)
        #expect(MemoryLimit.parse(text) == .success(limit))
    }

    @Test func memoryKeysAreNamedAsInUnitFiles() {
        #expect(MemoryLimitKey(rawValue: "MemoryLow") == .memoryLow)
        #expect(MemoryLimitKey.memorySwapMax.rawValue == "MemorySwapMax")
    }
}
