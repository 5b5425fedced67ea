import Testing
@testable import WardenCore

/// A flat view of a parse: `Section/Key=Value@line` for every entry, for table tests.
private func flatten(_ sections: [UnitSection]) -> [String] {
    sections.flatMap { section in
        section.entries.map { "\(section.name)/\($0.key)=\($0.value)@\($0.location.line)" }
    }
}

@Suite struct UnitFileParserTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var text: String
        var entries: [String]
        var errorLines: [Int] = []
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "basic", text: "[Service]\nExecStart=/bin/true\n", entries: ["Service/ExecStart=/bin/true@2"]),
        Case(name: "no trailing newline", text: "[Service]\nType=simple", entries: ["Service/Type=simple@2"]),
        Case(name: "whitespace around = and line", text: "[Service]\n  Type  =   simple  \t\n",
             entries: ["Service/Type=simple@2"]),
        Case(name: "empty value is a reset entry", text: "[Service]\nExecStart=\nExecStart=/bin/a\n",
             entries: ["Service/ExecStart=@2", "Service/ExecStart=/bin/a@3"]),
        Case(name: "repeated keys keep order", text: "[Unit]\nAfter=a.service\nAfter=b.service\nAfter=c.service\n",
             entries: ["Unit/After=a.service@2", "Unit/After=b.service@3", "Unit/After=c.service@4"]),
        Case(name: "value keeps further =", text: "[Service]\nEnvironment=A=1 B==2\n",
             entries: ["Service/Environment=A=1 B==2@2"]),
        Case(name: "comments hash and semicolon", text: "# top\n[Service]\n; semi\n   # indented\nType=simple\n",
             entries: ["Service/Type=simple@5"]),
        Case(name: "comment chars mid-line are value", text: "[Service]\nDescription=a # not a comment ; nor this\n",
             entries: ["Service/Description=a # not a comment ; nor this@2"]),
        Case(name: "CRLF", text: "[Service]\r\nType=simple\r\nExecStart=/bin/x\r\n",
             entries: ["Service/Type=simple@2", "Service/ExecStart=/bin/x@3"]),
        Case(name: "BOM", text: "\u{FEFF}[Service]\nType=simple\n", entries: ["Service/Type=simple@2"]),
        Case(name: "continuation joins with space", text: "[Service]\nExecStart=/bin/echo a \\\n  b \\\n  c\nType=simple\n",
             entries: ["Service/ExecStart=/bin/echo a    b    c@2", "Service/Type=simple@5"]),
        Case(name: "continuation without space", text: "[Service]\nExecStart=/bin/echo a\\\nb\n",
             entries: ["Service/ExecStart=/bin/echo a b@2"]),
        Case(name: "comment lines inside continuation are skipped",
             text: "[Service]\nExecStart=/bin/echo a \\\n# comment\n; other\n  b\n",
             entries: ["Service/ExecStart=/bin/echo a    b@2"]),
        Case(name: "empty line ends continuation", text: "[Service]\nExecStart=/bin/echo a \\\n\nType=simple\n",
             entries: ["Service/ExecStart=/bin/echo a@2", "Service/Type=simple@4"]),
        Case(name: "trailing backslash at EOF", text: "[Service]\nExecStart=/bin/echo a \\",
             entries: ["Service/ExecStart=/bin/echo a@2"]),
        Case(name: "trailing backslash at EOF with newline", text: "[Service]\nExecStart=/bin/echo a\\\n",
             entries: ["Service/ExecStart=/bin/echo a@2"]),
        Case(name: "escaped backslash does not continue", text: "[Service]\nExecStart=/bin/echo a\\\\\nType=simple\n",
             entries: ["Service/ExecStart=/bin/echo a\\\\@2", "Service/Type=simple@3"]),
        Case(name: "three backslashes continue", text: "[Service]\nA=x\\\\\\\ny\n",
             entries: ["Service/A=x\\\\ y@2"]),
        Case(name: "CRLF continuation", text: "[Service]\r\nExecStart=/bin/echo a \\\r\n  b\r\n",
             entries: ["Service/ExecStart=/bin/echo a    b@2"]),
        Case(name: "duplicate sections", text: "[Service]\nA=1\n[Unit]\nB=2\n[Service]\nC=3\n",
             entries: ["Service/A=1@2", "Unit/B=2@4", "Service/C=3@6"]),
        Case(name: "continuation of header keeps header", text: "[Serv\\\nice]\nA=1\n",
             entries: ["Serv ice/A=1@3"]),
        Case(name: "X-Warden section and dotted key", text: "[X-Warden]\nGovernor.Mode=strict\nCPU-Share_2=1\n",
             entries: ["X-Warden/Governor.Mode=strict@2", "X-Warden/CPU-Share_2=1@3"]),
        Case(name: "assignment outside section", text: "Type=simple\n[Service]\nA=1\n",
             entries: ["Service/A=1@3"], errorLines: [1]),
        Case(name: "missing =", text: "[Service]\nExecStart /bin/true\nA=1\n",
             entries: ["Service/A=1@3"], errorLines: [2]),
        Case(name: "missing key", text: "[Service]\n=value\n", entries: [], errorLines: [2]),
        Case(name: "invalid key", text: "[Service]\nExec Start=/bin/true\n1Key=x\nKey!=y\n", entries: [],
             errorLines: [2, 3, 4]),
        Case(name: "unterminated header", text: "[Service\nA=1\n[Unit]\nB=2\n", entries: ["Unit/B=2@4"], errorLines: [1]),
        Case(name: "trailing text after header", text: "[Service] # c\nA=1\n", entries: [], errorLines: [1]),
        Case(name: "empty header", text: "[]\nA=1\n", entries: [], errorLines: [1]),
        Case(name: "bad char in header", text: "[Ser\"vice]\nA=1\n", entries: [], errorLines: [1]),
        Case(name: "only comments", text: "# a\n; b\n\n   \n", entries: []),
        Case(name: "empty file", text: "", entries: []),
        Case(name: "unicode value", text: "[Unit]\nDescription=Überwachung ✓\n", entries: ["Unit/Description=Überwachung ✓@2"]),
    ]

    @Test(arguments: cases)
    func parses(_ c: Case) {
        let (sections, diagnostics) = UnitFileParser.parse(text: c.text, file: "t.service")
        #expect(flatten(sections) == c.entries)
        #expect(diagnostics.filter { $0.severity == .error }.map(\.location.line) == c.errorLines,
                "\(diagnostics)")
        #expect(diagnostics.allSatisfy { $0.location.file == "t.service" })
    }

    @Test func sectionsKeepHeaderLocationAndOrder() {
        let (sections, diagnostics) = UnitFileParser.parse(
            text: "[Unit]\nDescription=x\n\n[Service]\nType=simple\n[Service]\n", file: "a.service")
        #expect(diagnostics.isEmpty)
        #expect(sections.map(\.name) == ["Unit", "Service", "Service"])
        #expect(sections.map(\.location.line) == [1, 4, 6])
        #expect(sections[2].entries.isEmpty)
    }

    @Test func diagnosticsNameFileLineAndExpectation() {
        let (_, diagnostics) = UnitFileParser.parse(text: "[Service]\nExecStart /bin/true\n", file: "/etc/warden/a.service")
        #expect(diagnostics.count == 1)
        #expect(diagnostics[0].description.hasPrefix("/etc/warden/a.service:2: "))
        #expect(diagnostics[0].message.contains("expected Key=Value"))
    }

    @Test func brokenHeaderDoesNotCascade() {
        let (sections, diagnostics) = UnitFileParser.parse(text: "[Service\nA=1\nB=2\nC=3\n", file: "a")
        #expect(sections.isEmpty)
        #expect(diagnostics.count == 1)
    }

    @Test func longFileIsLinear() {
        // 20 000 lines with continuations: must parse fully and in order.
        var text = "[Service]\n"
        for i in 0..<10_000 { text += "Environment=K\(i)=a \\\n  b\n" }
        let clock = ContinuousClock()
        let start = clock.now
        let (sections, diagnostics) = UnitFileParser.parse(text: text, file: "big")
        let elapsed = clock.now - start
        // A figure for the report, not an assertion: timing depends on the build and the host.
        print("UnitFileParser: \(text.utf8.count) bytes, 20001 lines in \(elapsed)")
        #expect(diagnostics.isEmpty)
        #expect(sections[0].entries.count == 10_000)
        #expect(sections[0].entries.last?.location.line == 2 + 9_999 * 2)
    }
}
