import Testing
@testable import WardenCore

@Suite struct SystemdKeyTableTests {
    /// Keys Warden reads that systemd 252 does not have yet, with the systemd version that
    /// brought them. Each must stay absent from 252's table, so the list cannot go stale.
    static let newerThan252: [String: Int] = ["RestartSteps": 254, "RestartMaxDelaySec": 254, "MemoryZSwapMax": 253]

    /// Every key Warden has a rule for is a key systemd 252 defines in the same section
    /// (Warden's own `[X-Warden]` aside): Warden reads systemd's syntax, it does not
    /// invent keys in systemd's sections.
    @Test func everyRuleIsASystemdKeyOfItsSection() {
        let rules = ServiceConfig.rules.map { ($0.key, $0.sections) } + SliceConfig.rules.map { ($0.key, $0.sections) }
        for (key, sections) in rules {
            for section in sections where section != "X-Warden" {
                if Self.newerThan252[key] != nil {
                    #expect(!SystemdOnlyKeys.isSystemdKey(key, section: section), "\(section).\(key) is in 252 after all")
                } else {
                    #expect(SystemdOnlyKeys.isSystemdKey(key, section: section), "[\(section)] \(key)= is not a systemd 252 key")
                }
            }
        }
    }

    /// The generated table has what systemd 252 documents, section by section.
    @Test(arguments: [
        ("Service", "ExecStart", true), ("Service", "PrivateTmp", true), ("Unit", "ConditionCredential", true),
        ("Install", "Alias", true), ("Slice", "CPUQuota", true), ("Unit", "ExecStart", false),
        ("Slice", "ExecStart", false), ("Service", "RestartMode", false), ("Install", "Description", false),
        ("X-Warden", "Priority", false),
    ])
    func tableHoldsSystemdsKeys(section: String, key: String, known: Bool) {
        #expect(SystemdOnlyKeys.isSystemdKey(key, section: section) == known)
    }

    /// systemd's parsers decide which values have `%` specifiers; the table says which.
    @Test(arguments: [
        ("CPUQuota", true), ("MemoryMax", true), ("TasksMax", true), ("ManagedOOMMemoryPressureLimit", true),
        ("Restart", true), ("TimeoutStopSec", true), ("ExecStart", false), ("Environment", false),
        ("Description", false), ("WorkingDirectory", false), ("User", false), ("Requires", false),
        ("ConditionPathExists", false), ("AllowedCPUs", false),
    ])
    func verbatimKeysAreSystemds(key: String, verbatim: Bool) {
        #expect(UnitLoader.defaultVerbatimKeys.contains(key) == verbatim, "\(key)")
    }

    @Test func percentInAVerbatimSystemdKeyIsNotASpecifier() {
        var tree = Tree()
        tree.unit("a.service", service("ManagedOOMMemoryPressureLimit=50%\nEnvironment=HOST=%H"))
        let result = tree.load()
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.configuration?.services.first?.environment.first?.value == "testhost")
    }

    /// Keys Warden has no rule for: a systemd key of the section is accepted with a
    /// warning, an informational one silently, an obsolete one says so; anything else
    /// is an error with the closest spelling, Warden's or systemd's.
    @Test(arguments: [
        ("[Service]", "PrivateTmp=yes", Diagnostic.Severity?.some(.warning), "not enforced"),
        ("[Unit]", "ConditionCredential=x", .warning, "not enforced"),
        ("[Unit]", "Documentation=man:a(8)", nil, ""),
        ("[Unit]", "IgnoreOnSnapshot=yes", .warning, "obsolete"),
        ("[Service]", "PrivatTmp=yes", .error, "did you mean PrivateTmp?"),
        ("[Service]", "ExecStrat=/usr/bin/true", .error, "did you mean ExecStart?"),
        ("[Service]", "ConditionPathExists=/x", .error, "unknown key in [Service]; systemd reads it in [Unit]"),
        ("[Service]", "StartLimitIntervalSec=5", .error, "belongs in [Unit], not [Service]"),
        ("[Install]", "WantedBy=multi-user.target", nil, ""),
        ("[Install]", "WantedBY=multi-user.target", .error, "did you mean WantedBy?"),
        ("[X-Warden]", "PrivateTmp=yes", .error, "unknown key in [X-Warden]"),
    ])
    func keyWithoutARule(section: String, line: String, severity: Diagnostic.Severity?, message: String) {
        var tree = Tree()
        tree.unit("a.service", "[Service]\nExecStart=/usr/bin/true\n\(section)\n\(line)\n")
        let key = String(line.prefix { $0 != "=" })
        let found = tree.load().diagnostics.filter { $0.key == key }
        #expect(found.count == (severity == nil ? 0 : 1), "\(found)")
        if let severity, let diagnostic = found.first {
            #expect(diagnostic.severity == severity && diagnostic.message.contains(message), "\(diagnostic)")
            #expect(diagnostic.location == SourceLocation(file: "/u/a.service", line: 4))
        }
    }

    /// One warning per key for the whole configuration, at its first use.
    @Test func notEnforcedIsSaidOncePerKey() throws {
        var tree = Tree()
        for name in ["c", "a", "b"] {
            tree.unit("\(name).service", service("PrivateTmp=yes\nProtectSystem=full"))
        }
        tree.unit("d.service", service("ProtectSystem=full"))
        tree.files["/u/a.service.d/x.conf"] = "[Service]\nPrivateTmp=no\n"
        let warnings = tree.load().warnings.filter { $0.message.hasPrefix(SystemdOnlyKeys.notEnforced) }
        #expect(warnings.map(\.description) == [
            "/u/a.service:6: warning: PrivateTmp: systemd setting not enforced by Warden; ignored (also in 2 other units)",
            "/u/a.service:7: warning: ProtectSystem: systemd setting not enforced by Warden; ignored (also in 3 other units)",
        ])
    }

    /// Uses as (file, line, unit): the first by file and line is named; other units are
    /// counted once each, however many files (drop-ins) they use the key in.
    @Test(arguments: [
        ([("x.service", 3, "x"), ("x.service.d/a.conf", 1, "x")], "x.service:3: warning: K: systemd setting not enforced by Warden; ignored"),
        ([("b.service", 2, "b"), ("a.service", 9, "a")], "a.service:9: warning: K: systemd setting not enforced by Warden; ignored (also in 1 other unit)"),
        ([("b.service", 2, "b"), ("c.service", 1, "c"), ("c.service.d/x.conf", 1, "c"), ("a.service", 9, "a")],
         "a.service:9: warning: K: systemd setting not enforced by Warden; ignored (also in 2 other units)"),
    ])
    func aggregationNamesTheFirstLocation(uses: [(String, Int, String)], expected: String) {
        let input = uses.map { (file, line, unit) in
            (diagnostic: Diagnostic.warning(SourceLocation(file: file, line: line), key: "K", SystemdOnlyKeys.notEnforced), unit: unit)
        }
        #expect(ConfigurationLoader.aggregatingNotEnforced(input).map(\.description) == [expected])
    }
}
