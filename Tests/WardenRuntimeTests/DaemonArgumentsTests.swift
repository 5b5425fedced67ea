import Testing
@testable import WardenRuntime

/// `warden-daemon`'s own reading of `warden run`'s options, and the command line
/// `warden run` hands it.
@Suite struct DaemonArgumentsTests {
    @Test(arguments: [
        ([], DaemonArguments()),
        (["run"], DaemonArguments()),
        (["run", "--config", "/etc/w.conf"], DaemonArguments(configPath: "/etc/w.conf")),
        (["--config=/etc/w.conf", "--units", "a", "--units=b"], DaemonArguments(configPath: "/etc/w.conf", unitDirectories: ["a", "b"])),
        (["run", "--state-dir", "/run/x", "--governor-cgroup-root", "/tmp/cg"], DaemonArguments(stateDirectory: "/run/x", governorCgroupRoot: "/tmp/cg")),
        (["--config", "a=b"], DaemonArguments(configPath: "a=b")),
    ])
    func parses(arguments: [String], expected: DaemonArguments) throws {
        #expect(try DaemonArguments.parse(arguments).get() == expected)
    }

    @Test(arguments: [
        (["--config"], "missing value for '--config'"),
        (["--bogus"], "unknown option '--bogus'"),
        (["run", "run"], "unknown option 'run'"),
        (["--units", "a", "-c", "x"], "unknown option '-c'"),
    ])
    func refuses(arguments: [String], message: String) {
        guard case .failure(let error) = DaemonArguments.parse(arguments) else {
            Issue.record("\(arguments) parsed")
            return
        }
        #expect(error.message == message)
    }

    @Test func commandLineReadsBackTheSame() throws {
        let arguments = DaemonArguments(
            configPath: "/c f.conf", unitDirectories: ["u1", "--units"], stateDirectory: "/s", governorCgroupRoot: "/g")
        #expect(try DaemonArguments.parse(["run"] + arguments.commandLine).get() == arguments)
        #expect(DaemonArguments().commandLine.isEmpty)
        // The main program: everything after `--` is its, options included.
        let main = DaemonArguments(configPath: "/c", mainProgram: ["/bin/sh", "-c", "exit 7", "--config", "x"], mainName: "bot")
        #expect(main.commandLine == ["--config", "/c", "--main-name", "bot", "--", "/bin/sh", "-c", "exit 7", "--config", "x"])
        #expect(try DaemonArguments.parse(["run"] + main.commandLine).get() == main)
        #expect(main.mainUnit == "bot.service")
        #expect(DaemonArguments.parse(["run", "--"]).map { _ in true } == .failure(DaemonUsageError(message: "'--' without a program after it")))
    }
}

/// The control socket file lets every configured group connect; the daemon's check
/// decides what each may do.
@Suite struct ControlSocketAccessTests {
    @Test(arguments: [
        (nil, nil, nil, 0o660),
        (50, nil, 50, 0o660),
        (nil, 60, 60, 0o660),
        (50, 50, 50, 0o660),
        (50, 60, nil, 0o666),
    ] as [(UInt32?, UInt32?, UInt32?, UInt32)])
    func groupAndMode(control: UInt32?, readOnly: UInt32?, group: UInt32?, mode: UInt32) {
        let access = ControlEndpoint.socketAccess(controlGroupID: control, readOnlyGroupID: readOnly)
        #expect(access.group == group)
        #expect(UInt32(access.mode) == mode)
    }
}
