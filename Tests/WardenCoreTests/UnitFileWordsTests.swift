import Testing
@testable import WardenCore

@Suite struct UnitFileWordsTests {
    @Test(arguments: [
        ("a b  c", ["a", "b", "c"]),
        ("  leading and trailing  ", ["leading", "and", "trailing"]),
        ("", []),
        ("   ", []),
        ("\"a b\" c", ["a b", "c"]),
        ("'a b' c", ["a b", "c"]),
        ("x\"a b\"y", ["xa by"]),
        ("\"\"", [""]),
        ("a \"\" b", ["a", "", "b"]),
        ("'it\"s'", ["it\"s"]),
        ("\"it's\"", ["it's"]),
        ("\\n\\t\\\\", ["\n\t\\"]),
        ("\\x41\\102\\u00e9\\U0001F600", ["ABé😀"]),
        ("'\\x41'", ["A"]),
        ("\\s", [" "]),
        ("\\a\\b\\f\\r\\v", ["\u{07}\u{08}\u{0C}\r\u{0B}"]),
        ("\\\"quoted\\\"", ["\"quoted\""]),
        ("tab\tseparated\nnewline", ["tab", "separated", "newline"]),
    ] as [(String, [String])])
    func splitsCommandLineWords(value: String, words: [String]) {
        var warnings: [String] = []
        #expect(SystemdWords.split(value, warnings: &warnings) == .success(words))
        #expect(warnings.isEmpty)
    }

    @Test(arguments: [
        ("a\\;", ["a\\;"]),
        ("a\\ b", ["a\\ b"]),
        ("\\d", ["\\d"]),
        ("\\x00", ["\\x00"]),
        ("\\000", ["\\000"]),
        ("\\777", ["\\777"]),
        ("\\xZ1", ["\\xZ1"]),
        ("end\\", ["end\\"]),
    ] as [(String, [String])])
    func keepsUnknownEscapesWithWarning(value: String, words: [String]) {
        var warnings: [String] = []
        #expect(SystemdWords.split(value, warnings: &warnings) == .success(words))
        #expect(warnings.count == 1)
    }

    @Test(arguments: ["\"open", "'open", "a \"b c", "\"trailing\\"])
    func unbalancedQuotesAreErrors(value: String) {
        guard case .failure(let error) = SystemdWords.split(value) else {
            Issue.record("accepted \(value)")
            return
        }
        #expect(error.message.contains("unbalanced quoting"))
        #expect(error.value == value)
    }

    @Test(arguments: [
        ("a.service b.service", SystemdWords.Rules.unitNames, ["a.service", "b.service"]),
        ("dev-disk-by\\x2dlabel.device", .unitNames, ["dev-disk-by\\x2dlabel.device"]),
        ("\"a b\"", .unitNames, ["\"a", "b\""]),
        ("\"/a b\" /c", .list, ["/a b", "/c"]),
        ("a\\nb", .list, ["anb"]),
    ] as [(String, SystemdWords.Rules, [String])])
    func splitsWithOtherRules(value: String, rules: SystemdWords.Rules, words: [String]) {
        #expect(SystemdWords.split(value, rules: rules) == .success(words))
    }

    // MARK: Environment=

    @Test(arguments: [
        ("\"A=1 2\" B=3", ["A=1 2", "B=3"]),
        ("A=", ["A="]),
        ("A=x=y", ["A=x=y"]),
        ("_x1=a 'B=two words'", ["_x1=a", "B=two words"]),
        ("PATH=/usr/bin:/bin LANG=C.UTF-8", ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"]),
        ("A=a\\tb", ["A=a\tb"]),
    ] as [(String, [String])])
    func parsesEnvironment(value: String, assignments: [String]) throws {
        let parsed = try SystemdWords.parseEnvironment(value).get()
        #expect(parsed.assignments.map(\.description) == assignments)
        #expect(parsed.problems.isEmpty)
    }

    @Test(arguments: [
        ("NOEQUALS B=1", ["B=1"], "expected NAME=VALUE"),
        ("1A=x B=1", ["B=1"], "name must be"),
        ("=x", [], "name must be"),
        ("A-B=x", [], "name must be"),
    ] as [(String, [String], String)])
    func reportsInvalidEnvironmentWords(value: String, kept: [String], problem: String) throws {
        let parsed = try SystemdWords.parseEnvironment(value).get()
        #expect(parsed.assignments.map(\.description) == kept)
        #expect(parsed.problems.count == 1)
        #expect(parsed.problems.first?.contains(problem) == true, "\(parsed.problems)")
    }

    @Test func environmentWithUnbalancedQuoteFails() {
        guard case .failure = SystemdWords.parseEnvironment("\"A=1") else {
            Issue.record("accepted")
            return
        }
    }

    @Test(arguments: [("A", true), ("_", true), ("a_1", true), ("1a", false), ("", false), ("a-b", false), ("é", false)])
    func validatesNames(name: String, valid: Bool) {
        #expect(EnvironmentAssignment.isValidName(name) == valid)
    }

    // MARK: EnvironmentFile= contents

    struct FileCase: CustomStringConvertible, Sendable {
        var name: String
        var text: String
        var assignments: [String]
        var errorLines: [Int] = []
        var warningLines: [Int] = []
        var description: String { name }
    }

    static let fileCases: [FileCase] = [
        FileCase(name: "simple", text: "A=1\nB=two\n", assignments: ["A=1", "B=two"]),
        FileCase(name: "comments and empty lines", text: "# c\n; c\n\n   \nA=1\n  # indented\n", assignments: ["A=1"]),
        FileCase(name: "whitespace trimmed, interior kept", text: "  A =  a  b  \t\n", assignments: ["A=a  b"]),
        FileCase(name: "quotes after first char kept", text: "A=x\"y\"z\n", assignments: ["A=x\"y\"z"]),
        FileCase(name: "double quotes", text: "A=\"  a b  \"\n", assignments: ["A=  a b  "]),
        FileCase(name: "single quotes verbatim", text: "A='a\\nb $X'\n", assignments: ["A=a\\nb $X"]),
        FileCase(name: "double quote escapes", text: "A=\"q\\\" b\\\\ d\\$ t\\` n\\n\"\n", assignments: ["A=q\" b\\ d$ t` n\\n"]),
        FileCase(name: "text after closing quote appended", text: "A=\"x\"y\n", assignments: ["A=xy"]),
        FileCase(name: "multi-line quoted", text: "A='line1\nline2'\nB=2\n", assignments: ["A=line1\nline2", "B=2"]),
        FileCase(name: "continuation unquoted", text: "A=one\\\ntwo\nB=3\n", assignments: ["A=onetwo", "B=3"]),
        FileCase(name: "continuation in double quotes", text: "A=\"one\\\ntwo\"\n", assignments: ["A=onetwo"]),
        FileCase(name: "backslash keeps next char", text: "A=a\\ \\#b\\\\\n", assignments: ["A=a #b\\"]),
        FileCase(name: "escaped trailing space kept", text: "A=x\\ \n", assignments: ["A=x "]),
        FileCase(name: "empty value", text: "A=\nB=\"\"\n", assignments: ["A=", "B="]),
        FileCase(name: "CRLF", text: "A=1\r\nB=2\r\n", assignments: ["A=1", "B=2"]),
        FileCase(name: "no trailing newline", text: "A=1", assignments: ["A=1"]),
        FileCase(name: "duplicates kept in order", text: "A=1\nA=2\n", assignments: ["A=1", "A=2"]),
        FileCase(name: "comment backslash does not continue", text: "# c \\\nA=1\n", assignments: ["A=1"]),
        FileCase(name: "line without =", text: "JUSTTEXT\nA=1\n", assignments: ["A=1"], warningLines: [1]),
        FileCase(name: "export not supported", text: "export A=1\nB=2\n", assignments: ["B=2"], errorLines: [1]),
        FileCase(name: "invalid name", text: "A-B=1\n\n9X=2\n", assignments: [], errorLines: [1, 3]),
        FileCase(name: "unterminated quote", text: "A=1\nB=\"open\n", assignments: ["A=1", "B=open\n"], warningLines: [2]),
    ]

    @Test(arguments: fileCases)
    func parsesEnvironmentFile(_ c: FileCase) {
        let (assignments, diagnostics) = EnvironmentFileParser.parse(c.text, file: "/etc/default/x")
        #expect(assignments.map(\.description) == c.assignments)
        #expect(diagnostics.filter { $0.severity == .error }.map(\.location.line) == c.errorLines, "\(diagnostics)")
        #expect(diagnostics.filter { $0.severity == .warning }.map(\.location.line) == c.warningLines, "\(diagnostics)")
    }

    @Test func exportHasHint() {
        let (_, diagnostics) = EnvironmentFileParser.parse("export A=1\n", file: "f")
        #expect(diagnostics.first?.message.contains("no 'export' keyword") == true)
    }
}
