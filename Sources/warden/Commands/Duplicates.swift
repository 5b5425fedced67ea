import ArgumentParser
import Glibc
import WardenCore
import WardenLinux

/// `warden duplicates`: copies of configured components that Warden did not start.
struct Duplicates: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "duplicates",
        abstract: "List (and with --kill stop) copies of components that Warden did not start.",
        discussion: """
            Scans /proc for processes matching each component's DuplicateMatch= (default: the \
            same executable and arguments as ExecStart=). Processes of a running Warden (the \
            holder of STATE/warden.lock and its descendants) are the supervised copies and \
            never listed. --kill sends SIGTERM, then SIGKILL after --timeout, through pidfds \
            opened and verified against each process's start time, so a recycled PID is never \
            hit; PID 1 and Warden's processes are never signalled. Exit status 0 when no \
            duplicate runs (none found, or all stopped), 1 when some still run, 78 when the \
            configuration is invalid.
            """)

    @OptionGroup var location: ConfigLocation

    @Flag(help: "Print the result as JSON (fields in docs/diagnose.md).")
    var json = false

    @Flag(help: "Stop the duplicates found: SIGTERM, then SIGKILL after --timeout.")
    var kill = false

    @Option(help: "Seconds a duplicate gets to exit after SIGTERM before SIGKILL.")
    var timeout: Double = 10

    @Option(help: .hidden)
    var procRoot = "/proc"

    func validate() throws {
        guard timeout >= 0, timeout.isFinite else { throw ValidationError("--timeout must be a number of seconds ≥ 0") }
    }

    func run() throws {
        let result = location.load(host: nil)
        guard let configuration = result.configuration else {
            for diagnostic in result.diagnostics {
                writeStandardError(diagnostic.description)
            }
            throw ExitCode(78)
        }
        let targets = DuplicateTargets.resolve(configuration, searchPath: location.executableSearchPath)
        let warden = DuplicateTargets.wardenProcesses(
            stateDirectory: configuration.settings.effectiveStateDirectory, procRoot: procRoot)
        let detection = DuplicateDetector(procRoot: procRoot).detect(targets, warden: warden)
        let processes = detection.processes
        let copies = detection.copies

        var outcomes: [ProcessIdentity: DuplicateKillOutcome]?
        if kill {
            let killer = DuplicateKiller(
                procRoot: procRoot,
                sequence: DuplicateKillSequence(
                    termTimeout: TimeSpan(usec: UInt64(timeout * 1_000_000)),
                    killTimeout: DuplicateKillSequence.default.killTimeout),
                protectedPIDs: warden.members(of: processes))
            outcomes = killer.kill(copies.flatMap { $0.duplicates.map(\.identity) })
        }
        let uptime = ProcScanner(procRoot: procRoot).uptimeSeconds() ?? 0
        let ticks = ProcScanner.ticksPerSecond
        var users = UserNames()
        let report = DuplicatesReport(
            copies: copies, lifetimeCPU: { CPUUsage.lifetimePercent($0, uptimeSeconds: uptime, ticksPerSecond: ticks) },
            userName: { users.name($0) }, killOutcomes: outcomes)
        if json {
            let encoder = JSONWriter(prettyPrinted: true)
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.renderText(color: Terminal.colorsStandardOutput), terminator: "")
        }
        if report.duplicatesRemain { throw ExitCode(1) }
    }
}

extension ConfigLocation {
    /// systemd's search path plus the directory of the warden binary, as `load` uses it.
    var executableSearchPath: [String] {
        var searchPath = ConfigurationLoader.systemdExecutableSearchPath
        if let own = HostProbe.executableDirectory() { searchPath.append(own) }
        return searchPath
    }

    /// True when there is a configuration to read: `--config`, `--units`, or the default file.
    var isGiven: Bool {
        config != nil || !units.isEmpty || access("/etc/warden/warden.conf", F_OK) == 0
    }
}

enum Terminal {
    /// Colour only on a terminal, and never when `NO_COLOR` is set (no-color.org).
    static var colorsStandardOutput: Bool {
        isatty(STDOUT_FILENO) == 1 && getenv("NO_COLOR") == nil
    }
}
