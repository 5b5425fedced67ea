import ArgumentParser
import Glibc
import WardenCore
import WardenLinux

/// `warden diagnose`: what an operator runs when the box feels slow. Needs no daemon.
struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diagnose",
        abstract: "Judge the host's load, memory, pressure and processes, and say what to do.",
        discussion: """
            Works without a running Warden and without a configuration. Load is judged per \
            CPU (optimal below 1.0, warning 1.0–2.0, critical above 2.0), memory used \
            (warning from 70 %, critical above 85 %), swap (warning above 500 MiB); \
            thresholds come from [Governor] of warden.conf when there is a configuration: \
            --config/--units, else the one of a daemon answering on the control socket \
            (--socket; one line on stderr names it), else /etc/warden/warden.conf. With one, \
            the copies of each component are checked; with none, the default thresholds \
            apply and the groups of processes running the same program with the same \
            arguments are listed instead (as warden duplicates finds them). The JSON fields \
            are documented in docs/diagnose.md. Exit status 0 when optimal, 1 on warnings, \
            2 on critical findings.
            """)

    @OptionGroup var location: ConfigLocation

    @OptionGroup var daemon: DaemonSocketOption

    @Flag(help: "Print the report as JSON (one object per line with --watch).")
    var json = false

    @Flag(help: "Repeat every SECONDS (default 2) until interrupted.")
    var watch = false

    @Argument(help: ArgumentHelp("Seconds between reports with --watch.", valueName: "SECONDS"))
    var watchSeconds: Double?

    @Option(help: .hidden)
    var procRoot = "/proc"

    func validate() throws {
        if let watchSeconds {
            guard watch else { throw ValidationError("SECONDS is only meaningful after --watch") }
            guard watchSeconds >= 0.5, watchSeconds.isFinite else { throw ValidationError("--watch SECONDS must be at least 0.5") }
        }
    }

    func run() throws {
        var configuration: Configuration?
        let choice = ConfigChoice.resolve(location, socket: daemon)
        if choice.isGiven {
            let result = choice.load(host: nil)
            configuration = result.configuration
            if configuration == nil {
                let errors = result.diagnostics.filter { $0.severity == .error }
                writeStandardError(
                    "warning: configuration invalid (\(errors.count) error(s), see warden check-config); components are not checked")
            }
        }
        let thresholds = DiagnoseThresholds(governor: configuration?.settings.governor ?? GovernorSettings())
        let targets = configuration.map { DuplicateTargets.resolve($0, searchPath: location.executableSearchPath) } ?? []
        let warden = choice.wardenProcesses(
            stateDirectory: configuration?.settings.effectiveStateDirectory ?? WardenSettings.defaultStateDirectory,
            procRoot: procRoot)
        let tradingSlices = configuration.map(ProcessPlacement.tradingSlices) ?? []
        let collector = DiagnoseCollector(procRoot: procRoot)
        let loginShells = choice.isGiven ? [] : DuplicateTargets.loginShells()
        let color = Terminal.colorsStandardOutput

        var worst = Verdict.optimal
        repeat {
            let snapshot = collector.collect(
                targets: targets, warden: warden, tradingSlices: tradingSlices, sameCommandGroups: !choice.isGiven,
                loginShells: loginShells)
            let report = Diagnosis.analyze(snapshot, thresholds: thresholds)
            worst = report.verdict
            if json {
                // One object per line with --watch, indented otherwise.
                let encoder = JSONWriter(prettyPrinted: !watch)
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                if watch && color { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                print(report.renderText(color: color), terminator: watch ? "\n" : "")
            }
            fflush(nil)
            if watch {
                let seconds = watchSeconds ?? 2
                // The collector already spent its sampling interval; sleep the rest.
                let rest = max(seconds - collector.sampleInterval.seconds, 0)
                SystemCall.sleep(nanoseconds: UInt64(rest * 1e9))
            }
        } while watch
        switch worst {
        case .optimal: break
        case .warning: throw ExitCode(1)
        case .critical: throw ExitCode(2)
        }
    }
}

extension TimeSpan {
    var seconds: Double { Double(usec) / 1_000_000 }
}
