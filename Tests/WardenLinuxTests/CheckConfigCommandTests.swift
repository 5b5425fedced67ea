import Foundation
import Testing
import WardenCore

/// `warden check-config` end to end: the real binary on real files.
@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct CheckConfigCommandTests {
    func run(_ arguments: [String]) throws -> WardenCommandOutcome {
        try runWarden(arguments, within: 20)
    }

    func temporaryDirectory() -> String {
        var template = Array("/tmp/warden-check-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    @Test func demoStackIsValidAndThePlanIsPrinted() throws {
        let outcome = try run(["check-config", "--config", DocumentationTests.repositoryRoot + "/config/demo/warden.conf"])
        #expect(outcome.status == .exited(code: 0), "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Start order"))
        #expect(outcome.stdout.contains("cgroup: trading.slice/trading-critical.slice/order-executor.service"))
        #expect(outcome.stdout.contains("cpu.max = 50000 100000"))
        #expect(outcome.stdout.contains("nice = -10"))
    }

    @Test func brokenUnitExits78WithPositionedMessages() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "[Service]\nExecStart=/bin/sleep 1\nCPUQuata=50%\nMemoryMax=lots\n[X-Warden]\nPriority=urgent\n"
            .write(toFile: directory + "/broken.service", atomically: true, encoding: .utf8)
        let outcome = try run(["check-config", "--units", directory])
        #expect(outcome.status == .exited(code: 78))
        let file = directory + "/broken.service"
        #expect(outcome.stderr.contains("\(file):3: CPUQuata: unknown key in [Service]; did you mean CPUQuota?"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("\(file):4: MemoryMax: "))
        #expect(outcome.stderr.contains("\(file):6: Priority: 'urgent' is not valid; expected one of critical, normal, batch"))
        #expect(outcome.stderr.contains("configuration invalid: 3 error(s)"))
    }

    /// Without its control socket no one could stop or inspect the daemon: `warden run`
    /// refuses to start, says why, and starts nothing.
    @Test func runRefusesToStartWithoutItsControlSocket() throws {
        let marker = "7\(getpid() % 10_000)13"
        let directory = try runStack("check", service: "ExecStart=/bin/sleep \(marker)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "[Warden]\nUnitDirectories=\(directory)/units\nStateDirectory=\(directory)/state\nControlSocket=\(directory)/missing/control.sock\nLogTarget=stderr\n"
            .write(toFile: directory + "/warden.conf", atomically: true, encoding: .utf8)
        let outcome = try run(["run", "--config", directory + "/warden.conf"])
        #expect(outcome.status == .exited(code: 73), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("the control socket cannot be opened"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("ControlSocketOptional=yes"))
        #expect(!outcome.stderr.contains("a.service: started"), "a component ran: \(outcome.stderr)")
    }

    /// A masked unit is listed as masked, with its path: no error, exit 0.
    @Test func maskedUnitIsListedNotRefused() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "[Service]\nExecStart=/bin/true\n".write(toFile: directory + "/a.service", atomically: true, encoding: .utf8)
        #expect(symlink("/dev/null", directory + "/gone.service") == 0)
        let outcome = try run(["check-config", "--no-host-check", "--units", directory])
        #expect(outcome.status == .exited(code: 0), "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Masked (not loaded, as under systemd):\n  gone.service  \(directory)/gone.service"), "\(outcome.stdout)")
        let json = try run(["check-config", "--json", "--no-host-check", "--units", directory])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let masked = object?["masked"] as? [[String: String]]
        #expect(masked == [["unit": "gone.service", "path": directory + "/gone.service"]])
    }

    /// Every specifier of systemd.unit(5) resolves from this host.
    @Test(.enabled(if: HostIdentity.isComplete, HostIdentity.missing))
    func everySpecifierResolvesFromThisHost() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let all = "%n %N %p %P %i %I %j %J %f %H %l %q %m %b %v %a %o %w %W %B %M %A %u %U %g %G %h %s %t %S %C %L %E %T %V %d %y %Y %%"
        try "[Unit]\nDescription=\(all)\n[Service]\nExecStart=/bin/echo \(all)\nEnvironment=\"ALL=\(all)\"\n"
            .write(toFile: directory + "/a.service", atomically: true, encoding: .utf8)
        let outcome = try run(["check-config", "--no-host-check", "--units", directory])
        #expect(outcome.status == .exited(code: 0), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("specifier"), "\(outcome.stderr)")
    }

    @Test func jsonReportIsParseable() throws {
        let outcome = try run(["check-config", "--json", "--config", DocumentationTests.repositoryRoot + "/config/demo/warden.conf"])
        #expect(outcome.status == .exited(code: 0))
        let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
        #expect(object?["valid"] as? Bool == true)
        let plan = object?["plan"] as? [String: Any]
        let components = plan?["components"] as? [[String: Any]]
        #expect(components?.count == 6)
        let executor = components?.first { $0["name"] as? String == "order-executor.service" }
        let writes = executor?["cgroupWrites"] as? [[String: Any]]
        #expect(writes?.contains { $0["file"] as? String == "memory.max" && $0["value"] as? String == "4294967296" } == true)
    }
}
