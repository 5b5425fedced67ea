import ArgumentParser
import Glibc
import WardenCore
import WardenLinux

/// `warden status [NAME] [--json] [--watch [SECONDS]]`: the components as the running
/// daemon sees them.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every component (or one): state, PID, uptime, restarts, CPU, memory, slice, readiness, last exit.",
        discussion: """
            CPU is the share of one CPU since the previous refresh with --watch, else the \
            average since the main process started; with CPUQuota= the quota follows. \
            Without a cgroup the figures are those of the main process. --json prints the \
            daemon's answer in the stable shape of docs/control-protocol.md.
            With a NAME the exit status is systemctl status's: 0 when the component is \
            active (or reloading), 3 when it is not running (inactive, activating, \
            deactivating, failed), 4 when there is no such component; 69 and 77 as below.
            """ + "\n\n" + ControlExit.help)

    @OptionGroup var socket: ControlSocketOptions

    @Argument(help: "Only this component.")
    var name: String?

    @Flag(help: "Print JSON (one object per refresh).")
    var json = false

    @Flag(help: "Refresh until interrupted.")
    var watch = false

    @Flag(help: "Print only whether the stack is ready (every Priority=critical component active and ready; without one, every component) and exit 0 when it is, 1 when not: for exec probes and deploy scripts.")
    var check = false

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Seconds between refreshes with --watch.", valueName: "SECONDS"))
    var interval: Double = 2

    func validate() throws {
        guard interval >= 0.1 else { throw ValidationError("--interval must be at least 0.1 seconds") }
        if check && (watch || json) { throw ValidationError("--check prints one line and exits; it takes neither --watch nor --json") }
    }

    /// `Governor: tier critical (manual, expires in 9min), 2 change(s)`; nil when the daemon
    /// runs no governor or predates it.
    func governorLine() -> String? {
        guard case .success(let response) = ControlClient(path: socket.socketPath).send(ControlRequest(id: 2, op: .emergencyStatus)),
            let status = response.emergency
        else { return nil }
        var mode = status.mode
        if let expires = status.manual?.expiresInSeconds {
            mode += ", expires in " + TimeSpan(usec: UInt64(max(0, expires) * 1_000_000)).systemdString(accuracy: .seconds(1))
        }
        var line = "Governor: tier \(status.tier) (\(mode))"
        if !status.changes.isEmpty { line += ", \(status.changes.count) change(s)" }
        if !status.conflicts.isEmpty { line += ", \(status.conflicts.count) conflict(s): warden emergency status" }
        return line
    }

    func run() throws {
        if check {
            let response = try socket.call(ControlRequest(id: 1, op: .status, unit: name))
            let readiness = StackReadiness(response.components ?? [])
            print(readiness.text)
            if !readiness.ready { throw ExitCode(1) }
            return
        }
        let interval: Double? = watch ? self.interval : nil
        var previous: [String: ComponentSnapshot] = [:]
        let tty = isatty(STDOUT_FILENO) == 1
        while true {
            let response = try socket.call(
                ControlRequest(id: 1, op: .status, unit: name), unknownUnitExit: name == nil ? ControlExit.unknownUnit : 4)
            let components = response.components ?? []
            if json {
                var line = ControlCodec.encodeLine(response)
                _ = line.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            } else {
                var text = StatusTable.render(components, previous: previous, color: tty)
                if name == nil, let line = governorLine() { text += line + "\n" }
                if interval != nil && tty { text = "\u{1B}[H\u{1B}[2J" + text }
                print(text, terminator: "")
            }
            guard let interval else {
                // systemctl status NAME: 3, "program is not running" (LSB).
                if name != nil, let state = components.first?.activeState, state != "active" && state != "reloading" {
                    throw ExitCode(3)
                }
                return
            }
            previous = Dictionary(components.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
            SystemCall.sleep(nanoseconds: UInt64(max(interval, 0) * 1e9))
        }
    }
}
