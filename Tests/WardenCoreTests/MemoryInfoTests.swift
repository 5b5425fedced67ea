import Testing
import WardenCore

/// `/proc/meminfo` from a 6.18 kernel (its first lines), and the lines it must refuse.
@Suite struct MemoryInfoTests {
    static let noSwap = """
        MemTotal:       24683784 kB
        MemFree:        20492192 kB
        MemAvailable:   23231172 kB
        Buffers:           22624 kB
        Cached:          2702376 kB
        SwapCached:            0 kB
        Active(anon):        184 kB
        SwapTotal:             0 kB
        SwapFree:              0 kB
        Zswap:                 0 kB

        """

    @Test func realFile() throws {
        let info = try MemoryInfo.parse(Self.noSwap).get()
        #expect(info == MemoryInfo(
            memTotalBytes: 24_683_784 * 1024, memAvailableBytes: 23_231_172 * 1024, swapTotalBytes: 0, swapFreeBytes: 0))
        #expect(info.used == Percentage(hundredths: 588))
        #expect(try MemoryInfo.values(Self.noSwap).get()["MemTotal"] == 24_683_784 * 1024)
    }

    @Test func swapLinesAreOptional() throws {
        let info = try MemoryInfo.parse("MemTotal: 100 kB\nMemAvailable: 40 kB\n").get()
        #expect(info.swapTotalBytes == 0)
        #expect(info.used == Percentage(hundredths: 6000))
    }

    @Test(arguments: [
        ("MemTotal: 100 kB\n", "no MemTotal or MemAvailable line"),
        ("MemTotal: lots kB\nMemAvailable: 1 kB\n", "'MemTotal: lots kB' is not 'KEY: N kB'"),
        ("MemTotal: 100 MB\nMemAvailable: 1 kB\n", "'MemTotal: 100 MB' is not 'KEY: N kB'"),
        ("", "no MemTotal or MemAvailable line"),
    ])
    func refusals(text: String, reason: String) {
        #expect(MemoryInfo.parse(text) == .failure(MemoryInfoError(reason: reason)))
    }
}

/// `/proc/loadavg` as a 6.18 kernel writes it.
@Suite struct LoadAverageTests {
    @Test func realFile() {
        #expect(LoadAverage.parse("5.17 7.04 6.98 3/412 19735\n") == [517, 704, 698])
        #expect(LoadAverage.parse("0.00 0.01 0.05 1/80 1\n") == [0, 1, 5])
    }

    @Test(arguments: ["", "5.17 7.04", "five 7.04 6.98 1/2 3", "5.175 7.04 6.98 1/2 3", "-1.00 1.00 1.00 1/2 3"])
    func refusals(text: String) {
        #expect(LoadAverage.parse(text) == nil)
    }

    @Test func oneDecimalAndNone() {
        #expect(LoadAverage.hundredths("4.1") == 410)
        #expect(LoadAverage.hundredths("4") == 400)
    }
}
