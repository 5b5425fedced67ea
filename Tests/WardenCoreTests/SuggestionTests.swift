import Testing
@testable import WardenCore

@Suite struct SuggestionTests {
    @Test(arguments: [
        ("CPUQuata", "CPUQuota"),
        ("cpuquota", "CPUQuota"),
        ("MemroyMax", "MemoryMax"),
        ("Restrat", "Restart"),
    ])
    func suggestsCloseKey(typo: String, expected: String) {
        let keys = ["CPUQuota", "CPUWeight", "MemoryMax", "MemoryHigh", "Restart", "RestartSec"]
        #expect(Suggestion.closest(to: typo, in: keys) == expected)
    }

    @Test func noSuggestionForUnrelatedWord() {
        #expect(Suggestion.closest(to: "Frobnicate", in: ["CPUQuota", "MemoryMax"]) == nil)
    }

    @Test func diagnosticRendersFileLineKey() {
        let d = Diagnostic.error(SourceLocation(file: "a.service", line: 3), key: "CPUQuota", "bad")
        #expect(d.description == "a.service:3: CPUQuota: bad")
        let w = Diagnostic.warning(SourceLocation(file: "a.service", line: 4), key: "PrivateTmp", "not enforced")
        #expect(w.description == "a.service:4: warning: PrivateTmp: not enforced")
    }
}
