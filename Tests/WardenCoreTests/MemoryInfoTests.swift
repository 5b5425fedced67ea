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
