import Testing
@testable import WardenCore

/// SplitMix64: small, fast, and the same sequence on every run for a given seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Deterministic mutation testing of everything that reads configuration text: the
/// parsers must never crash, and every diagnostic must point at a line of the file.
@Suite struct ParserFuzzTests {
    static let samples: [String] = [
        """
        # Order executor
        [Unit]
        Description=Order executor on %H
        After=network.target feed@1.service
        Wants=feed@1.service

        [Service]
        Type=notify
        ExecStartPre=-/usr/bin/mkdir -p %t/orders ; /bin/true
        ExecStart=/opt/trading/bin/executor --config "/etc/trading/exec utor.toml" \\
            --name %n \\
        # a comment inside the continuation
            --verbose
        Environment="A=1 2" B=3 'C=x\\ty'
        EnvironmentFile=-/etc/default/executor
        Restart=on-failure
        RestartSec=250ms
        CPUQuota=150%
        MemoryMax=2G

        [X-Warden]
        Priority=critical
        """,
        "[Slice]\r\nCPUWeight=200\r\nMemoryHigh=8G\r\n; comment\r\nTasksMax=90%\r\n",
        """
        [Service]
        ExecStart=@/bin/sleep sleeper 1000
        ExecStop=+/bin/kill -TERM $MAINPID
        ExecReload=:/bin/echo ${HOME} $$ \\; "unterminated
        User=nobody
        Environment=PATH=/usr/bin:/bin LANG=C.UTF-8
        """,
        "A=1\nexport B=2\nC='multi\nline'\nD=\"esc\\\"aped\"\n# c \\\nE=x\\\n  y\n",
    ]

    static let specials: [UInt8] = Array("[]=\\\"'#;%@$ {}\n\r\t:+-!|/x".utf8) + [0x00, 0xC3, 0xA9, 0xFF, 0xEF, 0xBB, 0xBF]

    static func mutate(_ text: String, _ rng: inout SeededGenerator) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            switch Int.random(in: 0..<8, using: &rng) {
            case 0 where !bytes.isEmpty:  // replace a byte
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = specials.randomElement(using: &rng)!
            case 1:  // insert special characters
                let at = Int.random(in: 0...bytes.count, using: &rng)
                let run = (0..<Int.random(in: 1...4, using: &rng)).map { _ in specials.randomElement(using: &rng)! }
                bytes.insert(contentsOf: run, at: at)
            case 2 where !bytes.isEmpty:  // delete a range
                let start = Int.random(in: 0..<bytes.count, using: &rng)
                let end = min(bytes.count, start + Int.random(in: 1...12, using: &rng))
                bytes.removeSubrange(start..<end)
            case 3:  // truncate
                bytes.removeSubrange(Int.random(in: 0...bytes.count, using: &rng)...)
            case 4:  // duplicate a line
                var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
                if let line = lines.randomElement(using: &rng) {
                    lines.insert(line, at: Int.random(in: 0...lines.count, using: &rng))
                }
                bytes = Array(lines.joined(separator: [0x0A]))
            case 5:  // swap two lines
                var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
                if lines.count > 1 {
                    lines.swapAt(Int.random(in: 0..<lines.count, using: &rng), Int.random(in: 0..<lines.count, using: &rng))
                }
                bytes = Array(lines.joined(separator: [0x0A]))
            case 6 where !bytes.isEmpty:  // random byte
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            default:  // trailing backslash somewhere
                bytes.insert(UInt8(ascii: "\\"), at: Int.random(in: 0...bytes.count, using: &rng))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Lines as the unit-file parser counts them: LF-terminated, plus an unterminated last line.
    static func unitLineCount(_ text: String) -> Int {
        let bytes = Array(text.utf8)
        let newlines = bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        return newlines + (bytes.last.map { $0 == 0x0A ? 0 : 1 } ?? 0)
    }

    /// Environment files also end a line at a lone CR.
    static func environmentLineCount(_ text: String) -> Int {
        let bytes = Array(text.utf8)
        var count = 1
        for (i, byte) in bytes.enumerated() where byte == 0x0A || (byte == 0x0D && (i + 1 == bytes.count || bytes[i + 1] != 0x0A)) {
            count += 1
        }
        return count
    }

    @Test func mutatedFilesNeverCrashAndDiagnosticsStayInBounds() {
        var rng = SeededGenerator(seed: 0x5741_5244_454E)  // "WARDEN"
        let context = SpecifierContext(hostname: "fuzz")
        let unit = UnitName(prefix: "fuzz-a", instance: "x\\x2dy", kind: .service)
        var parsedEntries = 0
        var diagnosticsSeen = 0
        // Violations are collected and checked once: an #expect per entry would cost
        // more than the parsing under test.
        var violations: [String] = []
        let iterations = 2_000
        for iteration in 0..<iterations {
            let sample = Self.samples[iteration % Self.samples.count]
            let text = Self.mutate(sample, &rng)
            let lines = Self.unitLineCount(text)

            let (sections, diagnostics) = UnitFileParser.parse(text: text, file: "fuzz.service")
            diagnosticsSeen += diagnostics.count
            for diagnostic in diagnostics where !(1...max(lines, 1)).contains(diagnostic.location.line) {
                violations.append("\(diagnostic) outside 1...\(lines) in \(text.debugDescription)")
            }
            for section in sections {
                if !(1...lines).contains(section.location.line) {
                    violations.append("section [\(section.name)] at line \(section.location.line) of \(lines)")
                }
                for entry in section.entries {
                    parsedEntries += 1
                    if !(1...lines).contains(entry.location.line) {
                        violations.append("entry \(entry.key) at line \(entry.location.line) of \(lines)")
                    }
                    if !UnitFileParser.isValidKey(entry.key.utf8) {
                        violations.append("invalid key accepted: \(entry.key.debugDescription)")
                    }
                    if let first = entry.value.utf8.first, let last = entry.value.utf8.last,
                        UnitFileParser.isWhitespace(first) || UnitFileParser.isWhitespace(last)
                    {
                        violations.append("untrimmed value \(entry.value.debugDescription)")
                    }
                    // Everything downstream of the parser must also take any value.
                    _ = ExecCommand.parse(entry.value).map { $0.expandingEnvironment(["A": "1 2", "HOME": "/root"]) }
                    _ = SystemdWords.parseEnvironment(entry.value)
                    _ = SystemdWords.split(entry.value, rules: .list)
                    _ = SystemdWords.split(entry.value, rules: .unitNames)
                    _ = context.expand(entry.value, for: unit, fragmentPath: "/f")
                    _ = UnitName.validate(entry.value)
                    _ = UnitName.unescape(entry.value)
                }
            }

            let envLines = Self.environmentLineCount(text)
            let (_, envDiagnostics) = EnvironmentFileParser.parse(text, file: "fuzz.env")
            for diagnostic in envDiagnostics where !(1...envLines).contains(diagnostic.location.line) {
                violations.append("\(diagnostic) outside 1...\(envLines) in \(text.debugDescription)")
            }

            if iteration % 10 == 0 {
                let dropIn = Self.mutate(Self.samples[(iteration / 10) % Self.samples.count], &rng)
                let files = ["/u/fuzz-a.service": text, "/u/fuzz-a.service.d/10.conf": dropIn, "/u/fuzz-.service.d/5.conf": text]
                let loader = UnitLoader(fileSystem: InMemoryFileSystem(files: files), specifiers: context)
                let (_, loadDiagnostics, _) = loader.loadDirectory("/u")
                for diagnostic in loadDiagnostics {
                    // An empty unit file is masked, said about the file as a whole (line 0).
                    if diagnostic.location.line == 0, files[diagnostic.location.file]?.isEmpty == true,
                        diagnostic.message.contains("is masked")
                    {
                        continue
                    }
                    let bound = Self.unitLineCount(files[diagnostic.location.file] ?? "")
                    if !(1...max(bound, 1)).contains(diagnostic.location.line) {
                        violations.append("loader: \(diagnostic) outside 1...\(bound)")
                    }
                }
            }
        }
        #expect(violations.isEmpty, "\(violations.prefix(5))")
        // The mutations must exercise both the happy path and the error paths.
        #expect(parsedEntries > iterations)
        #expect(diagnosticsSeen > iterations / 10)
        print("ParserFuzzTests: \(iterations) mutated files, \(parsedEntries) entries, \(diagnosticsSeen) diagnostics")
    }

    @Test func randomWordSoupNeverCrashes() {
        var rng = SeededGenerator(seed: 42)
        let alphabet: [UInt8] = Array("ab /$\\{}\"';xX0u7%@-+!:|\t".utf8)
        for _ in 0..<3_000 {
            let bytes = (0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let value = String(decoding: bytes, as: UTF8.self)
            var warnings: [String] = []
            if case .success(let commands) = ExecCommand.parseSequence(value, warnings: &warnings) {
                for command in commands {
                    #expect(!command.path.isEmpty)
                    #expect(command.path.hasPrefix("/") || !command.path.contains("/"))
                    _ = command.expandingEnvironment(["x": "a b", "a": ""])
                }
            }
            _ = SystemdWords.split(value)
            _ = EnvironmentFileParser.parse(value, file: "w")
        }
    }
}
