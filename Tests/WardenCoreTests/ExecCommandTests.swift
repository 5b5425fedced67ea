import Testing
@testable import WardenCore

@Suite struct ExecCommandTests {
    @Test(arguments: [
        ("/bin/true", "/bin/true", ["/bin/true"]),
        ("/usr/bin/python3 -u /opt/app/main.py --port 8080", "/usr/bin/python3",
         ["/usr/bin/python3", "-u", "/opt/app/main.py", "--port", "8080"]),
        ("sleep 10", "sleep", ["sleep", "10"]),
        ("/bin/echo \"a b\" 'c d' e\\sf", "/bin/echo", ["/bin/echo", "a b", "c d", "e f"]),
        ("\"/opt/my app/run\" x", "/opt/my app/run", ["/opt/my app/run", "x"]),
        ("/bin/echo \"\"", "/bin/echo", ["/bin/echo", ""]),
        ("/bin/printf 'a\\tb\\n' \\x41", "/bin/printf", ["/bin/printf", "a\tb\n", "A"]),
        ("/usr/bin/find /tmp -name x -exec rm {} \\;", "/usr/bin/find",
         ["/usr/bin/find", "/tmp", "-name", "x", "-exec", "rm", "{}", ";"]),
        ("/bin/echo a;", "/bin/echo", ["/bin/echo", "a;"]),
        ("/bin/echo ';'", "/bin/echo", ["/bin/echo", ";"]),
        ("//usr//bin/./env A=1", "/usr/bin/env", ["//usr//bin/./env", "A=1"]),
        ("/bin/echo ${HOME} $X", "/bin/echo", ["/bin/echo", "${HOME}", "$X"]),
        ("  /bin/true   ", "/bin/true", ["/bin/true"]),
        ("/bin/echo ;", "/bin/echo", ["/bin/echo"]),
    ] as [(String, String, [String])])
    func parsesCommandLines(value: String, path: String, arguments: [String]) throws {
        let command = try ExecCommand.parse(value).get()
        #expect(command.path == path)
        #expect(command.arguments == arguments)
        #expect(!command.ignoreFailure && !command.argv0Override && !command.fullPrivileges)
        #expect(command.ambientUnprivileged == nil && !command.noEnvironmentExpansion)
        #expect(command.needsPathSearch == !path.hasPrefix("/"))
    }

    struct PrefixCase: CustomStringConvertible, Sendable {
        var value: String
        var ignoreFailure = false
        var argv0Override = false
        var fullPrivileges = false
        var ambient: ExecCommand.UnprivilegedMode? = nil
        var noExpansion = false
        var arguments: [String]
        var description: String { value }
    }

    static let prefixCases: [PrefixCase] = [
        PrefixCase(value: "-/bin/false", ignoreFailure: true, arguments: ["/bin/false"]),
        PrefixCase(value: "@/bin/sleep sleepy 10", argv0Override: true, arguments: ["sleepy", "10"]),
        PrefixCase(value: "+/bin/id", fullPrivileges: true, arguments: ["/bin/id"]),
        PrefixCase(value: "!/bin/id", ambient: .skipCredentials, arguments: ["/bin/id"]),
        PrefixCase(value: "!!/bin/id", ambient: .skipCredentialsWithoutAmbientCapabilities, arguments: ["/bin/id"]),
        PrefixCase(value: ":/bin/echo $X", noExpansion: true, arguments: ["/bin/echo", "$X"]),
        PrefixCase(value: "-@:+/bin/x y", ignoreFailure: true, argv0Override: true, fullPrivileges: true,
                   noExpansion: true, arguments: ["y"]),
        PrefixCase(value: "@-/bin/x y z", ignoreFailure: true, argv0Override: true, arguments: ["y", "z"]),
        PrefixCase(value: "-\"/opt/my app\"", ignoreFailure: true, arguments: ["/opt/my app"]),
        PrefixCase(value: "!-!/bin/id", ignoreFailure: true, ambient: .skipCredentialsWithoutAmbientCapabilities,
                   arguments: ["/bin/id"]),
    ]

    @Test(arguments: prefixCases)
    func parsesPrefixes(_ c: PrefixCase) throws {
        let command = try ExecCommand.parse(c.value).get()
        #expect(command.ignoreFailure == c.ignoreFailure)
        #expect(command.argv0Override == c.argv0Override)
        #expect(command.fullPrivileges == c.fullPrivileges)
        #expect(command.ambientUnprivileged == c.ambient)
        #expect(command.noEnvironmentExpansion == c.noExpansion)
        #expect(command.arguments == c.arguments)
        #expect(command.path.hasPrefix("/"))
    }

    @Test(arguments: [
        ("", "expected a command line"),
        ("   ", "expected a command line"),
        ("-", "expected an executable path"),
        ("-@", "expected an executable path"),
        ("\"\"", "expected an executable path"),
        ("bin/foo", "relative path"),
        ("./foo", "relative path"),
        ("/usr/bin/", "names a directory"),
        ("/usr/../bin/x", "contains '..'"),
        ("..", "not a valid executable name"),
        ("--/bin/x", "given twice"),
        ("@@/bin/x a", "given twice"),
        ("::/bin/x", "given twice"),
        ("+!/bin/x", "only one of"),
        ("!+/bin/x", "only one of"),
        ("!!!/bin/x", "only one of"),
        ("|/bin/x", "not supported"),
        ("@/bin/x", "needs a second word"),
        ("/bin/echo \"open", "unbalanced quoting"),
        ("/bin/a ; /bin/b", "expected one command, found 2"),
        ("; /bin/b", "empty command before ';'"),
    ])
    func rejectsWithExplanation(value: String, message: String) {
        guard case .failure(let error) = ExecCommand.parse(value) else {
            Issue.record("accepted \(value)")
            return
        }
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.value == value)
    }

    @Test func parsesSequences() throws {
        var warnings: [String] = []
        let commands = try ExecCommand.parseSequence("-/bin/a 1 ; /bin/b \\; 2 ; @/bin/c c", warnings: &warnings).get()
        #expect(commands.map(\.path) == ["/bin/a", "/bin/b", "/bin/c"])
        #expect(commands.map(\.arguments) == [["/bin/a", "1"], ["/bin/b", ";", "2"], ["c"]])
        #expect(commands.map(\.ignoreFailure) == [true, false, false])
        #expect(warnings.isEmpty)
        #expect(try ExecCommand.parseSequence("", warnings: &warnings).get().isEmpty)
    }

    @Test func unknownEscapeWarns() throws {
        var warnings: [String] = []
        let command = try ExecCommand.parse("/bin/echo a\\;b \\d", warnings: &warnings).get()
        #expect(command.arguments == ["/bin/echo", "a\\;b", "\\d"])
        #expect(warnings.count == 2)
    }

    // MARK: Environment expansion

    static let environment = ["A": "one", "B": "two  words", "Q": "x \"y z\" w", "E": "", "HOME": "/root"]

    @Test(arguments: [
        ("/bin/e $A", ["/bin/e", "one"]),
        ("/bin/e $B", ["/bin/e", "two", "words"]),
        ("/bin/e ${B}", ["/bin/e", "two  words"]),
        ("/bin/e $Q", ["/bin/e", "x", "y z", "w"]),
        ("/bin/e $UNSET z", ["/bin/e", "z"]),
        ("/bin/e $E z", ["/bin/e", "z"]),
        ("/bin/e ${E} z", ["/bin/e", "", "z"]),
        ("/bin/e ${UNSET}", ["/bin/e", ""]),
        ("/bin/e pre${A}post", ["/bin/e", "preonepost"]),
        ("/bin/e ${HOME}/x", ["/bin/e", "/root/x"]),
        ("/bin/e $HOME/x", ["/bin/e"]),
        ("/bin/e $$A", ["/bin/e", "$A"]),
        ("/bin/e a$Ab", ["/bin/e", "a$Ab"]),
        ("/bin/e ${A", ["/bin/e", "${A"]),
        ("/bin/e cost$", ["/bin/e", "cost$"]),
        ("/bin/e ${A}${B}", ["/bin/e", "onetwo  words"]),
        ("@/bin/e $A x", ["one", "x"]),
        (":/bin/e $A ${A}", ["/bin/e", "$A", "${A}"]),
    ] as [(String, [String])])
    func expandsEnvironment(value: String, argv: [String]) throws {
        let command = try ExecCommand.parse(value).get()
        #expect(command.expandingEnvironment(Self.environment) == argv)
    }
}
