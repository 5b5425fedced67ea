import FoundationEssentials
import Testing
import WardenCore
@testable import WardenLinux

/// Warden's own JSON coder against FoundationEssentials', which the control socket and
/// the `--json` outputs used before: the same bytes for the same values, and the same
/// kinds of error for bad input.
@Suite struct JSONCodingTests {
    static let awkwardStrings = [
        "", "plain", "a/b/c", "quote \" and backslash \\", "\u{0}\u{1}\u{8}\u{9}\u{A}\u{B}\u{C}\u{D}\u{1F}\u{7F}",
        "é 😀 \u{2028}\u{2029} 日本", "{\"json\":[1]}",
    ]
    static let awkwardDoubles: [Double] = [
        0, -0.0, 1, 0.5, 0.1, 100, 1e16, 1e21, 1e-7, 2.5e-5, 123456789.123, 3e300, 5e-324, Double(UInt64.max), 1_700_000_000.25,
    ]

    static let snapshot = ComponentSnapshot(
        name: "feed.service", activeState: "active", subState: "running", result: "success", mainPID: 42, controlPID: 43,
        restarts: 3, uptimeSeconds: 12.5, cpuUsageSeconds: 0.25, cpuQuotaPercent: 150, memoryCurrentBytes: 1 << 20,
        memoryPeakBytes: UInt64.max, memoryHighBytes: 0, memoryMaxBytes: 4096, tasks: 7, usageSource: "process",
        slice: "trading.slice", ready: true, lastExit: ControlExitStatus(exited: -1, signal: "SIGKILL", coreDumped: true),
        statusText: "a/b \"quoted\"\n", dependencyFailure: "db.service", invocationID: "0123abcd", blockedReason: "duplicate PID 7",
        conditionResult: "start condition unmet: ConditionPathExists=|!/a \"b\"")

    static let responses: [ControlResponse] = [
        ControlResponse(id: 1, components: [snapshot, ComponentSnapshot(name: "x", activeState: "failed", subState: "dead", result: "exit-code", slice: "-.slice")]),
        ControlResponse(id: nil, error: ControlError(.malformed, "not a control request: invalid JSON")),
        ControlResponse(id: 2, lines: awkwardStrings.enumerated().map { ControlLogLine(time: awkwardDoubles[$0.offset], text: $0.element, seq: $0.offset) }),
        ControlResponse(id: 3, components: [], lines: [], message: "started"),
    ]

    struct Nested: Codable, Equatable {
        var map: [String: [Int]]
        var list: [Nested]
        var empty: [String: Int]
        var flags: [Bool]
        var optional: Int?
        var text: String
        var numbers: [Double]
        var small: [Int8]
        var unsigned: [UInt64]
    }

    static let nested = Nested(
        map: ["b": [1, 2], "B": [], "a10": [3], "a9": [-4], "_": [], "é": [0]],
        list: [Nested(map: [:], list: [], empty: [:], flags: [], optional: 5, text: "in", numbers: [], small: [], unsigned: [])],
        empty: [:], flags: [true, false], optional: nil, text: "x/y", numbers: awkwardDoubles, small: [-128, 127],
        unsigned: [0, UInt64.max])

    func foundation<T: Encodable>(_ value: T, pretty: Bool) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    func warden<T: Encodable>(_ value: T, pretty: Bool) throws -> String {
        String(decoding: try JSONWriter(prettyPrinted: pretty).encode(value), as: UTF8.self)
    }

    @Test(arguments: [false, true])
    func responsesEncodeAsFoundationDid(pretty: Bool) throws {
        for response in Self.responses {
            #expect(try warden(response, pretty: pretty) == foundation(response, pretty: pretty))
        }
    }

    @Test(arguments: [false, true])
    func nestedContainersEncodeAsFoundationDid(pretty: Bool) throws {
        #expect(try warden(Self.nested, pretty: pretty) == foundation(Self.nested, pretty: pretty))
        #expect(try warden(Self.awkwardStrings, pretty: pretty) == foundation(Self.awkwardStrings, pretty: pretty))
        #expect(try warden([[Int]](), pretty: pretty) == foundation([[Int]](), pretty: pretty))
    }

    @Test func controlLinesAreOneLineWithNewline() {
        let line = ControlCodec.encodeLine(Self.responses[2])
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(line.dropLast().contains(UInt8(ascii: "\n")) == false)
    }

    @Test func nonFiniteNumbersAreRefused() {
        #expect(throws: EncodingError.self) { try JSONWriter().encode([Double.nan]) }
        let line = String(decoding: ControlCodec.encodeLine(ControlLogLine(time: .infinity, text: "x")), as: UTF8.self)
        #expect(line.hasPrefix(#"{"error":{"code":"unavailable""#))
    }

    @Test func decodesWhatFoundationEncodes() throws {
        for response in Self.responses {
            let bytes = [UInt8](try JSONEncoder().encode(response))
            #expect(try JSONReader().decode(ControlResponse.self, from: bytes) == response)
        }
        let bytes = [UInt8](try JSONEncoder().encode(Self.nested))
        #expect(try JSONReader().decode(Nested.self, from: bytes) == Self.nested)
        let pretty = try JSONWriter(prettyPrinted: true).encode(Self.nested)
        #expect(try JSONReader().decode(Nested.self, from: pretty) == Self.nested)
    }

    @Test func escapesAndSurrogatesDecode() throws {
        let text = #"["\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\", " \u0041 "]"#
        #expect(try JSONReader().decode([String].self, from: Array(text.utf8)) == ["é😀/\u{8}\u{C}\n\r\t\"\\", " A "])
    }

    /// Each kind of bad input gives the error kind JSONDecoder gave, so the control
    /// socket's `malformed` messages keep their wording.
    @Test(arguments: [
        ("{not json", "invalid JSON"),
        ("", "invalid JSON"),
        (#"{"v":1,"op":"status"} x"#, "invalid JSON"),
        (#"{"v":1,"op":"status""#, "invalid JSON"),
        (#"{"v":01,"op":"status"}"#, "invalid JSON"),
        (#"{"v":1,"op":"a\u12"}"#, "invalid JSON"),
        ("{\"v\":1,\"op\":\"a\nb\"}", "invalid JSON"),
        (#"{"v":1,"op":"\ud800"}"#, "invalid JSON"),
        (String(repeating: "[", count: 100_000), "invalid JSON"),
        ("[1,2,3]", "field '' has the wrong type"),
        (#"{"v":1,"id":1}"#, "missing field 'op'"),
        (#"{"v":"1","op":"status"}"#, "field 'v' has the wrong type"),
        (#"{"v":null,"op":"status"}"#, "field 'v' has the wrong type"),
        (#"{"v":1,"op":"status","lines":99999999999999999999}"#, "field 'lines' is invalid"),
        (#"{"v":1,"op":"status","emergency":{"targets":[1]}}"#, "field 'emergency.targets.Index 0' has the wrong type"),
    ])
    func badRequestsAreDescribedAsBefore(line: String, message: String) {
        let ours = ControlCodec.decodeRequest(Array(line.utf8))
        guard case .failure(let error) = ours else {
            Issue.record("\(line.prefix(40)) decoded")
            return
        }
        #expect(error.code == .malformed)
        #expect(error.message == "not a control request: \(message)")
        // Foundation agrees that the line is bad.
        #expect(throws: (any Error).self) { try JSONDecoder().decode(ControlRequest.self, from: Data(line.utf8)) }
    }

    @Test func unknownFieldsAreIgnored() throws {
        let line = Array(#" {"v":1,"id":3,"op":"restart","unit":"feed","future":{"x":[1,2.5e3,null,true]}} "#.utf8)
        #expect(try ControlCodec.decodeRequest(line).get() == ControlRequest(id: 3, op: .restart, unit: "feed"))
    }

    /// A key given twice is refused (Foundation takes the last), at any depth.
    @Test(arguments: [
        #"{"v":1,"op":"status","op":"stop","unit":"feed"}"#,
        #"{"v":1,"op":"status","emergency":{"targets":["a"],"targets":["b"]}}"#,
    ])
    func aKeyGivenTwiceIsRefused(_ line: String) {
        guard case .failure(let error) = ControlCodec.decodeRequest(Array(line.utf8)) else {
            Issue.record("\(line) decoded")
            return
        }
        #expect(error.code == .malformed)
        #expect(error.message == "not a control request: invalid JSON")
    }
}
