import ArgumentParser
import Glibc
import WardenCore
import WardenRuntime

struct Warden: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "Process supervisor and resource governor for latency-critical stacks.",
        version: wardenVersion,
        subcommands: [
            Run.self, Status.self, Start.self, Stop.self, Restart.self, Kill.self, Reload.self, ResetFailed.self, Logs.self,
            CheckConfig.self, Keys.self, Duplicates.self, Diagnose.self, Services.self, Emergency.self,
        ])
}

// `warden run` with options the daemon's own parser accepts goes straight to the daemon,
// before ArgumentParser looks at the commands (its reflection is most of this process's
// own time on the way to the exec). Anything else, `--help` and mistakes included, gets
// ArgumentParser's answer.
if CommandLine.arguments.dropFirst().first == "run",
    case .success(let arguments) = DaemonArguments.parse(Array(CommandLine.arguments.dropFirst()))
{
    Run.executeDaemon(arguments)
    exit(Daemon.run(arguments))
}
Warden.main()
