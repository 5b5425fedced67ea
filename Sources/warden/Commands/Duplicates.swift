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
            hit; PID 1 and Warden's processes are never signalled.

            The configuration: --config/--units; else the one of a daemon answering on the \
            control socket (--socket; one line on stderr names it); else /etc/warden/warden.conf \
            and /etc/warden/units.

            With no configuration at all, the copies looked for are groups of processes running \
            the same program (the same file behind /proc/PID/exe, by device and inode) with the \
            same arguments (argv[1...]; argv[0] is the starter's choice): "two copies of the \
            bot". A process whose parent is in the same group is a worker forked by it (a \
            prefork pool) and part of its instance, so a pool counts once. Kernel threads, \
            zombies, PID 1, Warden, this command's own ancestors and login shells without \
            arguments (/etc/shells) are never members. The oldest of each group (by start \
            time) is kept; the newer ones are listed. There --kill stops only the groups \
            --command names (a glob over the command line, as DuplicateMatch=pattern: takes \
            it), so that nothing the operator did not pick is signalled, and asks for a \
            confirmation: --yes, or an answer on the terminal (without one, and without --yes, \
            it refuses).

            Exit status 0 when no duplicate runs (none found, or all stopped), 1 when some \
            still run, 64 for a refused --kill, 78 when the configuration is invalid.
            """)

    @OptionGroup var location: ConfigLocation

    @OptionGroup var daemon: DaemonSocketOption

    @Flag(help: "Print the result as JSON (fields in docs/diagnose.md).")
    var json = false

    @Flag(help: "Stop the duplicates found: SIGTERM, then SIGKILL after --timeout.")
    var kill = false

    @Option(help: "Without a configuration: only the groups whose command line matches this glob (* and ?); --kill needs it there.")
    var command: String?

    @Flag(help: "Without a configuration: confirm --kill without asking (needed when stdin is not a terminal).")
    var yes = false

    @Option(help: "Seconds a duplicate gets to exit after SIGTERM before SIGKILL.")
    var timeout: Double = 10

    @Option(help: .hidden)
    var procRoot = "/proc"

    func validate() throws {
        guard timeout >= 0, timeout.isFinite else { throw ValidationError("--timeout must be a number of seconds ≥ 0") }
    }

    func run() throws {
        let choice = ConfigChoice.resolve(location, socket: daemon)
        if choice.isUnconfigured { return try runWithoutConfiguration() }
        let result = choice.load(host: nil)
        guard let configuration = result.configuration else {
            for diagnostic in result.diagnostics {
                writeStandardError(diagnostic.description)
            }
            throw ExitCode(78)
        }
        let targets = DuplicateTargets.resolve(configuration, searchPath: location.executableSearchPath)
        let warden = choice.wardenProcesses(stateDirectory: configuration.settings.effectiveStateDirectory, procRoot: procRoot)
        let detection = DuplicateDetector(procRoot: procRoot).detect(targets, warden: warden)
        let processes = detection.processes
        let copies = detection.copies

        let outcomes = kill ? stop(copies, protecting: warden.members(of: processes)) : nil
        try report(copies, killOutcomes: outcomes)
    }

    /// No configuration: groups of processes with the same program and arguments.
    func runWithoutConfiguration() throws {
        let warden = DuplicateTargets.wardenProcesses(
            stateDirectory: WardenSettings.defaultStateDirectory, procRoot: procRoot)
        let processes = ProcScanner(procRoot: procRoot).scan([.executable, .executableFile, .commandLine, .user])
        let protected = warden.members(of: processes).union(ancestors(of: getpid(), in: processes))
        var copies = DuplicateScan.sameCommandGroups(
            in: processes, excluding: protected, loginShells: DuplicateTargets.loginShells())
        if let command {
            guard case .success(let pattern) = CommandLinePattern.parse(command) else {
                printError("warden: --command '\(command)' is not a glob (* and ? wildcards)")
                throw ExitCode(64)
            }
            copies = copies.filter { copies in copies.duplicates.first.map { pattern.matches($0.commandLine) } ?? false }
        } else if kill {
            printError(
                "warden: without a Warden configuration, --kill needs --command GLOB naming the copies to stop (the listing shows each group's command); nothing was signalled")
            throw ExitCode(64)
        }
        let stopCommand = "warden duplicates --kill --command 'GLOB'"
        if copies.isEmpty && !json {
            print("no two processes run the same program with the same arguments (no Warden configuration here)")
            return
        }
        if kill && !copies.isEmpty && !yes {
            try confirmKill(copies, stopCommand: stopCommand)
        }
        let outcomes = kill ? stop(copies, protecting: protected) : nil
        try report(copies, killOutcomes: outcomes, stopCommand: stopCommand)
    }

    /// The operator's yes to ending `copies`: asked on the terminal; refused (exit 64)
    /// without one, and left (exit 1, the duplicates still run) on any answer but yes.
    func confirmKill(_ copies: [ComponentCopies], stopCommand: String) throws {
        let pids = copies.flatMap { $0.duplicates.map { String($0.pid) } }
        guard isatty(STDIN_FILENO) == 1 else {
            printError(
                "warden: --kill would end PID(s) \(pids.joined(separator: ", ")); without a terminal to confirm on, add --yes; nothing was signalled")
            throw ExitCode(64)
        }
        var listing = self
        listing.kill = false
        listing.json = false
        _ = try? listing.report(copies, killOutcomes: nil, stopCommand: stopCommand)
        let kept = copies.map { "\($0.supervised[0].pid)" }.joined(separator: ", ")
        print(
            "End PID(s) \(pids.joined(separator: ", ")) (SIGTERM, SIGKILL after \(OperatorText.fixed(timeout, decimals: 0)) s), keeping the oldest, PID(s) \(kept)? [y/N] ",
            terminator: "")
        fflush(nil)
        let answer = (readLine() ?? "").filter { !$0.isWhitespace }.lowercased()
        guard answer == "y" || answer == "yes" else {
            print("nothing was signalled")
            throw ExitCode(1)
        }
    }

    /// SIGTERM, then SIGKILL after `--timeout`, to every duplicate, through verified pidfds;
    /// never to `protected`.
    func stop(_ copies: [ComponentCopies], protecting protected: Set<Int32>) -> [ProcessIdentity: DuplicateKillOutcome] {
        let killer = DuplicateKiller(
            procRoot: procRoot,
            sequence: DuplicateKillSequence(
                termTimeout: TimeSpan(usec: UInt64(timeout * 1_000_000)),
                killTimeout: DuplicateKillSequence.default.killTimeout),
            protectedPIDs: protected)
        return killer.kill(copies.flatMap { $0.duplicates.map(\.identity) })
    }

    /// This command's own ancestors (the shell, sudo, a terminal): never a duplicate.
    func ancestors(of pid: Int32, in processes: [ScannedProcess]) -> Set<Int32> {
        let parents = Dictionary(processes.map { ($0.pid, $0.parentPID) }, uniquingKeysWith: { first, _ in first })
        var result: Set<Int32> = []
        var current = pid
        while current > 1, result.insert(current).inserted, let parent = parents[current] { current = parent }
        return result
    }

    func report(
        _ copies: [ComponentCopies], killOutcomes outcomes: [ProcessIdentity: DuplicateKillOutcome]?,
        stopCommand: String = "warden duplicates --kill"
    ) throws {
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
            print(report.renderText(color: Terminal.colorsStandardOutput, stopCommand: stopCommand), terminator: "")
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

    /// True when there is a configuration to read: `--config`, `--units`, or the default
    /// file or unit directory.
    var isGiven: Bool { !isUnconfigured }
}

enum Terminal {
    /// Colour only on a terminal, and never when `NO_COLOR` is set (no-color.org).
    static var colorsStandardOutput: Bool {
        isatty(STDOUT_FILENO) == 1 && getenv("NO_COLOR") == nil
    }
}
