import Glibc
import Testing
import WardenCore
@testable import WardenLinux

@Suite struct OutputReaderTests {
    /// Runs `script` with stdout into an OutputReader and returns every delivered line.
    func collect(_ script: String, maximumLineBytes: Int = OutputReader.defaultMaximumLineBytes) throws -> [OutputLine] {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let (r, w) = TestProcess.pipe()
        let lines = LoopLog<OutputLine>()
        let ended = TestSignal()
        let reader = try OutputReader(
            fd: r, tag: "test.service", loop: loop, maximumLineBytes: maximumLineBytes,
            handler: { lines.items.append($0) }, onEnd: { ended.post() })
        var request = TestProcess.shell(script)
        request.stdout = .fd(w)
        let process = try spawnProcess(request)
        close(w)
        #expect(ended.wait(seconds: 60))
        #expect(TestProcess.wait(process) == .exited(code: 0))
        _ = reader
        return loop.executeAndWait { lines.items }
    }

    @Test func megabyteWithoutNewlineIsCutAndFlushed() throws {
        let lines = try collect("head -c 1048576 /dev/zero | tr '\\0' a")
        let full = 1_048_576 / OutputReader.defaultMaximumLineBytes
        #expect(lines.count == full + 1)
        #expect(lines.dropLast().allSatisfy { $0.ending == .cut && $0.text.utf8.count == OutputReader.defaultMaximumLineBytes })
        #expect(lines.last?.ending == .endOfFile)
        #expect(lines.reduce(0) { $0 + $1.text.utf8.count } == 1_048_576)
        #expect(lines.allSatisfy { $0.tag == "test.service" })
    }

    @Test func manyLinesArriveInOrder() throws {
        let lines = try collect("seq 1 100000")
        #expect(lines.count == 100_000)
        #expect(lines.map(\.text) == (1...100_000).map { String($0) })
        #expect(lines.allSatisfy { $0.ending == .newline })
    }

    @Test func partialLastLineAndEmptyLines() throws {
        let lines = try collect("printf 'one\\n\\ntwo\\nthree'")
        #expect(lines == [
            OutputLine(tag: "test.service", text: "one", ending: .newline),
            OutputLine(tag: "test.service", text: "", ending: .newline),
            OutputLine(tag: "test.service", text: "two", ending: .newline),
            OutputLine(tag: "test.service", text: "three", ending: .endOfFile),
        ])
    }

    @Test func longLinesAreCutAtCharacterBoundaries() throws {
        // "é" is two bytes: with 5 bytes per line at most, pieces hold two characters.
        let lines = try collect("printf 'ééééé\\nabcdefgh\\n'", maximumLineBytes: 5)
        #expect(lines.map(\.text) == ["éé", "éé", "é", "abcde", "fgh"])
        #expect(lines.map(\.ending) == [.cut, .cut, .newline, .cut, .newline])
    }

    @Test(arguments: [
        ([UInt8]("abcdef".utf8), 4, 4),
        ([UInt8]("abcé".utf8), 4, 3),
        ([UInt8]("a€bc".utf8), 2, 1),
        ([UInt8]("a€bc".utf8), 3, 1),
        ([UInt8]("a€bc".utf8), 4, 4),
        ([0x80, 0x80, 0x80, 0x80, 0x80, 0x80], 4, 4),
    ])
    func characterBoundary(bytes: [UInt8], limit: Int, expected: Int) {
        #expect(OutputReader.characterBoundary(in: bytes[...], atMost: limit) == expected)
    }
}
