import Testing
@testable import WardenCore

/// `warden run -- CMD`: the main program's unit carries its arguments exactly, and its
/// end becomes Warden's exit status.
@Suite struct MainProgramTests {
    @Test(arguments: [
        ["/bin/sh", "-c", "exit 7"],
        ["/usr/bin/env", "A=\"quoted\" and \\backslash\\", "100%", "$HOME ${PATH}", "tab\there", "two\nlines", "-flag", ""],
        ["/opt/bot", "--symbol=BTC/USDT", "--spread=0.1%", "'single'"],
    ])
    func theUnitCarriesEveryArgumentExactly(_ arguments: [String]) throws {
        let files = ["/etc/warden/warden.conf": "[Warden]\nUnitDirectories=/u\n", "/u/x.service": "[Service]\nExecStart=/bin/true\n"]
        let loader = ConfigurationLoader(
            fileSystem: InMemoryFileSystem(files: files, executables: ["/bin/true", "/bin/sh", "/usr/bin/env", "/opt/bot"]),
            specifiers: SpecifierContext(hostname: "test"))
        let result = loader.load(configPath: "/etc/warden/warden.conf", extraUnits: ["main.service": MainProgram.unitText(arguments)])
        let configuration = try #require(result.configuration, "\(result.diagnostics)")
        let main = try #require(configuration.services.first { $0.name.description == "main.service" })
        // As they reach the program: `$$` in the unit is a `$` once variables are expanded
        // at the start (the main program's own `$HOME` is not expanded).
        #expect(main.execStart.map { $0.command.expandingEnvironment(["HOME": "/root", "PATH": "/bin"]) } == [arguments])
        #expect(main.type == .exec)
        #expect(configuration.services.map(\.name.description) == ["main.service", "x.service"])
    }

    @Test func aMainProgramNamedAsAUnitFileIsRefused() {
        let files = ["/u/main.service": "[Service]\nExecStart=/bin/true\n"]
        let loader = ConfigurationLoader(
            fileSystem: InMemoryFileSystem(files: files, executables: ["/bin/true"]), specifiers: SpecifierContext(hostname: "test"))
        let result = loader.load(configPath: nil, unitDirectories: ["/u"], extraUnits: ["main.service": MainProgram.unitText(["/bin/true"])])
        #expect(result.configuration == nil)
        #expect(result.diagnostics.contains { $0.message.contains("--main-name") && $0.location.file == "(command line)/main.service" })
    }

    @Test(arguments: [
        (ExitStatus.exited(code: 0), 0), (.exited(code: 7), 7), (.killed(signal: 15, coreDumped: false), 143),
        (.killed(signal: 9, coreDumped: true), 137), (.unknown, 1),
    ] as [(ExitStatus, Int32)])
    func exitStatus(_ status: ExitStatus, _ code: Int32) {
        #expect(MainProgram.exitCode(lastExit: status) == code)
    }

    @Test func aProgramThatNeverRanIs127() {
        #expect(MainProgram.exitCode(lastExit: nil) == 127)
    }
}
