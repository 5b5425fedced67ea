import Testing
@testable import WardenCore

@Suite struct ValuesTasksMaxTests {
    @Test(arguments: [("512", TasksMax?.some(.count(512))), ("15%", .percentOfSystem(permyriad: 1500)),
                      ("12.5%", .percentOfSystem(permyriad: 1250)), ("infinity", .infinity), ("", nil),
                      ("100%", .percentOfSystem(permyriad: 10_000)), ("0%", .percentOfSystem(permyriad: 0)),
                      ("1", .count(1))])
    func parsesTasksMax(text: String, value: TasksMax?) {
        #expect(TasksMax.parse(text) == .success(value))
        if let value { #expect(value.description == text) }
    }

    @Test(arguments: [("0", "out of range"), ("101%", "100%"), ("-1", "task limit"), ("abc", "task limit"),
                      ("18446744073709551615", "out of range"), ("1.5", "task limit"), ("max", "infinity")])
    func rejectsBadTasksMax(text: String, reason: String) {
        expectValueError(TasksMax.parse(text), mentions: ["'\(text)'", reason])
    }

    @Test(arguments: [(TasksMax.percentOfSystem(permyriad: 1500), UInt64?(629_145)), (.count(512), 512), (.infinity, nil),
                      (.percentOfSystem(permyriad: 10_000), 4_194_303)])
    func resolvesAgainstSystemLimit(value: TasksMax, tasks: UInt64?) {
        #expect(value.resolve(systemTasksMax: 4_194_303) == tasks)
    }
}

@Suite struct ValuesOutputTargetTests {
    static let valid: [(String, OutputTarget, String)] = [
        ("inherit", .inherit, "inherit"), ("null", .null, "null"), ("tty", .tty, "tty"), ("journal", .journal, "journal"),
        ("syslog", .journal, "journal"), ("kmsg", .kmsg, "kmsg"), ("journal+console", .journalAndConsole, "journal+console"),
        ("syslog+console", .journalAndConsole, "journal+console"), ("kmsg+console", .kmsgAndConsole, "kmsg+console"),
        ("file:/var/log/a.log", .file("/var/log/a.log"), "file:/var/log/a.log"),
        ("append:/var/log/a.log", .append("/var/log/a.log"), "append:/var/log/a.log"),
        ("truncate:/tmp/x", .truncate("/tmp/x"), "truncate:/tmp/x"),
        ("file:/var//log/./a.log", .file("/var/log/a.log"), "file:/var/log/a.log"),
        ("append:/var/log/", .append("/var/log"), "append:/var/log"), ("file:/", .file("/"), "file:/"),
    ]

    @Test(arguments: valid)
    func parsesOutputTargets(text: String, target: OutputTarget, canonical: String) {
        #expect(OutputTarget.parse(text) == .success(target))
        #expect(target.description == canonical)
    }

    static let invalid: [(String, String)] = [
        ("file:relative.log", "absolute"), ("file:", "empty"), ("append:/var/../etc/passwd", "'..'"),
        ("socket", "not supported"), ("fd:foo", "not supported"), ("journal+kmsg", "output target"),
        ("Journal", "output target"), ("", "output target"), ("file", "output target"), ("truncate:~/x", "absolute"),
    ]

    @Test(arguments: invalid)
    func rejectsBadOutputTargets(text: String, reason: String) {
        expectValueError(OutputTarget.parse(text), mentions: ["'\(text)'", reason, "append:/PATH"])
    }
}

@Suite struct ValuesIdentityTests {
    static let valid: [(String, UserGroupName, Bool)] = [
        ("root", .name("root"), true), ("www-data", .name("www-data"), true), ("0", .id(0), true),
        ("1000", .id(1000), true), ("4294967294", .id(4_294_967_294), true), ("_apt", .name("_apt"), true),
        ("user.name", .name("user.name"), false), ("Domain User", .name("Domain User"), false),
        ("user@realm", .name("user@realm"), false), ("0x10", .name("0x10"), false), ("1abc", .name("1abc"), false),
        ("-abc", .name("-abc"), false), (String(repeating: "a", count: 32), .name(String(repeating: "a", count: 32)), false),
        (String(repeating: "a", count: 31), .name(String(repeating: "a", count: 31)), true), ("65534", .id(65534), true),
    ]

    @Test(arguments: valid)
    func parsesUsersAndGroups(text: String, value: UserGroupName, strict: Bool) {
        #expect(UserGroupName.parse(text) == .success(value))
        #expect(value.isStrictName == strict)
        #expect(value.description == text)
    }

    static let invalid: [(String, String)] = [
        ("", "empty"), ("65535", "reserved"), ("4294967295", "reserved"), ("4294967296", "above"), ("-1", "negative"),
        (" root", "space"), ("root ", "space"), ("a:b", "':'"), ("a/b", "'/'"), (".", "'..'"), ("..", "'..'"),
        ("ab\u{07}c", "control"), ("a\nb", "control"), ("99999999999999999999999", "above"),
    ]

    @Test(arguments: invalid)
    func rejectsBadUsersAndGroups(text: String, reason: String) {
        expectValueError(UserGroupName.parse(text), mentions: ["'\(text)'", reason, "user or group name"])
    }

    @Test func parsesSupplementaryGroups() {
        #expect(UserGroupName.parseList("wheel adm 1000") == .success([.name("wheel"), .name("adm"), .id(1000)]))
        #expect(UserGroupName.parseList("") == .success([]))
        #expect(UserGroupName.parseList("  video\taudio ") == .success([.name("video"), .name("audio")]))
        expectValueError(UserGroupName.parseList("wheel :bad"), mentions: ["':bad'"])
    }

    @Test(arguments: ["PATH", "_X", "a1", "APP_PORT", "x", "__", "lower_case"])
    func acceptsEnvironmentNames(name: String) {
        #expect(EnvironmentName.isValid(name))
        #expect(EnvironmentName.validate(name) == .success(name))
    }

    @Test(arguments: ["", "1A", "A-B", "A=B", "A B", "\u{00C9}T\u{00C9}", "A.B", "$A"])
    func rejectsEnvironmentNames(name: String) {
        #expect(!EnvironmentName.isValid(name))
        expectValueError(EnvironmentName.validate(name), mentions: ["'\(name)'", "not starting with a digit"])
    }
}

@Suite struct ValuesWardenKeyTests {
    static let validHealthChecks: [(String, HealthCheckTarget, String)] = [
        ("exec:/usr/bin/check --fast", .exec(path: "/usr/bin/check", arguments: ["--fast"]), "exec:/usr/bin/check --fast"),
        ("exec:/bin/true", .exec(path: "/bin/true", arguments: []), "exec:/bin/true"),
        ("exec:/bin/sh -c \"curl -f localhost\"", .exec(path: "/bin/sh", arguments: ["-c", "curl -f localhost"]),
         "exec:/bin/sh -c \"curl -f localhost\""),
        ("exec:/bin/echo 'a b' \"c d\"", .exec(path: "/bin/echo", arguments: ["a b", "c d"]), "exec:/bin/echo \"a b\" \"c d\""),
        ("exec:/bin/echo \"\"", .exec(path: "/bin/echo", arguments: [""]), "exec:/bin/echo \"\""),
        ("tcp:127.0.0.1:8080", .tcp(host: "127.0.0.1", port: 8080), "tcp:127.0.0.1:8080"),
        ("tcp:localhost:1", .tcp(host: "localhost", port: 1), "tcp:localhost:1"),
        ("tcp:[::1]:65535", .tcp(host: "::1", port: 65535), "tcp:[::1]:65535"),
        ("http://127.0.0.1:8080/health", .http(host: "127.0.0.1", port: 8080, path: "/health"), "http://127.0.0.1:8080/health"),
        ("http://localhost/health", .http(host: "localhost", port: 80, path: "/health"), "http://localhost:80/health"),
        ("http://localhost:9000", .http(host: "localhost", port: 9000, path: "/"), "http://localhost:9000/"),
        ("http://[::1]:8080/x?y=1", .http(host: "::1", port: 8080, path: "/x?y=1"), "http://[::1]:8080/x?y=1"),
    ]

    @Test(arguments: validHealthChecks)
    func parsesHealthChecks(text: String, target: HealthCheckTarget, canonical: String) {
        #expect(HealthCheckTarget.parse(text) == .success(target))
        #expect(target.description == canonical)
        #expect(HealthCheckTarget.parse(canonical) == .success(target))
    }

    static let invalidHealthChecks: [(String, String)] = [
        ("exec:bin/check", "absolute"), ("exec:", "missing"), ("exec:/bin/sh \"unclosed", "quote"),
        ("exec:/bin/x \"open", "quot"), ("tcp:127.0.0.1", "port is missing"), ("tcp::8080", "host is empty"),
        ("tcp:host:0", "1 to 65535"), ("tcp:host:65536", "1 to 65535"), ("tcp:host:http", "1 to 65535"),
        ("tcp:::1:80", "brackets"), ("https://x/", "https"), ("http://:80/", "host is empty"),
        ("http://host:99999/", "1 to 65535"), ("ftp://x", "unknown kind"), ("", "unknown kind"),
        ("http://host/a b", "space"), ("tcp:[::1", "not closed"), ("tcp:[::1]8080", "after ']'"),
        ("http://user@host/", "'@'"),
    ]

    @Test(arguments: invalidHealthChecks)
    func rejectsBadHealthChecks(text: String, reason: String) {
        expectValueError(HealthCheckTarget.parse(text), mentions: ["'\(text)'", reason, "tcp:HOST:PORT"])
    }

    static let validMatches: [(String, String)] = [
        ("executable", "executable"), ("executable+arguments", "executable+arguments"),
        ("pattern:*nginx*", "pattern:*nginx*"), ("pidfile:/run/app.pid", "pidfile:/run/app.pid"),
        ("pidfile:/run//app.pid", "pidfile:/run/app.pid"),
    ]

    @Test(arguments: validMatches)
    func parsesDuplicateMatch(text: String, canonical: String) throws {
        let match = try DuplicateMatch.parse(text).get()
        #expect(match.description == canonical)
        #expect(try DuplicateMatch.parse(canonical).get() == match)
    }

    @Test func duplicateMatchCases() throws {
        #expect(try DuplicateMatch.parse("executable").get() == .executable)
        #expect(try DuplicateMatch.parse("executable+arguments").get() == .executableAndArguments)
        #expect(try DuplicateMatch.parse("pidfile:/run/a.pid").get() == .pidFile("/run/a.pid"))
        guard case .pattern(let p) = try DuplicateMatch.parse("pattern:*x*").get() else {
            Issue.record("expected a pattern")
            return
        }
        #expect(p.glob == "*x*")
    }

    @Test(arguments: [("pattern:", "empty"), ("pidfile:run/app.pid", "absolute"), ("exe", "executable+arguments"),
                      ("pattern:abc\\", "backslash"), ("Executable", "pidfile:"), ("", "duplicate match")])
    func rejectsBadDuplicateMatch(text: String, reason: String) {
        expectValueError(DuplicateMatch.parse(text), mentions: ["'\(text)'", reason])
    }

    static let globs: [(String, String, Bool)] = [
        ("*nginx*", "/usr/sbin/nginx -g daemon off;", true), ("*nginx*", "/usr/bin/apache2", false),
        ("/usr/sbin/nginx *", "/usr/sbin/nginx -c x", true), ("/usr/sbin/nginx *", "/usr/sbin/nginx", false),
        ("/usr/sbin/nginx*", "/usr/sbin/nginx", true), ("?", "a", true), ("?", "", false), ("?", "ab", false),
        ("a?c", "abc", true), ("a?c", "ac", false), ("*", "", true), ("*", "anything at all", true),
        ("a*b*c", "aXXbYYc", true), ("a*b*c", "aXXbYY", false), ("a*b*c", "abcbc", true), ("\\*", "*", true),
        ("\\*", "x", false), ("a\\?", "a?", true), ("a\\?", "ab", false), ("abc", "abc", true), ("abc", "abcd", false),
        ("abc", "ABC", false), ("*.py --serve", "python3 /srv/app.py --serve", true), ("**x", "x", true),
        ("\u{00E9}?", "\u{00E9}a", true), ("*a", "bbbbbbbbbbbbbbbbbbbba", true),
        ("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaa", false), ("x*", "yx", false), ("*x", "xy", false),
        ("a\\\\b", "a\\b", true), ("*--port=80?0*", "srv --port=8080 -v", true),
    ]

    @Test(arguments: globs)
    func matchesCommandLines(glob: String, commandLine: String, expected: Bool) throws {
        #expect(try CommandLinePattern.parse(glob).get().matches(commandLine) == expected)
    }

    @Test func joinsArgumentsForMatching() {
        #expect(CommandLinePattern.commandLine(arguments: ["/usr/bin/app", "--serve", "x"]) == "/usr/bin/app --serve x")
    }

    @Test func emergencyQuotaUsesCPUQuotaSyntax() {
        #expect(CPUQuota.parse("25%") == .success(CPUQuota(perSecondUSec: 250_000)))
    }
}
