import ArgumentParser
import Glibc
import WardenCore
import WardenLinux

/// Where the CLI finds the daemon: `--socket`, else `ControlSocket=`/`StateDirectory=` of
/// `--config` (or /etc/warden/warden.conf when it exists), else /run/warden/control.sock.
struct ControlSocketOptions: ParsableArguments {
    @Option(name: .long, help: "The daemon's control socket (default: from warden.conf, else /run/warden/control.sock).")
    var socket: String?

    @Option(name: .long, help: "warden.conf to take ControlSocket= from (default /etc/warden/warden.conf when it exists).")
    var config: String?

    var socketPath: String { Self.socketPath(socket: socket, config: config) }

    /// `socket`, else `ControlSocket=` of `config` (or /etc/warden/warden.conf when it
    /// exists), else /run/warden/control.sock.
    static func socketPath(socket: String?, config: String?) -> String {
        if let socket { return socket }
        let fs = LocalFileSystem(maximumBytes: LocalFileSystem.configurationMaximumBytes)
        var path = config
        if path == nil, (try? fs.readFile("/etc/warden/warden.conf")) != nil { path = "/etc/warden/warden.conf" }
        guard let path else { return WardenSettings.defaultStateDirectory + "/control.sock" }
        // No unit directories: only warden.conf is read.
        let loader = ConfigurationLoader(fileSystem: fs, specifiers: SpecifierContext.ofThisHost(), host: nil)
        return loader.load(configPath: path, unitDirectories: []).configuration?.settings.effectiveControlSocket
            ?? WardenSettings.defaultStateDirectory + "/control.sock"
    }

    /// Sends one request; prints the failure and exits non-zero when there is no answer
    /// or the answer is an error.
    func call(_ request: ControlRequest, unknownUnitExit: Int32 = ControlExit.unknownUnit) throws -> ControlResponse {
        let path = socketPath
        switch ControlClient(path: path).send(request) {
        case .failure(let error):
            if error.daemonNotRunning {
                printError("no Warden daemon at \(path): \(error) (is `warden run` running? --socket or --config name another)")
            } else if error.errno == EACCES {
                // The socket file's mode keeps this user out: as refused as the daemon's own check.
                printError("warden: \(error) (only root and the groups of ControlSocketGroup= and ReadOnlyGroup= may connect)")
                throw ExitCode(ControlExit.forbidden)
            } else {
                printError("warden: \(error)")
            }
            throw ExitCode(ControlExit.noDaemon)
        case .success(let response):
            return try ControlExit.succeeded(response, unknownUnitExit: unknownUnitExit)
        }
    }
}

/// Exit statuses of the control commands, after systemctl where it has one.
enum ControlExit {
    /// The daemon is not reachable (systemctl: 1, but `EX_UNAVAILABLE` says more).
    static let noDaemon: Int32 = 69
    /// systemctl's "no such unit" status.
    static let unknownUnit: Int32 = 5
    /// `EX_NOPERM`.
    static let forbidden: Int32 = 77
    static let failure: Int32 = 1

    /// What start, stop and restart wait for: systemctl's `--no-block`, always.
    static let noBlock = """
        Returns as soon as the daemon has taken the request for every name, printing each \
        component's state at that moment (systemctl --no-block): a start that has begun shows \
        'activating'. Wait with 'warden status NAME' (exit 0 once active, 3 while not).
        """

    /// The exit statuses of a control command, for its help.
    static let help = """
        Exit status: 0 when done; 1 when the daemon refused or the operation failed (also \
        'busy' when the daemon already serves its maximum of clients); 5 for an unknown \
        component; 69 when no daemon answers or the connection broke before the answer \
        (EX_UNAVAILABLE); 77 when the caller may not do this (EX_NOPERM).
        """

    /// The response when it carries no error; else the error is printed and the command
    /// exits with its status.
    static func succeeded(_ response: ControlResponse, unknownUnitExit: Int32 = unknownUnit) throws -> ControlResponse {
        guard let error = response.error else { return response }
        printError("warden: \(error.code): \(error.message)")
        throw ExitCode(error.code == .unknownUnit ? unknownUnitExit : code(for: error.code))
    }

    static func code(for error: ControlErrorCode) -> Int32 {
        switch error {
        case .unknownUnit: unknownUnit
        case .forbidden: forbidden
        default: failure
        }
    }
}

func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// `warden start|stop|restart|reset-failed|kill NAME…`: one verb on each named component,
/// in the order given. As with systemctl, every name is tried; the exit status is the
/// first failure's.
struct UnitVerb: ParsableArguments {
    @OptionGroup var socket: ControlSocketOptions

    @Argument(help: "The components (NAME or NAME.service).")
    var names: [String]

    func validate() throws {
        if names.isEmpty { throw ValidationError("name at least one component") }
    }

    func run(_ operation: ControlOperation, signal: String? = nil, whom: String? = nil) throws {
        var firstFailure: Error?
        for (index, name) in names.enumerated() {
            do {
                let response = try socket.call(
                    ControlRequest(id: index + 1, op: operation, unit: name, signal: signal, whom: whom))
                if let message = response.message { print(message) }
            } catch {
                if firstFailure == nil { firstFailure = error }
            }
        }
        if let firstFailure { throw firstFailure }
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start components through the running daemon.",
        discussion: ControlExit.noBlock + "\n\n" + ControlExit.help)
    @OptionGroup var verb: UnitVerb
    func run() throws { try verb.run(.start) }
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop components through the running daemon (each stays stopped until started, or until Warden starts again).",
        discussion: ControlExit.noBlock + "\n\n" + ControlExit.help)
    @OptionGroup var verb: UnitVerb
    func run() throws { try verb.run(.stop) }
}

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restart components through the running daemon.",
        discussion: ControlExit.noBlock + "\n\n" + ControlExit.help)
    @OptionGroup var verb: UnitVerb
    func run() throws { try verb.run(.restart) }
}

struct ResetFailed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-failed",
        abstract: "Forget a component's failure and start-limit count (systemctl reset-failed).",
        discussion: ControlExit.help)
    @OptionGroup var verb: UnitVerb
    func run() throws { try verb.run(.resetFailed) }
}

struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a signal to a component's processes through the running daemon (systemctl kill).",
        discussion: "Nothing else changes: what the signal does is the component's business, and an exit it causes is judged as any other (Restart= applies).\n\n" + ControlExit.help)
    @OptionGroup var verb: UnitVerb

    @Option(name: [.short, .long], help: "The signal: a name (TERM, SIGHUP, RTMIN+3) or a number (default TERM).")
    var signal: String = "TERM"

    @Option(name: .long, help: "Whom to signal: main (the main process), control (the command running now) or all (default).")
    var killWhom: String = "all"

    func run() throws { try verb.run(.kill, signal: signal, whom: killWhom) }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reload components (ExecReload=, systemctl reload), or with no name Warden's configuration (as SIGHUP does).",
        discussion: """
            With names: each component runs its ExecReload= commands (Type=notify-reload: gets ReloadSignal=) \
            and keeps running whether or not the reload succeeds; the command waits for each reload to end \
            (--no-block: does not) and fails when one failed. A component without ExecReload= or not \
            active is refused. Every name is tried; the exit status is the first failure's.

            Without a name: warden.conf and the units are read again; unlike SIGHUP, errors in the \
            configuration are printed here, and nothing changes then.

            """ + ControlExit.help)
    @OptionGroup var socket: ControlSocketOptions

    @Argument(help: "The components (NAME or NAME.service); none: Warden's configuration.")
    var names: [String] = []

    @Flag(name: .long, help: "Do not wait for each component's reload to finish (systemctl --no-block).")
    var noBlock = false

    /// How often the end of a component's reload is asked for.
    static let pollInterval = TimeSpan.milliseconds(100)

    func run() throws {
        if names.isEmpty {
            let response = try socket.call(ControlRequest(id: 1, op: .reload))
            if let message = response.message { print(message) }
            return
        }
        var firstFailure: Error?
        for (index, name) in names.enumerated() {
            do {
                let response = try socket.call(ControlRequest(id: index + 1, op: .reloadUnit, unit: name))
                if let message = response.message { print(message) }
                if !noBlock { try waitForReload(name) }
            } catch {
                if firstFailure == nil { firstFailure = error }
            }
        }
        if let firstFailure { throw firstFailure }
    }

    /// As systemctl, waits for the reload to end (the daemon bounds it by the component's
    /// TimeoutStartSec=) and fails when it did.
    func waitForReload(_ name: String) throws {
        while true {
            let response = try socket.call(ControlRequest(id: 1, op: .status, unit: name))
            guard let snapshot = response.components?.first else { return }
            if snapshot.activeState != "reloading" {
                let result = snapshot.reloadResult ?? "success"
                guard result == "success" else {
                    printError(
                        "warden: reload of \(snapshot.name) failed (\(result)); it keeps running as it was (see `warden logs \(name)`)")
                    throw ExitCode(ControlExit.failure)
                }
                print("\(snapshot.name) reloaded")
                return
            }
            var pause = timespec(tv_sec: 0, tv_nsec: Int(Self.pollInterval.usec * 1_000))
            nanosleep(&pause, nil)
        }
    }
}

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a component's recent output, kept by the daemon in a bounded buffer.",
        discussion: ControlExit.help)
    @OptionGroup var socket: ControlSocketOptions

    @Argument(help: "The component (NAME or NAME.service).")
    var name: String

    @Option(name: .short, help: "How many lines (1…\(ControlProtocol.maximumLogLines)).")
    var n: Int = ControlProtocol.defaultLogLines

    @Flag(name: [.short, .long], help: "Keep printing new lines as they arrive, until interrupted or the daemon stops.")
    var follow = false

    /// How often `-f` asks for new lines. The client polls, not the daemon: an idle
    /// daemon keeps making no wakeups of its own, and 4 small requests a second cost
    /// it nothing measurable.
    static let followInterval = TimeSpan.milliseconds(250)

    func run() throws {
        let response = try socket.call(ControlRequest(id: 1, op: .logs, unit: name, lines: n))
        let lines = response.lines ?? []
        for line in lines { print(line.text) }
        guard follow else { return }
        if lines.contains(where: { $0.seq == nil }) {
            printError("warden: this daemon does not number its output lines; -f needs a newer daemon")
            throw ExitCode(ControlExit.code(for: .unsupportedOperation))
        }
        var last = lines.last?.seq ?? 0
        var id = 2
        while true {
            fflush(nil)
            var pause = timespec(tv_sec: 0, tv_nsec: Int(Self.followInterval.usec * 1_000))
            nanosleep(&pause, nil)
            let request = ControlRequest(id: id, op: .logs, unit: name, lines: ControlProtocol.maximumLogLines, after: last)
            id += 1
            // The daemon going away ends a follow normally, as `journalctl -f` ends
            // quietly on a rotated journal; any other failure is an error.
            let next: ControlResponse
            switch ControlClient(path: socket.socketPath).send(request) {
            case .failure(let error) where error.daemonNotRunning:
                print("-- the Warden daemon stopped --")
                return
            case .failure(let error):
                printError("warden: \(error)")
                throw ExitCode(ControlExit.noDaemon)
            case .success(let response):
                if let error = response.error {
                    printError("warden: \(error.code): \(error.message)")
                    throw ExitCode(ControlExit.code(for: error.code))
                }
                next = response
            }
            for line in next.lines ?? [] {
                let seq = line.seq ?? last + 1
                // The daemon's buffer is bounded: say so when lines fell out unseen.
                if seq > last + 1 { print("-- \(seq - last - 1) line(s) dropped from the daemon's buffer before they were read --") }
                print(line.text)
                last = seq
            }
        }
    }
}
