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

    /// A key far longer than any candidate is no typo of one; a suggestion still comes
    /// for a key of the right length, however many there are to compare with.
    @Test func lengthAloneRulesCandidatesOut() {
        let keys = ["CPUQuota", "CPUWeight", "MemoryMax"]
        #expect(Suggestion.closest(to: String(repeating: "CPUQuota", count: 1 << 17), in: keys) == nil)
        #expect(Suggestion.closest(to: "CPUQuotaX", in: keys) == "CPUQuota")
        #expect(Suggestion.closest(to: "CPUQuotaXXXX", in: keys) == nil, "four edits away")
    }

    /// What a diagnostic quotes is bounded, and says how long the original was.
    @Test func diagnosticsQuoteABoundedKeyAndMessage() {
        let key = String(repeating: "K", count: 1 << 20)
        let d = Diagnostic.error(SourceLocation(file: "a.service", line: 3), key: key, "unknown key '\(key)'")
        #expect(d.key!.utf8.count <= Diagnostic.longestKey)
        #expect(d.key!.hasSuffix("… (1048576 bytes in all)"))
        #expect(d.message.utf8.count <= Diagnostic.longestMessage)
        #expect(d.message.hasPrefix("unknown key 'KKK"))
        let short = Diagnostic.error(SourceLocation(file: "a.service", line: 3), key: "CPUQuota", "bad")
        #expect(short.key == "CPUQuota" && short.message == "bad")
        // Multi-byte characters are never cut in half.
        let accents = Diagnostic.note(SourceLocation(file: "a", line: 1), key: String(repeating: "é", count: 200), "x")
        #expect(accents.key!.hasPrefix("éé") && accents.key!.utf8.count <= Diagnostic.longestKey)
    }
}
