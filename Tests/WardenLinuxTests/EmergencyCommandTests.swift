import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// `warden emergency on|status|off` end to end with the real binary: directly on a plain
/// directory tree standing in for Warden's cgroup subtree (never /sys/fs/cgroup), and
/// through a running `warden run`'s control socket.
@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct EmergencyCommandTests {
    func run(_ arguments: [String]) throws -> WardenCommandOutcome {
        try runWarden(arguments, environment: ["NO_COLOR": "1"], within: 30)
    }

    /// Units (critical executor, batch slice with a backtest), warden.conf, and the tree.
    final class Stack {
        let root: String
        var config: String { root + "/warden.conf" }
        var tree: String { root + "/cg" }
        var direct: [String] { ["--config", config, "--cgroup-root", tree, "--cgroup-root-is-plain-directory"] }

        init() throws {
            var template = Array("/tmp/warden-emc-XXXXXX".utf8CString)
            root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
            let fm = FileManager.default
            for name in ["units", "state", "cg"] { try fm.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true) }
            try write("[Slice]\n[X-Warden]\nPriority=critical\n", "units/critical.slice")
            try write("[Slice]\n[X-Warden]\nPriority=batch\n", "units/batch.slice")
            try write("[Service]\nExecStart=/bin/sleep 1000\nSlice=critical.slice\n", "units/exec.service")
            try write("[Service]\nExecStart=/bin/sleep 1000\nSlice=batch.slice\n", "units/backtest.service")
            // Enabled=no: this shared build host's load must not make the daemon's automatic
            // governor act during the test; manual mode works either way.
            try write(
                "[Warden]\nStateDirectory=\(root)/state\nUnitDirectories=\(root)/units\nShutdownBudgetSec=20s\n[Governor]\nEnabled=no\n",
                "warden.conf")
            for group in ["critical.slice", "critical.slice/exec.service", "batch.slice", "batch.slice/backtest.service"] {
                try fm.createDirectory(atPath: tree + "/" + group, withIntermediateDirectories: true)
                let files = ["cpu.max": "max 100000", "cpu.weight": "100", "cpu.idle": "0", "cgroup.freeze": "0", "memory.high": "max"]
                for (file, value) in files { try write(value + "\n", "cg/\(group)/\(file)") }
            }
        }

        func write(_ text: String, _ path: String) throws {
            try text.write(toFile: root + "/" + path, atomically: false, encoding: .utf8)
        }

        func file(_ group: String, _ name: String) -> String {
            ((try? String(contentsOfFile: tree + "/" + group + "/" + name, encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    func decodeStatus(_ text: String) throws -> ControlEmergencyStatus {
        try JSONDecoder().decode(ControlEmergencyStatus.self, from: Data(text.utf8))
    }

    @Test func directOnStatusOffRestoresExactly() throws {
        let stack = try Stack()
        try stack.write("250\n", "cg/batch.slice/cpu.weight")
        let on = try run(["emergency", "on", "--cpu-quota", "30%"] + stack.direct)
        #expect(on.status == .exited(code: 0), "\(on.stderr)")
        #expect(on.stdout.contains("emergency on (no daemon: acted directly): tier critical, 4 value(s) changed"), "\(on.stdout)")
        #expect(on.stderr.contains("governor: tier critical (from normal; manual emergency on)"), "\(on.stderr)")
        #expect(stack.file("batch.slice", "cpu.max") == "30000 100000")
        #expect(stack.file("batch.slice", "cpu.weight") == "1")
        // Without --target, as the critical tier: the critical groups are raised, never throttled.
        #expect(stack.file("critical.slice", "cpu.max") == "max 100000")
        #expect(stack.file("critical.slice", "cpu.weight") == "10000")
        #expect(stack.file("critical.slice/exec.service", "cpu.weight") == "10000")

        let status = try run(["emergency", "status", "--json"] + stack.direct)
        #expect(status.status == .exited(code: 0), "\(status.stderr)")
        let decoded = try decodeStatus(status.stdout)
        #expect(decoded.tier == "critical")
        #expect(decoded.mode == "manual")
        #expect(decoded.source == "direct")
        #expect(decoded.manual?.cpuQuotaPerSecUSec == 300_000)
        #expect(decoded.changes.map { "\($0.target) \($0.file) \($0.written) \($0.previous)" } == [
            "batch.slice cpu.max 30000 100000 max 100000", "batch.slice cpu.weight 1 250",
            "critical.slice cpu.weight 10000 100", "exec.service cpu.weight 10000 100",
        ])

        let human = try run(["emergency", "status"] + stack.direct)
        #expect(human.stdout.contains("Mode:     manual (CPUQuota=30%, targets: as the critical tier, until 'warden emergency off')"), "\(human.stdout)")
        #expect(human.stdout.contains("  batch.slice     cpu.max     30000 100000  max 100000"), "\(human.stdout)")
        #expect(human.stdout.contains("  critical.slice  cpu.weight  10000         100"), "\(human.stdout)")

        let off = try run(["emergency", "off"] + stack.direct)
        #expect(off.status == .exited(code: 0), "\(off.stderr)")
        #expect(off.stdout.contains("emergency off: 4 value(s) restored"), "\(off.stdout)")
        #expect(stack.file("batch.slice", "cpu.max") == "max 100000")
        #expect(stack.file("batch.slice", "cpu.weight") == "250")
        #expect(stack.file("critical.slice", "cpu.weight") == "100")
        #expect(stack.file("critical.slice/exec.service", "cpu.weight") == "100")
    }

    @Test func directRefusesCriticalAndUnknownTargets() throws {
        let stack = try Stack()
        let critical = try run(["emergency", "on", "--target", "exec"] + stack.direct)
        #expect(critical.status == .exited(code: 1), "\(critical.stderr)")
        #expect(critical.stderr.contains("refused"), "\(critical.stderr)")
        let unknown = try run(["emergency", "on", "--target", "backtset"] + stack.direct)
        #expect(unknown.status == .exited(code: 5), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("did you mean 'backtest.service'?"), "\(unknown.stderr)")
        #expect(stack.file("batch.slice", "cpu.max") == "max 100000")
    }

    @Test func directForExpiresWithoutADaemon() throws {
        let stack = try Stack()
        let on = try run(["emergency", "on", "--target", "backtest", "--freeze", "batch", "--for", "1s"] + stack.direct)
        #expect(on.status == .exited(code: 0), "\(on.stderr)")
        #expect(on.stdout.contains("expiry: "), "\(on.stdout)")
        #expect(stack.file("batch.slice/backtest.service", "cpu.max") == "50000 100000")
        // The expiry runs in another process; wait for its outcome, not for a time.
        let deadline = monotonicSeconds() + 30
        while monotonicSeconds() < deadline && stack.file("batch.slice/backtest.service", "cpu.max") != "max 100000" {
            usleep(50_000)
        }
        #expect(stack.file("batch.slice/backtest.service", "cpu.max") == "max 100000")
        let status = try decodeStatus(try run(["emergency", "status", "--json"] + stack.direct).stdout)
        #expect(status.mode == "automatic")
        #expect(status.changes.isEmpty)
    }

    @Test func throughTheDaemonsControlSocket() throws {
        let stack = try Stack()
        let daemon = try DemoProcess(
            ["run", "--config", stack.config, "--governor-cgroup-root", stack.tree], environment: ["NO_COLOR": "1"],
            binary: DemoBinary.wardenPath)
        defer {
            daemon.send(SIGTERM)
            _ = daemon.exitStatus(within: 30)
        }
        var answered: WardenCommandOutcome?
        let deadline = monotonicSeconds() + 30
        while monotonicSeconds() < deadline {
            if FileManager.default.fileExists(atPath: stack.root + "/state/control.sock") {
                let outcome = try run(["emergency", "status", "--json", "--config", stack.config])
                if outcome.status == .exited(code: 0) {
                    answered = outcome
                    break
                }
            }
            usleep(100_000)
        }
        let first = try #require(answered, "the daemon did not answer: \(daemon.standardError())")
        #expect(try decodeStatus(first.stdout).source == "daemon")

        let on = try run(["emergency", "on", "--config", stack.config, "--target", "backtest", "--cpu-quota", "20%"])
        #expect(on.status == .exited(code: 0), "\(on.stderr)")
        #expect(on.stdout.contains("emergency on: tier critical, 2 value(s) changed"), "\(on.stdout)")
        #expect(stack.file("batch.slice/backtest.service", "cpu.max") == "20000 100000")
        // The daemon persisted it where a restarted daemon (or the CLI) finds it.
        let state = try String(contentsOfFile: stack.root + "/state/governor.state", encoding: .utf8)
        #expect(state.contains("change group \"backtest.service\" \"batch.slice/backtest.service\" \"cpu.max\" \"20000 100000\" \"max 100000\""))

        let status = try decodeStatus(try run(["emergency", "status", "--json", "--config", stack.config]).stdout)
        #expect(status.source == "daemon")
        #expect(status.mode == "manual")
        #expect(status.automaticEnabled == false)
        #expect(status.changes.map(\.target) == ["backtest.service", "backtest.service"])

        // While the daemon holds the state directory, the CLI never acts on its own.
        let off = try run(["emergency", "off", "--config", stack.config])
        #expect(off.status == .exited(code: 0), "\(off.stderr)")
        #expect(off.stdout.contains("emergency off: 2 value(s) restored"), "\(off.stdout)")
        #expect(stack.file("batch.slice/backtest.service", "cpu.max") == "max 100000")

        _ = try run(["emergency", "on", "--config", stack.config])
        #expect(stack.file("batch.slice", "cpu.max") == "50000 100000")
        daemon.send(SIGTERM)
        #expect(daemon.exitStatus(within: 30) == .exited(code: 0))
        let log = daemon.standardError()
        #expect(log.contains("governor: tier normal (from critical; Warden shutting down)"), "\(log)")
        #expect(stack.file("batch.slice", "cpu.max") == "max 100000")
    }
}
