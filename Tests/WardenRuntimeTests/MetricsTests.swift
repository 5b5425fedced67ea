import Glibc
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

// MARK: - A strict parser of the Prometheus text exposition format 0.0.4

/// What a scrape returned, parsed and checked.
struct Exposition {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Family {
        var type: String
        var help: String?
        var samples: [Sample] = []
    }

    var families: [String: Family] = [:]

    var samples: [Sample] { families.values.flatMap(\.samples) }

    /// The value of the one sample of `name` whose labels include `labels`; nil when none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }
        precondition(matching.count <= 1, "\(matching.count) samples of \(name) match \(labels)")
        return matching.first?.value
    }

    func count(_ name: String, _ labels: [String: String] = [:]) -> Int {
        samples.filter { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }
            .count
    }
}

struct ExpositionError: Error, CustomStringConvertible {
    var line: Int
    var reason: String
    var description: String { "line \(line): \(reason)" }
}

/// Parses the text format as the Prometheus server's parser does, and stricter where the
/// format says "must": `# HELP`/`# TYPE` syntax, at most one of each per family and TYPE
/// before the family's first sample, every sample under a TYPE, metric and label name
/// syntax, label value escapes (`\\`, `\"`, `\n` only), Go float syntax with `NaN`,
/// `+Inf`, `-Inf` (never `inf`/`nan`), optional integer timestamps, the lines of a
/// family in one group, no duplicate label in a sample, no duplicate series.
enum PrometheusTextParser {
    static let types: Set<String> = ["counter", "gauge", "histogram", "summary", "untyped"]

    static func parse(_ text: String) throws -> Exposition {
        var exposition = Exposition()
        var seenSeries: Set<String> = []
        var finishedFamilies: Set<String> = []
        var currentFamily: String?
        guard text.isEmpty || text.hasSuffix("\n") else { throw ExpositionError(line: 0, reason: "the last line lacks its newline") }
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let number = offset + 1
            func fail(_ reason: String) -> ExpositionError { ExpositionError(line: number, reason: "\(reason): \(line)") }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count >= 3, parts[0] == "#", parts[1] == "HELP" || parts[1] == "TYPE" else { continue }  // a comment
                let name = String(parts[2])
                guard isMetricName(name) else { throw fail("invalid metric name in \(parts[1])") }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, types.contains(String(parts[3])) else { throw fail("invalid TYPE") }
                    if let existing = exposition.families[name], existing.type != "" {
                        throw fail("second TYPE for \(name)")
                    }
                    guard exposition.families[name]?.samples.isEmpty ?? true else { throw fail("TYPE after samples of \(name)") }
                    exposition.families[name, default: Exposition.Family(type: "")].type = String(parts[3])
                } else {
                    guard parts.count == 4 else { throw fail("HELP without text") }
                    if exposition.families[name]?.help != nil { throw fail("second HELP for \(name)") }
                    exposition.families[name, default: Exposition.Family(type: "")].help = try unescapeHelp(parts[3], fail)
                }
                continue
            }
            let sample = try parseSample(Substring(line), fail)
            guard let family = familyName(of: sample.name, in: exposition) else {
                throw fail("sample of \(sample.name) has no TYPE")
            }
            if family != currentFamily {
                if let currentFamily { finishedFamilies.insert(currentFamily) }
                guard !finishedFamilies.contains(family) else { throw fail("\(family)'s lines are not in one group") }
                currentFamily = family
            }
            let key = sample.name + "{" + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{0}") + "}"
            guard seenSeries.insert(key).inserted else { throw fail("duplicate series") }
            exposition.families[family]!.samples.append(sample)
        }
        for (name, family) in exposition.families where family.type.isEmpty {
            throw ExpositionError(line: 0, reason: "HELP for \(name) without a TYPE")
        }
        return exposition
    }

    /// The family a sample belongs to: its own name, or for histograms and summaries the
    /// name without `_bucket`, `_sum`, `_count`.
    static func familyName(of name: String, in exposition: Exposition) -> String? {
        if let family = exposition.families[name], !family.type.isEmpty { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let type = exposition.families[base]?.type, type == "histogram" || type == "summary" {
                if suffix == "_bucket" && type == "summary" { return nil }
                return base
            }
        }
        return nil
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":") else {
            return false
        }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") }
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_"), !name.hasPrefix("__") else {
            return false
        }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    static func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
    static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    static func unescapeHelp(_ text: Substring, _ fail: (String) -> ExpositionError) throws -> String {
        var result = ""
        var iterator = text.makeIterator()
        while let c = iterator.next() {
            guard c == "\\" else {
                result.append(c)
                continue
            }
            switch iterator.next() {
            case "\\": result.append("\\")
            case "n": result.append("\n")
            default: throw fail("invalid escape in HELP")
            }
        }
        return result
    }

    static func parseSample(_ line: Substring, _ fail: (String) -> ExpositionError) throws -> Exposition.Sample {
        var rest = line
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        guard isMetricName(name) else { throw fail("invalid metric name") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let labelName = String(rest.prefix { $0 != "=" })
                guard isLabelName(labelName) else { throw fail("invalid label name '\(labelName)'") }
                rest = rest.dropFirst(labelName.count)
                guard rest.hasPrefix("=\"") else { throw fail("expected =\" after \(labelName)") }
                rest = rest.dropFirst(2)
                var value = ""
                var closed = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if c == "\"" {
                        closed = true
                        break
                    }
                    if c == "\n" { throw fail("raw newline in a label value") }
                    if c == "\\" {
                        guard let escaped = rest.first else { throw fail("dangling backslash") }
                        rest = rest.dropFirst()
                        switch escaped {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw fail("invalid escape \\\(escaped) in a label value")
                        }
                    } else {
                        value.append(c)
                    }
                }
                guard closed else { throw fail("unterminated label value") }
                guard labels.updateValue(value, forKey: labelName) == nil else { throw fail("label \(labelName) twice") }
                if rest.first == "," {
                    rest = rest.dropFirst()
                } else if rest.first != "}" {
                    throw fail("expected , or } after a label")
                }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw fail("expected a space before the value") }
        let fields = rest.dropFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 1 || fields.count == 2 else { throw fail("expected a value and an optional timestamp") }
        guard let value = parseFloat(fields[0]) else { throw fail("invalid value '\(fields[0])'") }
        if fields.count == 2 {
            guard Int64(fields[1]) != nil else { throw fail("invalid timestamp") }
        }
        return Exposition.Sample(name: name, labels: labels, value: value)
    }

    /// Go's `strconv.ParseFloat` decimal syntax, plus the format's `NaN`, `+Inf`, `-Inf`.
    static func parseFloat(_ text: Substring) -> Double? {
        switch text {
        case "NaN": return .nan
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        default: break
        }
        var bytes = Array(text.utf8)[...]
        if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let integer = bytes.prefix(while: isDigit)
        bytes = bytes.dropFirst(integer.count)
        var fraction: ArraySlice<UInt8> = []
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            fraction = bytes.prefix(while: isDigit)
            bytes = bytes.dropFirst(fraction.count)
        }
        guard !integer.isEmpty || !fraction.isEmpty else { return nil }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            let exponent = bytes.prefix(while: isDigit)
            guard !exponent.isEmpty else { return nil }
            bytes = bytes.dropFirst(exponent.count)
        }
        guard bytes.isEmpty else { return nil }
        return Double(String(text))
    }
}

@Suite("Prometheus text-format parser (the test's own)")
struct PrometheusTextParserTests {
    @Test func acceptsTheFormatsCorners() throws {
        let text = """
            # A comment line.
            # HELP x_total Escapes: a \\\\ backslash and a \\n newline.
            # TYPE x_total counter
            x_total{a="q\\"uote",b="back\\\\slash",c="new\\nline",} 1.5e+3 1700000000000
            x_total{a="other"} +Inf
            # TYPE g gauge
            g -Inf
            # TYPE h histogram
            h_bucket{le="0.1"} 0
            h_bucket{le="+Inf"} 2
            h_sum 0.3
            h_count 2
            # TYPE u untyped
            u NaN

            """
        let exposition = try PrometheusTextParser.parse(text)
        #expect(exposition.families["x_total"]?.help == "Escapes: a \\ backslash and a \n newline.")
        #expect(exposition.value("x_total", ["a": "q\"uote"]) == 1500)
        #expect(
            exposition.samples.first { $0.labels["a"] == "q\"uote" }?.labels
                == ["a": "q\"uote", "b": "back\\slash", "c": "new\nline"])
        #expect(exposition.value("x_total", ["a": "other"]) == .infinity)
        #expect(exposition.value("g") == -.infinity)
        #expect(exposition.value("h_count") == 2)
        #expect(exposition.value("u")?.isNaN == true)
    }

    @Test(arguments: [
        ("x 1\n", "no TYPE"),
        ("# TYPE x gauge\nx 1", "no final newline"),
        ("# TYPE x gauge\n# TYPE x gauge\nx 1\n", "second TYPE"),
        ("# TYPE x gauge\nx 1\n# TYPE x counter\n", "TYPE after samples"),
        ("# TYPE x gauge\n# HELP x a\n# HELP x b\nx 1\n", "second HELP"),
        ("# HELP x a\n", "HELP without TYPE"),
        ("# TYPE x wibble\nx 1\n", "unknown type"),
        ("# TYPE 1x gauge\n1x 1\n", "metric name starts with a digit"),
        ("# TYPE x gauge\nx{1a=\"v\"} 1\n", "label name starts with a digit"),
        ("# TYPE x gauge\nx{__a=\"v\"} 1\n", "reserved label name"),
        ("# TYPE x gauge\nx{a=\"v\"\"} 1\n", "unescaped quote"),
        ("# TYPE x gauge\nx{a=\"v\\t\"} 1\n", "unknown escape"),
        ("# TYPE x gauge\nx{a=\"v} 1\n", "unterminated value"),
        ("# TYPE x gauge\nx{a=\"v\",a=\"w\"} 1\n", "label twice"),
        ("# TYPE x gauge\nx inf\n", "lowercase inf"),
        ("# TYPE x gauge\nx nan\n", "lowercase nan"),
        ("# TYPE x gauge\nx 0x10\n", "hex value"),
        ("# TYPE x gauge\nx 1 2.5\n", "fractional timestamp"),
        ("# TYPE x gauge\nx  1\n", "two spaces"),
        ("# TYPE x gauge\nx 1\nx 2\n", "duplicate series"),
        ("# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a=\"b\"} 1\n", "family split in two groups"),
    ])
    func rejects(text: String, why: String) {
        #expect(throws: ExpositionError.self, "\(why)") { try PrometheusTextParser.parse(text) }
    }
}

// MARK: - Pure parts of the exporter

@Suite("Metrics: counters from external sources, /proc/PID/stat")
struct MetricsPartsTests {
    struct CounterCase: Sendable, CustomStringConvertible {
        var description: String
        var readings: [(value: Double, source: UInt64)]
        var totals: [Double]
    }

    static let counterCases: [CounterCase] = [
        CounterCase(description: "grows with its source", readings: [(1, 7), (3, 7), (3, 7), (10, 7)], totals: [1, 3, 3, 10]),
        CounterCase(
            description: "a new source (a component's new cgroup) counts from zero", readings: [(5, 1), (8, 1), (2, 2), (4, 2)],
            totals: [5, 8, 10, 12]),
        CounterCase(
            description: "a new source already past the old value is counted whole", readings: [(5, 1), (9, 2)], totals: [5, 14]),
        CounterCase(
            description: "a reset in place (a reload's new restart count) does not go down", readings: [(3, 0), (0, 0), (1, 0)],
            totals: [3, 3, 4]),
        CounterCase(description: "non-finite and negative readings add nothing", readings: [(2, 1), (.nan, 1), (-1, 1)], totals: [2, 2, 2]),
    ]

    @Test(arguments: counterCases)
    func monotonicCounter(_ c: CounterCase) {
        var source = MonotonicCounterSource()
        var total = 0.0
        var totals: [Double] = []
        for reading in c.readings {
            total += source.advance(to: reading.value, sourceID: reading.source)
            totals.append(total)
        }
        #expect(totals == c.totals)
    }

    @Test(arguments: [
        (
            "1234 (a) b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 98765 11112222 333 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
            ProcessStatFields(
                state: UInt8(ascii: "S"), parentPID: 1, processGroupID: 1234, sessionID: 1234, userTicks: 250, systemTicks: 50,
                threads: 3, startTicks: 98765, virtualBytes: 11_112_222, residentPages: 333)
        ),
        (
            "7 (sleep) S 1 7 7 0 -1 4194304 90 0 0 0 0 0 0 0 20 0 1 0 42 5607424 128 18446744073709551615\n",
            ProcessStatFields(
                state: UInt8(ascii: "S"), parentPID: 1, processGroupID: 7, sessionID: 7, userTicks: 0, systemTicks: 0,
                threads: 1, startTicks: 42, virtualBytes: 5_607_424, residentPages: 128)
        ),
    ])
    func procStat(line: String, expected: ProcessStatFields) {
        #expect(ProcessStatFields.parse(Array(line.utf8)) == expected)
    }

    @Test(arguments: ["", "12 (x) S 1 2 3", "no parenthesis here 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"])
    func procStatRejectsShortLines(line: String) {
        #expect(ProcessStatFields.parse(Array(line.utf8)) == nil)
    }

    @Test func exporterDropsGaugesNotSetAndCountersOfGoneOwners() throws {
        let exporter = MetricsExporter()
        let gauge = MetricFamilyName("t_gauge", "A gauge.")
        let counter = MetricFamilyName("t_total", "A counter.")
        exporter.beginScrape()
        exporter.keep(owner: "a")
        exporter.keep(owner: "b")
        exporter.gauge(gauge, [("c", "a")], 1)
        exporter.gauge(gauge, [("c", "b")], 2)
        exporter.counter(counter, [("c", "a")], owner: "a", value: 5, sourceID: 1)
        exporter.counter(counter, [("c", "b")], owner: "b", value: 7, sourceID: 1)
        exporter.endScrape()
        #expect(exporter.seriesCount == 4)
        // Next scrape: a's gauge not set (stopped), a's counter not read but a still
        // exists; b is gone.
        exporter.beginScrape()
        exporter.keep(owner: "a")
        exporter.endScrape()
        var body: [UInt8] = []
        exporter.render(into: &body)
        let exposition = try PrometheusTextParser.parse(String(decoding: body, as: UTF8.self))
        #expect(exposition.count("t_gauge") == 0)
        #expect(exposition.value("t_total", ["c": "a"]) == 5)
        #expect(exposition.count("t_total", ["c": "b"]) == 0)
        #expect(exposition.families["t_total"]?.type == "counter")
    }
}

// MARK: - A supervisor scraped over TCP

/// `GET /metrics` (or any request) over TCP to 127.0.0.1: status, headers, body.
func httpExchange(port: UInt16, _ request: String) -> (status: Int, headers: [String: String], body: String)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    let bytes = Array(request.utf8)
    guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else { return nil }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        answer += buffer[0..<n]
    }
    guard let end = HTTPRequestHead.endOfHead(answer) else { return nil }
    let head = String(decoding: answer[..<end], as: UTF8.self)
    var lines = head.split(separator: "\r\n").map(String.init)
    guard !lines.isEmpty, let status = Int(lines.removeFirst().split(separator: " ")[1]) else { return nil }
    var headers: [String: String] = [:]
    for line in lines {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
    }
    return (status, headers, String(decoding: answer[end...], as: UTF8.self))
}

@Suite("Metrics of a running supervisor", .serialized)
struct SupervisorMetricsTests {
    /// Scrapes over TCP and parses strictly; records an issue and returns nil on failure.
    func scrape(_ port: UInt16) -> Exposition? {
        guard let answer = httpExchange(port: port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") else {
            Issue.record("no answer from 127.0.0.1:\(port)")
            return nil
        }
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(answer.headers["content-length"] == "\(answer.body.utf8.count)")
        do {
            let exposition = try PrometheusTextParser.parse(answer.body)
            // Conventions: counters end in _total, every family has HELP.
            for (name, family) in exposition.families {
                if family.type == "counter" { #expect(name.hasSuffix("_total"), "counter \(name)") }
                #expect(family.help?.isEmpty == false, "\(name) has no HELP")
                #expect(family.samples.allSatisfy { $0.value.isFinite }, "\(name) has a non-finite value")
            }
            return exposition
        } catch {
            Issue.record("the exposition does not parse: \(error)\n\(answer.body)")
            return nil
        }
    }

    func control(_ harness: Harness, _ operation: ControlOperation, _ unit: String) {
        let supervisor = harness.supervisor
        let response = supervisor.loop.executeAndWait { () -> ControlResponse in
            guard let c = supervisor.lookUp(unit, includingRetired: false) else { return supervisor.unknown(unit, nil) }
            return supervisor.operatorRequest(
                operation, for: c, id: nil, peer: ControlPeer(pid: getpid(), userID: 0, groupIDs: [0]))
        }
        #expect(response.error == nil, "\(operation.rawValue) \(unit): \(String(describing: response.error))")
    }

    @Test func componentsStatesRestartsExitsAndUsage() throws {
        let workspace = Workspace()
        workspace.unit("steady.service", "[Service]\nExecStart=/bin/sleep 600\nRestart=always\nRestartSec=10ms\n")
        workspace.unit("batch.service", "[Service]\nExecStart=/bin/sleep 600\nSlice=batch.slice\n")
        workspace.unit("esc\\x2dape.service", "[Service]\nExecStart=/bin/sleep 600\n")
        workspace.unit("crash.service", """
            [Unit]
            StartLimitBurst=3
            StartLimitIntervalSec=60s
            [Service]
            ExecStart=/bin/sh -c 'exit 3'
            Restart=on-failure
            RestartSec=10ms
            """)
        workspace.unit("batch.slice", "[Slice]\n")
        let harness = try Harness(workspace)
        let endpoint = try MetricsEndpoint(host: "127.0.0.1", port: 0, supervisor: harness.supervisor)
        let port = endpoint.port
        let steady = try #require(harness.wait("steady.service") { $0.activeState == "active" && $0.mainPID != nil })
        _ = harness.wait("batch.service") { $0.activeState == "active" }
        _ = harness.wait("esc\\x2dape.service") { $0.activeState == "active" }
        _ = harness.wait("crash.service") { $0.activeState == "failed" }

        let first = try #require(scrape(port))
        // One-hot state: exactly one of the six is 1 for each component.
        for name in ["steady.service", "batch.service", "esc\\x2dape.service", "crash.service"] {
            let states = first.samples.filter { $0.name == "warden_component_state" && $0.labels["component"] == name }
            #expect(states.count == 6, "\(name)")
            #expect(states.map(\.value).reduce(0, +) == 1, "\(name)")
        }
        #expect(first.value("warden_component_state", ["component": "steady.service", "state": "active"]) == 1)
        #expect(first.value("warden_component_state", ["component": "crash.service", "state": "failed"]) == 1)
        #expect(first.value("warden_component_ready", ["component": "steady.service"]) == 1)
        // The label value with a backslash went through the format's escaping.
        #expect(first.value("warden_component_state", ["component": "esc\\x2dape.service", "state": "active"]) == 1)
        #expect(first.value("warden_component_restarts_total", ["component": "crash.service"]) == 2)
        #expect(first.value("warden_component_last_exit_code", ["component": "crash.service"]) == 3)
        #expect(first.count("warden_component_last_exit_signal", ["component": "crash.service"]) == 0)
        #expect(first.value("warden_component_restarts_total", ["component": "steady.service"]) == 0)
        #expect(first.value("warden_component_restarts_total", ["component": "steady.service", "slice": "system.slice"]) == 0)
        #expect(first.value("warden_component_state", ["component": "batch.service", "slice": "batch.slice", "state": "active"]) == 1)
        // Without cgroups: the main process's figures.
        #expect((first.value("warden_component_memory_current_bytes", ["component": "steady.service"]) ?? 0) > 0)
        #expect(first.value("warden_component_tasks", ["component": "steady.service"]) == 1)
        #expect(first.value("warden_component_cpu_seconds_total", ["component": "steady.service"]) != nil)
        #expect(first.count("warden_component_cpu_throttled_seconds_total") == 0)
        #expect(first.count("warden_component_memory_current_bytes", ["component": "crash.service"]) == 0)
        #expect(first.value("warden_slice_components", ["slice": "batch.slice"]) == 1)
        #expect(first.value("warden_slice_components", ["slice": "system.slice"]) == 3)
        #expect(first.value("warden_components") == 4)
        #expect((first.value("process_resident_memory_bytes") ?? 0) > 0)
        #expect((first.value("warden_event_loop_lag_seconds") ?? -1) >= 0)
        #expect(first.value("warden_build_info", ["version": wardenVersion]) == 1)
        #expect(first.count("warden_governor_tier") == 0)
        let cpuBefore = try #require(first.value("warden_component_cpu_seconds_total", ["component": "steady.service"]))

        // A forced restart: SIGKILL to the main process, Restart=always brings it back.
        let oldPID = try #require(steady.mainPID)
        kill(oldPID, SIGKILL)
        _ = harness.wait("steady.service") { $0.activeState == "active" && $0.mainPID != nil && $0.mainPID != oldPID }
        // Stop one component through the control path.
        control(harness, .stop, "batch")
        _ = harness.wait("batch.service") { $0.activeState == "inactive" }

        let second = try #require(scrape(port))
        #expect(second.value("warden_component_restarts_total", ["component": "steady.service"]) == 1)
        #expect(second.value("warden_component_last_exit_signal", ["component": "steady.service"]) == Double(SIGKILL))
        #expect(second.count("warden_component_last_exit_code", ["component": "steady.service"]) == 0)
        #expect((second.value("warden_component_cpu_seconds_total", ["component": "steady.service"]) ?? -1) >= cpuBefore)
        #expect(second.value("warden_component_state", ["component": "batch.service", "state": "inactive"]) == 1)
        #expect(second.value("warden_component_ready", ["component": "batch.service"]) == 0)
        #expect(second.count("warden_component_memory_current_bytes", ["component": "batch.service"]) == 0)
        #expect(second.count("warden_component_tasks", ["component": "batch.service"]) == 0)
        // Its counter stays (a stopped component's CPU time does not vanish).
        #expect(second.count("warden_component_cpu_seconds_total", ["component": "batch.service"]) == 1)
        #expect(second.value("warden_metrics_render_seconds") != nil)
        endpoint.close()
        #expect(harness.shutdown() == 0)
    }

    @Test func governorSeriesFollowTheSource() throws {
        let workspace = Workspace()
        workspace.unit("one.service", "[Service]\nExecStart=/bin/sleep 600\n")
        let harness = try Harness(workspace)
        let endpoint = try MetricsEndpoint(host: "127.0.0.1", port: 0, supervisor: harness.supervisor)
        let port = endpoint.port
        let box = GovernorBox()
        endpoint.setGovernorSource { box.snapshot }
        box.snapshot = GovernorMetricsSnapshot(tier: .critical, actionCounts: ["apply": 2, "alert": 1])
        let first = try #require(scrape(port))
        #expect(first.value("warden_governor_tier") == 2)
        #expect(first.value("warden_governor_manual_emergency") == 0)
        #expect(first.value("warden_governor_actions_total", ["action": "apply"]) == 2)
        #expect(first.value("warden_governor_actions_total", ["action": "alert"]) == 1)
        box.snapshot = GovernorMetricsSnapshot(
            tier: .severe, manualEmergency: true, actionCounts: ["apply": 5, "alert": 1, "restore": 1])
        let second = try #require(scrape(port))
        #expect(second.value("warden_governor_tier") == 3)
        #expect(second.value("warden_governor_manual_emergency") == 1)
        #expect(second.value("warden_governor_actions_total", ["action": "apply"]) == 5)
        #expect(second.value("warden_governor_actions_total", ["action": "restore"]) == 1)
        box.snapshot = nil
        let third = try #require(scrape(port))
        #expect(third.count("warden_governor_tier") == 0)
        #expect(third.count("warden_governor_actions_total") == 0)
        #expect(GovernorAction.restoreSystemdSlice(name: "system.slice", properties: []).metricsKind == "restore_systemd_slice")
        #expect(GovernorAction.reclaimMemory(target: "t", path: "t", bytes: 1).metricsKind == "reclaim_memory")
        endpoint.close()
        #expect(harness.shutdown() == 0)
    }

    @Test func anOccupiedPortIsLoggedAndTheSupervisorRunsOn() throws {
        let workspace = Workspace()
        workspace.unit("one.service", "[Service]\nExecStart=/bin/sleep 600\n")
        let harness = try Harness(workspace)
        // Someone else holds the port.
        let blocker = try MetricsEndpoint(host: "127.0.0.1", port: 0, supervisor: harness.supervisor)
        let port = blocker.port
        let other = try Harness(Workspace())
        var settings = other.supervisor.configuration.settings
        settings.metricsListen = try ListenAddress.parse("127.0.0.1:\(port)").get()
        #expect(MetricsEndpoint.open(settings: settings, supervisor: other.supervisor) == nil)
        #expect(
            other.capture.firstIndex("metrics endpoint not opened", "MetricsListen=127.0.0.1:\(port)", "errno \(EADDRINUSE)") != nil,
            "\(other.capture.lines)")
        #expect(other.supervisor.status().isEmpty)  // alive and answering
        #expect(harness.wait("one.service") { $0.activeState == "active" } != nil)
        #expect(scrape(port) != nil)
        blocker.close()
        #expect(other.shutdown() == 0)
        #expect(harness.shutdown() == 0)
    }
}

final class GovernorBox: @unchecked Sendable {
    var snapshot: GovernorMetricsSnapshot?
}

// MARK: - Cgroup readings from a seeded tree

@Suite("Metrics from a cgroup tree (temp directory seeded with kernel output)")
struct MetricsCgroupTests {
    static let fixtures = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).dropLast(2)
        .joined(separator: "/") + "/fixtures/cgroup/"

    /// A temp directory holding `trading.slice/feed.service` with the fixtures' files.
    final class Tree {
        let root: String
        init() {
            var template = Array("/tmp/warden-metrics-cg-XXXXXX".utf8CString)
            root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        }

        func seed(_ path: String, cpuUsageUSec: UInt64? = nil) {
            var directory = root
            for name in path.split(separator: "/") {
                directory += "/" + name
                mkdir(directory, 0o755)
            }
            let files = [
                ("cpu.stat", "cpu.stat-6.1"), ("memory.current", "memory.current"), ("memory.peak", "memory.peak"),
                ("memory.events", "memory.events-6.1"), ("pids.current", "pids.current"),
                ("cpu.pressure", "cpu.pressure"), ("memory.pressure", "memory.pressure"),
            ]
            for (file, fixture) in files {
                var text = readText(MetricsCgroupTests.fixtures + fixture)
                if file == "cpu.stat", let cpuUsageUSec {
                    text = text.replacingFirstLine(with: "usage_usec \(cpuUsageUSec)")
                }
                writeText(directory + "/" + file, text)
            }
        }

        func remove(_ path: String) {
            let directory = root + "/" + path
            for name in LocalFileSystem().listDirectory(directory) ?? [] { unlink(directory + "/" + name) }
            rmdir(directory)
        }

        deinit {
            remove("trading.slice/feed.service")
            remove("trading.slice")
            rmdir(root)
        }
    }

    @Test func readsTheGroupsFiles() throws {
        let tree = Tree()
        tree.seed("trading.slice/feed.service")
        let manager = try CgroupManager(rootPath: tree.root, options: CgroupManager.Options(requireCgroup2: false))
        let reading = try #require(CgroupUsageReader.read(manager, path: "trading.slice/feed.service"))
        #expect(reading.cpuSeconds == 8.312345)
        #expect(reading.throttledSeconds == 29.876543)
        #expect(reading.memoryCurrentBytes == 35_336_192)
        #expect(reading.memoryPeakBytes == 67_108_864)
        #expect(reading.memoryEvents?.oomKill == 1)
        #expect(reading.memoryEvents?.max == 37)
        #expect(reading.tasks == UInt64(readText(Self.fixtures + "pids.current").filter(\.isNumber)))
        #expect(reading.pressure.map(\.resource) == ["cpu", "memory"])  // no io.pressure seeded: left out
        #expect(reading.pressure.first?.pressure.some.avg10Percent == 12.34)
        #expect(CgroupUsageReader.read(manager, path: "trading.slice/gone.service") == nil)
    }

    @Test func aRecreatedGroupCountsFromZeroAndTheCounterNeverGoesDown() throws {
        let tree = Tree()
        tree.seed("trading.slice/feed.service", cpuUsageUSec: 5_000_000)
        let exporter = MetricsExporter()
        let family = MetricFamilyName("t_cpu_seconds_total", "CPU.")
        func scrape(_ manager: CgroupManager) throws -> Double? {
            exporter.beginScrape()
            let group = exporter.group(owner: "feed", labels: [("component", "feed.service")])
            if let reading = CgroupUsageReader.read(manager, path: "trading.slice/feed.service"), let seconds = reading.cpuSeconds {
                exporter.counter(group, slot: 0, family, value: seconds, sourceID: reading.sourceID)
            }
            exporter.endScrape()
            var body: [UInt8] = []
            exporter.render(into: &body)
            return try PrometheusTextParser.parse(String(decoding: body, as: UTF8.self)).value("t_cpu_seconds_total")
        }
        var manager = try CgroupManager(rootPath: tree.root, options: CgroupManager.Options(requireCgroup2: false))
        #expect(try scrape(manager) == 5)
        tree.seed("trading.slice/feed.service", cpuUsageUSec: 7_000_000)
        #expect(try scrape(manager) == 7)
        // The component stops: its group is removed. The counter keeps its value.
        tree.remove("trading.slice/feed.service")
        manager = try CgroupManager(rootPath: tree.root, options: CgroupManager.Options(requireCgroup2: false))
        #expect(try scrape(manager) == 7)
        // The next run's group (a new directory, a new inode) starts at 1 s: counted whole.
        tree.seed("trading.slice/feed.service", cpuUsageUSec: 1_000_000)
        #expect(try scrape(manager) == 8)
    }
}

extension String {
    func replacingFirstLine(with line: String) -> String {
        guard let newline = firstIndex(of: "\n") else { return line }
        return line + self[newline...]
    }
}
