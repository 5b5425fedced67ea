import ArgumentParser
import Glibc
import WardenLinux
import WardenRuntime

/// `warden run`: supervise the configured components in the foreground.
///
/// The daemon itself is `warden-daemon` (the same code without the command line's
/// parser and FoundationEssentials, a few MB less resident for as long as it runs):
/// `warden run` executes it in its own process, same PID, so systemd, `unshare` and
/// tests see no difference. Without that binary next to `warden`, it runs in-process.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the configured components, keep them running, stop them cleanly.",
        discussion: """
            Runs in the foreground and logs to stderr. SIGTERM or SIGINT stops every \
            component in reverse dependency order and exits; SIGHUP reloads the \
            configuration. As PID 1 (a container's init) Warden also reaps orphans. \
            Exit status: 0 when everything stopped cleanly, 1 when a Priority=critical \
            component failed for good or the shutdown was not clean, 73 when the control \
            socket cannot be opened, 78 when the configuration is invalid.

            With -- CMD [ARGS...], CMD is the main program: a component of its own (named \
            by --main-name), the configured stack started around it; when it ends, \
            everything stops and Warden exits with its status (128+N when signal N \
            killed it), as tini does. SIGUSR1, SIGUSR2 and SIGWINCH are then passed on \
            to it.
            """)

    @OptionGroup var location: ConfigLocation

    @Option(name: .long, help: "State directory for the notify socket (default: StateDirectory= or /run/warden).")
    var stateDir: String?

    /// Tests: the governor acts on this plain directory tree instead of Warden's subtree.
    @Option(name: .long, help: .hidden)
    var governorCgroupRoot: String?

    @Option(name: .long, help: "The main program's component name, without .service (default main).")
    var mainName: String = "main"

    @Argument(parsing: .postTerminator, help: "After --: the main program and its arguments.")
    var command: [String] = []

    func run() throws {
        let arguments = DaemonArguments(
            configPath: location.config, unitDirectories: location.units, stateDirectory: stateDir,
            governorCgroupRoot: governorCgroupRoot, mainProgram: command, mainName: mainName)
        Self.executeDaemon(arguments)
        let code = Daemon.run(arguments)
        if code != 0 { throw ExitCode(code) }
    }

    /// Replaces this process with `warden-daemon` from `warden`'s own directory; returns
    /// only when there is none (or it cannot be executed), to run the daemon in-process.
    static func executeDaemon(_ arguments: DaemonArguments) {
        guard let directory = HostProbe.executableDirectory() else { return }
        let path = directory + "/" + Daemon.binaryName
        guard access(path, X_OK) == 0 else { return }
        let argv = [path, "run"] + arguments.commandLine
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArguments.append(nil)
        execv(path, cArguments)
        // Still here: exec failed (say why once) and the daemon runs in this process.
        let reason = String(cString: strerror(errno))
        for pointer in cArguments { free(pointer) }
        writeStandardError("warden: cannot execute \(path) (\(reason)); running the daemon in this process")
    }
}
