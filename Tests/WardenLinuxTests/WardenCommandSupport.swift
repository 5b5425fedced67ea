import WardenCore

/// What one run of the `warden` binary printed, and how it ended.
struct WardenCommandOutcome {
    var status: WardenCore.ExitStatus?
    var stdout: String
    var stderr: String
}

/// Runs the built `warden` with `arguments` to its end (each line within `seconds`), for
/// the end-to-end command tests.
func runWarden(_ arguments: [String], environment: [String: String] = [:], within seconds: Double = 30) throws
    -> WardenCommandOutcome
{
    let process = try DemoProcess(arguments, environment: environment, binary: DemoBinary.wardenPath)
    var lines: [String] = []
    while let line = process.nextLine(within: seconds) { lines.append(line) }
    let status = process.exitStatus(within: seconds)
    return WardenCommandOutcome(status: status, stdout: lines.joined(separator: "\n"), stderr: process.standardError())
}
