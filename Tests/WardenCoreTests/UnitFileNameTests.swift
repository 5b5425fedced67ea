import Testing
@testable import WardenCore

@Suite struct UnitFileNameTests {
    @Test(arguments: [
        ("order-executor.service", "order-executor", nil, UnitName.Kind.service),
        ("feed@2.service", "feed", "2", .service),
        ("feed@.service", "feed", "", .service),
        ("trading.slice", "trading", nil, .slice),
        ("-.slice", "-", nil, .slice),
        ("a:b_c.d-e.service", "a:b_c.d-e", nil, .service),
        ("getty@tty\\x2d1.service", "getty", "tty\\x2d1", .service),
        ("foo@a@b.service", "foo", "a@b", .service),
        ("multi-user.target", "multi-user", nil, .target),
    ] as [(String, String, String?, UnitName.Kind)])
    func parsesValidNames(text: String, prefix: String, instance: String?, kind: UnitName.Kind) throws {
        let name = try #require(UnitName(parsing: text))
        #expect(name.prefix == prefix)
        #expect(name.instance == instance)
        #expect(name.kind == kind)
        #expect(name.description == text)
    }

    @Test(arguments: [
        ("", "empty"),
        ("foo", "type suffix"),
        ("foo.servic", "unknown unit type"),
        (".service", "empty"),
        ("@x.service", "empty"),
        ("foo bar.service", "not allowed"),
        ("foo/bar.service", "not allowed"),
        ("föo.service", "non-ASCII"),
        (String(repeating: "a", count: 248) + ".service", "longer than 255"),
    ])
    func rejectsInvalidNames(text: String, reason: String) {
        #expect(UnitName(parsing: text) == nil)
        guard case .failure(let error) = UnitName.validate(text) else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(error.reason.contains(reason), "\(error)")
    }

    @Test func longestValidName() {
        let text = String(repeating: "a", count: 247) + ".service"
        #expect(text.utf8.count == 255)
        #expect(UnitName(parsing: text) != nil)
    }

    @Test func templatesAndInstances() throws {
        let template = try #require(UnitName(parsing: "feed@.service"))
        #expect(template.isTemplate)
        #expect(!template.isInstance)
        #expect(template.template == nil)
        let instance = template.instantiated(with: "2")
        #expect(instance.description == "feed@2.service")
        #expect(instance.isInstance)
        #expect(instance.template == template)
        #expect(instance.instantiated(with: "3").description == "feed@3.service")
        #expect(UnitName(parsing: "plain.service")!.template == nil)
        #expect(UnitName(parsing: "plain.service")!.instantiated(with: "x").description == "plain@x.service")
    }

    @Test(arguments: [
        ("/dev/sda", "-dev-sda"),
        ("foo-bar", "foo\\x2dbar"),
        ("a b", "a\\x20b"),
        (".hidden", "\\x2ehidden"),
        ("a.b", "a.b"),
        ("back\\slash", "back\\x5cslash"),
    ])
    func escapes(raw: String, escaped: String) {
        #expect(UnitName.escape(raw) == escaped)
        #expect(UnitName.unescape(escaped) == raw)
    }

    @Test(arguments: [
        ("-", "/"),
        ("dev-sda", "/dev/sda"),
        ("var-lib-x\\x2dy", "/var/lib/x-y"),
    ])
    func unescapesPaths(escaped: String, path: String) {
        #expect(UnitName.unescapePath(escaped) == path)
    }

    @Test(arguments: ["a\\x4", "a\\y41", "a\\", "a\\xZZ"])
    func rejectsBadEscapes(text: String) {
        #expect(UnitName.unescape(text) == nil)
    }
}
