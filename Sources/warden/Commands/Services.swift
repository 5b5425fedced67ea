import ArgumentParser
import WardenLinux

/// `warden services`: the failed-unit cleanup operators otherwise do by hand with
/// `systemctl --failed`, `systemctl reset-failed` and `systemctl restart`, through
/// systemd's D-Bus API.
struct Services: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "List failed systemd units, reset them, restart one.",
        discussion: """
            Talks to systemd on the system bus. Order of work: list the failed units, reset \
            them (--reset), then restart the named units (--restart, waiting for each job). \
            Exit status 0 when everything succeeded, 1 when an operation failed or a \
            restarted unit ended up failed, 69 (EX_UNAVAILABLE) when systemd is not \
            running on this machine.
            """)

    /// `EX_UNAVAILABLE` from sysexits.h: the service this command needs is not there.
    static let unavailableExitCode: Int32 = 69

    @Flag(help: "List units in the failed state (the default when nothing else is asked).")
    var failed = false

    @Flag(help: "Reset the failed units listed (systemctl reset-failed).")
    var reset = false

    @Option(name: .customLong("restart"), help: "Restart this unit, mode replace (repeatable).")
    var restartUnits: [String] = []

    @Option(help: "Seconds to wait for each restart job to finish.")
    var timeoutSec: UInt64 = 90

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let bus: SystemdBus
        do {
            bus = try SystemdBus()
        } catch {
            let reason = error.errorMessage ?? error.description
            if json {
                print(try Self.encode(Report(available: false, unavailableReason: reason)))
            }
            writeStandardError("warden services: \(reason)")
            throw ExitCode(Self.unavailableExitCode)
        }

        var report = Report(available: true)
        var anyFailure = false
        let listFailed = failed || reset || restartUnits.isEmpty
        if listFailed {
            do {
                report.failed = try bus.listUnits(states: ["failed"])
            } catch {
                report.errors.append(error.description)
                anyFailure = true
            }
        }
        if reset {
            for unit in report.failed ?? [] {
                do {
                    try bus.resetFailedUnit(unit.name)
                    report.reset.append(Outcome(unit: unit.name))
                } catch {
                    report.reset.append(Outcome(unit: unit.name, error: error.description))
                    anyFailure = true
                }
            }
        }
        for unit in restartUnits {
            var outcome = Outcome(unit: unit)
            do {
                let job = try bus.restartUnit(unit, mode: "replace")
                if try !bus.waitForJob(job, timeoutUSec: timeoutSec * 1_000_000) {
                    outcome.error = "restart job \(job) still running after \(timeoutSec) s"
                }
                let state = try bus.unitState(unit)
                outcome.activeState = state.activeState
                outcome.subState = state.subState
                if state.activeState == "failed" && outcome.error == nil {
                    outcome.error = "\(unit) failed again after the restart (see journalctl -u \(unit))"
                }
            } catch {
                outcome.error = error.description
            }
            if outcome.error != nil { anyFailure = true }
            report.restarted.append(outcome)
        }

        if json {
            print(try Self.encode(report))
        } else {
            print(report.renderText(), terminator: "")
            for error in report.errors { writeStandardError("warden services: \(error)") }
        }
        if anyFailure { throw ExitCode(1) }
    }

    static func encode(_ report: Report) throws -> String {
        let encoder = JSONWriter(prettyPrinted: true)
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    /// What one reset or restart did; `error` is nil on success.
    struct Outcome: Encodable {
        var unit: String
        var activeState: String?
        var subState: String?
        var error: String?
    }

    /// `warden services --json` output. Field names are part of Warden's stable interface.
    struct Report: Encodable {
        var available: Bool
        var unavailableReason: String?
        /// nil when the failed units were not asked for.
        var failed: [UnitListing]?
        var reset: [Outcome] = []
        var restarted: [Outcome] = []
        var errors: [String] = []

        func renderText() -> String {
            var text = ""
            if let failed {
                if failed.isEmpty {
                    text += "No failed units.\n"
                } else {
                    let width = max(4, failed.map(\.name.count).max() ?? 0)
                    func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
                    text += pad("UNIT", width) + "  LOAD      ACTIVE  SUB       DESCRIPTION\n"
                    for unit in failed {
                        text += pad(unit.name, width) + "  " + pad(unit.loadState, 8) + "  " + pad(unit.activeState, 6)
                            + "  " + pad(unit.subState, 8) + "  " + unit.description + "\n"
                    }
                    text += "\(failed.count) failed unit\(failed.count == 1 ? "" : "s").\n"
                }
            }
            for outcome in reset {
                text += "reset-failed \(outcome.unit): " + (outcome.error ?? "done") + "\n"
            }
            for outcome in restarted {
                let state = outcome.activeState.map { "\($0) (\(outcome.subState ?? "?"))" }
                text += "restart \(outcome.unit): " + [state, outcome.error].compactMap { $0 }.joined(separator: "; ") + "\n"
            }
            return text
        }
    }
}
