import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// `warden duplicates` and `warden diagnose` end to end: the real binary, on the seeded
/// /proc tree (golden output) and on real sleep processes this test starts.
@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct OperatorCommandTests {
    func run(_ arguments: [String]) throws -> WardenCommandOutcome {
        try runWarden(arguments, environment: ["NO_COLOR": "1"], within: 30)
    }

    func write(_ text: String, to path: String, executable: Bool = false) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        if executable { chmod(path, 0o755) }
    }

    /// The fixture /proc copied into a temporary directory, with the components' executables
    /// created there and the fixture's exe links pointed at them (the units must name
    /// programs that exist, or the configuration is invalid). Warden's daemon is PID 400.
    func fixtureStack() throws -> (directory: String, config: String) {
        let directory = OperatorFixture.temporaryDirectory()
        let fm = FileManager.default
        for name in ["bin", "units", "state"] { try fm.createDirectory(atPath: directory + "/" + name, withIntermediateDirectories: true) }
        for program in ["order-executor", "risk-engine", "market-data"] {
            try write("#!/bin/sh\nexec sleep 1000\n", to: "\(directory)/bin/\(program)", executable: true)
        }
        try fm.copyItem(atPath: OperatorFixture.procRoot, toPath: directory + "/proc")
        for pid in try fm.contentsOfDirectory(atPath: directory + "/proc") where Int(pid) != nil {
            let link = "\(directory)/proc/\(pid)/exe"
            guard let target = try? fm.destinationOfSymbolicLink(atPath: link), target.hasPrefix("/opt/trading/bin/") else { continue }
            try fm.removeItem(atPath: link)
            try fm.createSymbolicLink(atPath: link, withDestinationPath: directory + "/bin/" + target.dropFirst("/opt/trading/bin/".count))
        }
        try write("400\n", to: directory + "/state/warden.lock")
        try write("2300\n", to: directory + "/market-data.pid")
        let units = directory + "/units"
        try write(
            "[Service]\nExecStart=\(directory)/bin/order-executor --venue binance\n[X-Warden]\nDuplicates=refuse\n",
            to: units + "/order-executor.service")
        try write(
            "[Service]\nExecStart=/bin/sh -c 'exec python3 /opt/trading/strategy.py --live'\n[X-Warden]\nDuplicates=warn\nDuplicateMatch=pattern:*strategy.py --live*\n",
            to: units + "/strategy.service")
        try write(
            "[Service]\nExecStart=\(directory)/bin/market-data --feed binance\n[X-Warden]\nDuplicates=kill\nDuplicateMatch=pidfile:\(directory)/market-data.pid\n",
            to: units + "/market-data.service")
        try write(
            "[Service]\nExecStart=\(directory)/bin/risk-engine\n[X-Warden]\nDuplicates=adopt\nDuplicateMatch=executable\n",
            to: units + "/risk-engine.service")
        try write("[Service]\nExecStart=/bin/true\n", to: units + "/quiet.service")
        let config = directory + "/warden.conf"
        try write("[Warden]\nStateDirectory=\(directory)/state\nUnitDirectories=\(units)\n", to: config)
        return (directory, config)
    }

    @Test func duplicatesTableIsGolden() throws {
        let stack = try fixtureStack()
        defer { try? FileManager.default.removeItem(atPath: stack.directory) }
        let outcome = try run(["duplicates", "--config", stack.config, "--proc-root", stack.directory + "/proc"])
        #expect(outcome.status == .exited(code: 1), "\(outcome.stderr)")
        // Fixture: uptime 100000 s, USER_HZ 100, 4 KiB pages. 410 is Warden's (child of 400),
        // 1240 is 1234's worker, 1300 runs other arguments, 2100 is a zombie.
        #expect(
            outcome.stdout == """
                COMPONENT                PID  USER  CPU%       RSS  COMMAND
                market-data.service     2300  root   0.4  46.9 MiB  /opt/trading/bin/market-data --feed binance
                order-executor.service  1234  root   0.5  11.7 MiB  /opt/trading/bin/order-executor --venue binance
                risk-engine.service     2400  root   0.2  27.3 MiB  /opt/trading/bin/risk-engine
                strategy.service        2200  root   0.1  35.2 MiB  python3 /opt/trading/strategy.py --live
                4 duplicates of 4 components — stop them with: warden duplicates --kill
                """)
    }

    @Test func duplicatesJSONIsStable() throws {
        let stack = try fixtureStack()
        defer { try? FileManager.default.removeItem(atPath: stack.directory) }
        let outcome = try run(["duplicates", "--json", "--config", stack.config, "--proc-root", stack.directory + "/proc"])
        #expect(outcome.status == .exited(code: 1))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(object["formatVersion"] as? Int == 1)
        let components = try #require(object["components"] as? [[String: Any]])
        #expect(components.map { $0["name"] as? String } == [
            "market-data.service", "order-executor.service", "quiet.service", "risk-engine.service", "strategy.service",
        ])
        let executor = try #require(components.first { $0["name"] as? String == "order-executor.service" })
        #expect(executor["supervisedPIDs"] as? [Int] == [410])
        #expect(executor["policy"] as? String == "refuse")
        #expect(executor["match"] as? String == "executable+arguments")
        let duplicates = try #require(object["duplicates"] as? [[String: Any]])
        #expect(duplicates.map { $0["pid"] as? Int } == [2300, 1234, 2400, 2200])
        let first = duplicates[0]
        #expect(first["startTimeTicks"] as? Int == 9_300_000)
        #expect(first["cgroup"] as? String == "/system.slice/market-data.service")
        #expect(first["rssBytes"] as? Int == 12000 * 4096)
        #expect(first["killResult"] == nil)
    }

    @Test func killStopsOnlyTheDuplicates() throws {
        let seconds = OperatorFixture.uniqueSeconds()
        let strays = try (0..<2).map { _ in try OperatorFixture.sleep(seconds) }
        let bystander = try OperatorFixture.sleep(seconds + "1")
        defer { TestProcess.kill(bystander) }
        let directory = OperatorFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/units", withIntermediateDirectories: true)
        try write("[Service]\nExecStart=/bin/sleep \(seconds)\n[X-Warden]\nDuplicates=kill\n", to: directory + "/units/sleeper.service")
        try write("[Warden]\nStateDirectory=\(directory)/state\nUnitDirectories=\(directory)/units\n", to: directory + "/warden.conf")

        let listed = try run(["duplicates", "--config", directory + "/warden.conf"])
        #expect(listed.status == .exited(code: 1), "\(listed.stderr)")
        for stray in strays { #expect(listed.stdout.contains("sleeper.service  \(stray.pid)"), "\(listed.stdout)") }
        #expect(!listed.stdout.contains(String(bystander.pid)))

        let killed = try run(["duplicates", "--kill", "--timeout", "5", "--config", directory + "/warden.conf"])
        #expect(killed.status == .exited(code: 0), "\(killed.stdout)\n\(killed.stderr)")
        #expect(killed.stdout.components(separatedBy: "terminated").count == 3, "\(killed.stdout)")
        #expect(killed.stdout.hasSuffix("2 duplicates of 1 component; none left running"))
        for stray in strays { #expect(TestProcess.wait(stray) == .killed(signal: SIGTERM, coreDumped: false)) }
        #expect(OperatorFixture.isRunning(bystander.pid))

        let after = try run(["duplicates", "--config", directory + "/warden.conf"])
        #expect(after.status == .exited(code: 0))
        #expect(after.stdout == "no duplicates (1 component checked)")
    }

    @Test func diagnoseJSONOnTheFixture() throws {
        let stack = try fixtureStack()
        defer { try? FileManager.default.removeItem(atPath: stack.directory) }
        let outcome = try run(["diagnose", "--json", "--config", stack.config, "--proc-root", stack.directory + "/proc"])
        // Memory is 87.5 % used in the fixture: critical on any machine.
        #expect(outcome.status == .exited(code: 2), "\(outcome.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(object["formatVersion"] as? Int == 1)
        #expect(object["processCount"] as? Int == 13)
        #expect(object["scanMilliseconds"] is Double || object["scanMilliseconds"] is Int)
        #expect(object["uptimeSeconds"] as? Double == 100_000)
        let load = try #require(object["load"] as? [String: Any])
        #expect(load["one"] as? Double == 5.12)
        let memory = try #require(object["memory"] as? [String: Any])
        #expect(memory["verdict"] as? String == "critical")
        #expect(memory["swapVerdict"] as? String == "warning")
        let pressure = try #require(object["pressure"] as? [String: Any])
        #expect((pressure["cpu"] as? [String: Any])?["someAvg10"] as? Double == 31.2)
        let components = try #require(object["components"] as? [[String: Any]])
        let executor = try #require(components.first { $0["name"] as? String == "order-executor.service" })
        #expect(executor["supervisedPIDs"] as? [Int] == [410])
        #expect((executor["duplicates"] as? [[String: Any]])?.map { $0["pid"] as? Int } == [1234])
        let recommendations = try #require(object["recommendations"] as? [[String: Any]])
        let messages = recommendations.compactMap { $0["message"] as? String }
        #expect(messages.contains("CPU pressure 31.2 % (some, avg10), critical from 25 % — tasks wait for CPU; run: warden emergency on"))
        #expect(messages.contains("2 copies of order-executor.service running (PIDs 410, 1234) — run: warden duplicates --kill"))
        #expect(recommendations.first?["severity"] as? String == "critical")
        let systemd = try #require(object["systemd"] as? [String: Any])
        #expect(["ok", "systemd-not-running", "unavailable"].contains(systemd["status"] as? String ?? ""))
    }

    @Test func diagnoseTextWithoutConfiguration() throws {
        let outcome = try run(["diagnose", "--proc-root", OperatorFixture.procRoot])
        #expect(outcome.status == .exited(code: 2), "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Load         5.12 3.40 2.01"))
        #expect(outcome.stdout.contains("PSI (avg10)  cpu 31.2 %  memory 1.5 %  io 0.3 %  (some)"))
        #expect(outcome.stdout.contains("Top processes by CPU"))
        #expect(outcome.stdout.contains("CRITICAL: memory 88 % used"))
        #expect(!outcome.stdout.contains("\u{1B}["))
    }

    /// `warden run` goes straight to the daemon only with options the daemon parses; a
    /// mistake or `--help` still gets the command line's own answer.
    @Test(arguments: [
        (["run", "--bogus"], Int32(64), "Unknown option '--bogus'"),
        (["run", "--config"], Int32(64), "Missing value for '--config"),
        (["run", "--help"], Int32(0), "USAGE: warden run"),
    ])
    func runMistakesAndHelpAreTheCommandLines(arguments: [String], code: Int32, text: String) throws {
        let outcome = try run(arguments)
        #expect(outcome.status == .exited(code: code), "\(outcome.stderr)")
        #expect((outcome.stdout + outcome.stderr).contains(text), "\(outcome.stdout)\n\(outcome.stderr)")
    }

    @Test func watchNeedsTheFlagForSeconds() throws {
        let outcome = try run(["diagnose", "5"])
        #expect(outcome.status == .exited(code: 64))
        #expect(outcome.stderr.contains("SECONDS is only meaningful after --watch"))
    }
}
