import Testing
@testable import WardenCore

/// The settings fingerprint in the component records: equal for the same settings written
/// anywhere, different when a setting that a reload restarts for differs.
@Suite struct UnitFingerprintTests {
    static func fingerprint(_ text: String) throws -> UnitFingerprint {
        var tree = Tree()
        tree.unit("feed.service", text)
        let result = tree.load()
        let configuration = try #require(result.configuration, "\(result.diagnostics)")
        return UnitFingerprint(try #require(configuration.services.first { $0.name.description == "feed.service" }))
    }

    static let base = "[Service]\nExecStart=/usr/bin/sleep 100\nEnvironment=A=1 B=2\nRestart=on-failure\n"

    @Test(arguments: [
        "[Service]\nExecStart=/usr/bin/sleep 100\nEnvironment=A=1 B=2\nRestart=on-failure\n",
        "# a comment\n\n[Service]\n\nExecStart=/usr/bin/sleep 100\n# another\nEnvironment=A=1 B=2\n\nRestart=on-failure\n",
        "[Service]\nRestart=on-failure\nEnvironment=A=1 B=2\nExecStart=/usr/bin/sleep 100\n",
    ])
    func sameSettingsSameFingerprint(_ text: String) throws {
        #expect(try Self.fingerprint(text) == Self.fingerprint(Self.base))
    }

    @Test(arguments: [
        "[Service]\nExecStart=/usr/bin/sleep 101\nEnvironment=A=1 B=2\nRestart=on-failure\n",
        "[Service]\nExecStart=/usr/bin/sleep 100\nEnvironment=A=1 B=3\nRestart=on-failure\n",
        "[Service]\nExecStart=/usr/bin/sleep 100\nEnvironment=A=1\nRestart=on-failure\n",
        "[Service]\nExecStart=/usr/bin/sleep 100\nEnvironment=A=1 B=2\nRestart=always\n",
        "[Service]\nExecStart=/usr/bin/sleep 100\nEnvironment=A=1 B=2\nRestart=on-failure\nMemoryMax=1G\n",
        "[Unit]\nDescription=the feed\n[Service]\nExecStart=/usr/bin/sleep 100\nEnvironment=A=1 B=2\nRestart=on-failure\n",
    ])
    func changedSettingsOtherFingerprint(_ text: String) throws {
        #expect(try Self.fingerprint(text) != Self.fingerprint(Self.base))
    }

    /// The digest itself is fixed: two FNV-1a 64 digests of the canonical text.
    @Test func digestOfKnownText() {
        #expect(UnitFingerprint(canonicalText: "").hex == "6c62272e07bb0142cbf29ce484222325")
        #expect(UnitFingerprint(canonicalText: "a").hex.count == 32)
        #expect(UnitFingerprint(canonicalText: "a") != UnitFingerprint(canonicalText: "b"))
    }

    /// Sets and dictionaries are read in sorted order: equal contents, whatever their
    /// storage order, give one text.
    @Test func unorderedCollectionsAreSorted() {
        var small: [String: Int] = [:]
        var large = [String: Int](minimumCapacity: 512)
        for (i, key) in ["q", "w", "e", "r", "t", "y", "u", "i", "o", "p"].enumerated() {
            small[key] = i
            large[key] = i
        }
        #expect(UnitFingerprint.canonical(small) == UnitFingerprint.canonical(large))
        let one = Set((0..<40).map(String.init))
        var other = Set<String>(minimumCapacity: 1024)
        for i in (0..<40).reversed() { other.insert(String(i)) }
        #expect(UnitFingerprint.canonical(one) == UnitFingerprint.canonical(other))
    }

    /// Unused fields are left out (a new optional setting changes no fingerprint); an
    /// enum's payload never is.
    @Test func defaultsOmittedFromStructsOnly() {
        struct Fields { var name = "x"; var extra: Int? = nil; var list: [Int] = []; var flag = false }
        enum Choice { case one(Bool), two(Bool) }
        #expect(UnitFingerprint.canonical(Fields()).contains("name:"))
        #expect(!UnitFingerprint.canonical(Fields()).contains("extra"))
        #expect(!UnitFingerprint.canonical(Fields()).contains("flag"))
        #expect(UnitFingerprint.canonical(Fields(extra: 3)).contains("extra:3"))
        #expect(UnitFingerprint.canonical(Choice.one(false)) != UnitFingerprint.canonical(Choice.two(false)))
    }

    @Test(arguments: [
        ("0123456789abcdef0123456789abcdef", true), ("0123456789ABCDEF0123456789abcdef", true),
        ("0123456789abcdef0123456789abcde", false), ("0123456789abcdef0123456789abcdeg", false), ("", false),
    ])
    func recordedForm(_ text: String, _ valid: Bool) {
        #expect((UnitFingerprint(recorded: text) != nil) == valid)
    }
}
