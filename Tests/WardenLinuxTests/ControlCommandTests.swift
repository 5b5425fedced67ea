import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// The component verbs end to end with the real binary and a running `warden run`:
/// `status NAME`'s exit statuses are systemctl status's, `kill` reaches whom it names, and
/// several names are each tried.
@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct ControlCommandTests {
    @Test func statusExitsAsSystemctlAndKillSignals() throws {
        let root = NotifyClient.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: root + "/units", withIntermediateDirectories: true)
        try "[Service]\nExecStart=/bin/sleep 600\nRestart=always\nRestartSec=10ms\n"
            .write(toFile: root + "/units/steady.service", atomically: true, encoding: .utf8)
        try "[Service]\nExecStart=/bin/sleep 600\n".write(toFile: root + "/units/other.service", atomically: true, encoding: .utf8)
        let socket = ["--socket", root + "/state/control.sock"]
        func run(_ arguments: [String]) throws -> WardenCommandOutcome {
            try runWarden(arguments, environment: ["NO_COLOR": "1"], within: 30)
        }
        let daemon = try DemoProcess(
            ["run", "--units", root + "/units", "--state-dir", root + "/state"], environment: ["NO_COLOR": "1"],
            binary: DemoBinary.wardenPath)
        defer {
            daemon.send(SIGTERM)
            _ = daemon.exitStatus(within: 30)
        }
        var first: ComponentSnapshot?
        let deadline = monotonicSeconds() + 30
        while monotonicSeconds() < deadline {
            let outcome = try run(["status", "steady", "--json"] + socket)
            if outcome.status == .exited(code: 0),
                case .success(let response) = ControlCodec.decodeResponse(Array(outcome.stdout.utf8)),
                let steady = response.components?.first, steady.mainPID != nil
            {
                first = steady
                break
            }
            usleep(50_000)
        }
        let steady = try #require(first, "the daemon did not answer: \(daemon.standardError())")

        #expect(try run(["status", "steady"] + socket).status == .exited(code: 0))
        #expect(try run(["status", "nosuch"] + socket).status == .exited(code: 4))
        #expect(try run(["stop", "nosuch"] + socket).status == .exited(code: 5))

        // kill --kill-whom main: the main process dies, Restart=always brings it back.
        let killed = try run(["kill", "steady", "--signal", "KILL", "--kill-whom", "main"] + socket)
        #expect(killed.status == .exited(code: 0), "\(killed.stderr)")
        #expect(killed.stdout.contains("SIGKILL sent to 1 process(es) of steady.service (main)"), "\(killed.stdout)")
        var restarted = false
        while monotonicSeconds() < deadline + 30 {
            let outcome = try run(["status", "steady", "--json"] + socket)
            if case .success(let response) = ControlCodec.decodeResponse(Array(outcome.stdout.utf8)),
                let now = response.components?.first, now.mainPID != nil, now.mainPID != steady.mainPID, now.restarts == 1
            {
                restarted = true
                break
            }
            usleep(50_000)
        }
        #expect(restarted)

        // Several names: each is tried; the unknown one's status is the exit status.
        let stop = try run(["stop", "other", "nosuch", "steady"] + socket)
        #expect(stop.status == .exited(code: 5), "\(stop.stdout) \(stop.stderr)")
        #expect(stop.stdout.contains("stop of other.service requested"))
        #expect(stop.stdout.contains("stop of steady.service requested"))
        var stopped = false
        while monotonicSeconds() < deadline + 60 {
            if try run(["status", "steady"] + socket).status == .exited(code: 3) {
                stopped = true
                break
            }
            usleep(50_000)
        }
        #expect(stopped, "status of a stopped component exits 3")
        daemon.send(SIGTERM)
        #expect(daemon.exitStatus(within: 30) == .exited(code: 0))
    }
}
