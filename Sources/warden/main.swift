import ArgumentParser
import WardenCore

struct Warden: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "Process supervisor and resource governor for latency-critical stacks.",
        version: wardenVersion,
        subcommands: [
            Run.self, Status.self, Start.self, Stop.self, Restart.self, Reload.self, ResetFailed.self, Logs.self,
            CheckConfig.self, Keys.self, Duplicates.self, Diagnose.self, Services.self, Emergency.self,
        ])
}

Warden.main()
