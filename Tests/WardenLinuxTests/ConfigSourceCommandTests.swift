import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// Commands run beside a daemon take its configuration (`config-source`) when the operator
/// names none: `warden run --units DIR` is enough for `check-config`, `duplicates` and
/// `diagnose` to see its components; explicit `--units` wins.
@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct ConfigSourceCommandTests {
    @Test func commandsTakeTheRunningDaemonsConfiguration() throws {
        let root = NotifyClient.temporaryDirectory()
        let seconds = OperatorFixture.uniqueSeconds()
        try FileManager.default.createDirectory(atPath: root + "/units", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/other", withIntermediateDirectories: true)
        try "[Service]\nExecStart=/bin/sleep \(seconds)\n".write(toFile: root + "/units/bot.service", atomically: true, encoding: .utf8)
        try "[Service]\nExecStart=/bin/sleep 600\n".write(toFile: root + "/other/else.service", atomically: true, encoding: .utf8)
        let socketPath = root + "/state/control.sock"
        let socket = ["--socket", socketPath]
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
        var mainPID: Int32?
        let deadline = monotonicSeconds() + 30
        while monotonicSeconds() < deadline {
            if case .success(let response) = ControlClient(path: socketPath).send(ControlRequest(id: 1, op: .status, unit: "bot")),
                let pid = response.components?.first?.mainPID
            {
                mainPID = pid
                break
            }
            usleep(50_000)
        }
        let supervised = try #require(mainPID, "the daemon did not answer: \(daemon.standardError())")

        // The operation itself.
        guard case .success(let answer) = ControlClient(path: socketPath).send(ControlRequest(id: 2, op: .configSource)) else {
            Issue.record("no answer to config-source")
            return
        }
        let source = try #require(answer.configSource, "\(answer)")
        #expect(source.pid == daemon.pid)
        #expect(source.unitDirectories == [root + "/units"])
        #expect(source.stateDirectory == root + "/state")
        #expect(source.controlSocket == socketPath)

        let line = "using the configuration of the running daemon (pid \(daemon.pid)): --units \(root)/units"
        let checked = try run(["check-config", "--no-host-check"] + socket)
        #expect(checked.status == .exited(code: 0), "\(checked.stderr)")
        #expect(checked.stderr.contains(line), "\(checked.stderr)")
        #expect(checked.stdout.contains("bot.service"), "\(checked.stdout)")

        // Explicit --units win, and nothing is said about the daemon.
        let explicit = try run(["check-config", "--no-host-check", "--units", root + "/other"] + socket)
        #expect(explicit.status == .exited(code: 0), "\(explicit.stderr)")
        #expect(!explicit.stderr.contains("running daemon"), "\(explicit.stderr)")
        #expect(explicit.stdout.contains("else.service") && !explicit.stdout.contains("bot.service"), "\(explicit.stdout)")

        // A copy started outside: a duplicate of bot.service; the daemon's own is not.
        let outside = try OperatorFixture.sleep(seconds)
        defer { TestProcess.kill(outside) }
        let duplicates = try run(["duplicates", "--json"] + socket)
        #expect(duplicates.status == .exited(code: 1), "\(duplicates.stderr)")
        #expect(duplicates.stderr.contains(line), "\(duplicates.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(duplicates.stdout.utf8)) as? [String: Any])
        let components = try #require(object["components"] as? [[String: Any]])
        #expect(components.map { $0["name"] as? String } == ["bot.service"], "\(duplicates.stdout)")
        #expect(components.first?["supervisedPIDs"] as? [Int] == [Int(supervised)], "\(duplicates.stdout)")
        let copies = try #require(object["duplicates"] as? [[String: Any]])
        #expect(copies.map { $0["pid"] as? Int } == [Int(outside.pid)], "\(duplicates.stdout)")

        // With explicit --units the daemon's configuration is not taken, but its processes
        // are still Warden's, not copies.
        let named = try run(["duplicates", "--json", "--units", root + "/units"] + socket)
        #expect(!named.stderr.contains("running daemon"), "\(named.stderr)")
        let namedObject = try #require(try JSONSerialization.jsonObject(with: Data(named.stdout.utf8)) as? [String: Any])
        let namedCopies = try #require(namedObject["duplicates"] as? [[String: Any]])
        #expect(namedCopies.map { $0["pid"] as? Int } == [Int(outside.pid)], "\(named.stdout)")

        let diagnosed = try run(["diagnose", "--json"] + socket)
        #expect(diagnosed.stderr.contains(line), "\(diagnosed.stderr)")
        #expect(diagnosed.stdout.contains("\"name\" : \"bot.service\""), "\(diagnosed.stdout)")
    }
}

@Suite struct ConfigSourceCodingTests {
    /// The stable JSON of the answer (docs/control-protocol.md), and back.
    @Test func answerLineIsStable() throws {
        let source = ControlConfigSource(
            pid: 42, configFile: nil, unitDirectories: ["/srv/units"], stateDirectory: "/tmp/s", controlSocket: "/tmp/s/control.sock")
        let line = String(decoding: ControlCodec.encodeLine(ControlResponse(id: 1, configSource: source)), as: UTF8.self)
        #expect(
            line
                == #"{"configSource":{"controlSocket":"/tmp/s/control.sock","pid":42,"stateDirectory":"/tmp/s","unitDirectories":["/srv/units"]},"id":1,"v":1}"#
                + "\n")
        guard case .success(let decoded) = ControlCodec.decodeResponse(Array(line.utf8).dropLast()) else {
            Issue.record("not decoded: \(line)")
            return
        }
        #expect(decoded.configSource == source)
    }
}
