import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// `warden duplicates` on a host with no Warden configuration: two copies of the same
/// command are one group (a third sleep with other arguments is none of it), `--kill`
/// stops only what `--command` names and only once confirmed, keeping the oldest.
@Suite(
    .enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"),
    .enabled(
        if: access("/etc/warden", F_OK) != 0 && access(WardenSettings.defaultUnitDirectory, F_OK) != 0,
        "this host has a Warden configuration, so warden duplicates uses it"))
struct DuplicatesWithoutConfigurationTests {
    /// No daemon answers here, whatever else runs on the host.
    static let noDaemon = ["--socket", "/nonexistent/warden-test/control.sock"]

    /// The groups of a `--json` answer that hold one of `pids`: kept PID → duplicate PIDs.
    static func groups(_ json: String, holding pids: Set<Int32>) throws -> [Int32: [Int32]] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let components = try #require(object["components"] as? [[String: Any]])
        let duplicates = try #require(object["duplicates"] as? [[String: Any]])
        var result: [Int32: [Int32]] = [:]
        for component in components {
            let name = try #require(component["name"] as? String)
            let kept = Int32(try #require((component["supervisedPIDs"] as? [Int])?.first))
            let copies = duplicates.filter { $0["component"] as? String == name }.compactMap { ($0["pid"] as? Int).map(Int32.init) }
            if pids.contains(kept) || copies.contains(where: pids.contains) { result[kept] = copies }
        }
        return result
    }

    @Test func twoCopiesAreOneGroupAndOnlyTheNamedConfirmedOnesStopped() throws {
        let seconds = OperatorFixture.uniqueSeconds()
        let older = try OperatorFixture.sleep(seconds)
        usleep(20_000)
        let newer = try OperatorFixture.sleep(seconds)
        let other = try OperatorFixture.sleep(seconds + "1")
        defer { [older, newer, other].forEach(TestProcess.kill) }
        let ours: Set<Int32> = [older.pid, newer.pid, other.pid]

        let listed = try runWarden(["duplicates", "--json"] + Self.noDaemon)
        #expect(listed.status == .exited(code: 1), "\(listed.stderr)")
        #expect(try Self.groups(listed.stdout, holding: ours) == [older.pid: [newer.pid]], "\(listed.stdout)")

        // diagnose lists the same group (its exit status is the host's load, not ours).
        let diagnosed = try runWarden(["diagnose", "--json"] + Self.noDaemon)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(diagnosed.stdout.utf8)) as? [String: Any])
        #expect(report["sameCommandGroups"] as? Bool == true, "\(diagnosed.stdout)")
        let groups = try #require(report["components"] as? [[String: Any]]).filter { group in
            let pids = ((group["supervisedPIDs"] as? [Int]) ?? []) + ((group["duplicates"] as? [[String: Any]]) ?? []).compactMap { $0["pid"] as? Int }
            return pids.contains { ours.contains(Int32($0)) }
        }
        #expect(groups.count == 1 && groups.first?["supervisedPIDs"] as? [Int] == [Int(older.pid)], "\(diagnosed.stdout)")

        let refused = try runWarden(["duplicates", "--kill"] + Self.noDaemon)
        #expect(refused.status == .exited(code: 64))
        #expect(refused.stderr.contains("--kill needs --command GLOB"), "\(refused.stderr)")

        // No terminal to confirm on, no --yes: refused before any signal.
        let unconfirmed = try runWarden(["duplicates", "--kill", "--command", "sleep \(seconds)"] + Self.noDaemon)
        #expect(unconfirmed.status == .exited(code: 64), "\(unconfirmed.stdout) \(unconfirmed.stderr)")
        #expect(unconfirmed.stderr.contains("add --yes"), "\(unconfirmed.stderr)")
        #expect(OperatorFixture.isRunning(older.pid) && OperatorFixture.isRunning(newer.pid))

        let stopped = try runWarden(
            ["duplicates", "--kill", "--yes", "--timeout", "2", "--command", "sleep \(seconds)"] + Self.noDaemon)
        #expect(stopped.status == .exited(code: 0), "\(stopped.stdout) \(stopped.stderr)")
        #expect(stopped.stdout.contains("terminated"), "\(stopped.stdout)")
        #expect(OperatorFixture.isRunning(older.pid), "the original is kept")
        #expect(OperatorFixture.isRunning(other.pid), "a sleep with other arguments is no copy")
        #expect(!OperatorFixture.isRunning(newer.pid))
    }
}
