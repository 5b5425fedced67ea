import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// `warden duplicates` on a host with no Warden configuration: two copies of the same
/// command are found, `--kill` stops only what `--command` names, and without it nothing
/// is signalled.
@Suite(
    .enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"),
    .enabled(
        if: access("/etc/warden", F_OK) != 0 && access(WardenSettings.defaultUnitDirectory, F_OK) != 0,
        "this host has a Warden configuration, so warden duplicates uses it"))
struct DuplicatesWithoutConfigurationTests {
    @Test func twoCopiesAreFoundAndOnlyTheNamedOnesStopped() throws {
        let seconds = OperatorFixture.uniqueSeconds()
        let older = try OperatorFixture.sleep(seconds)
        usleep(20_000)
        let newer = try OperatorFixture.sleep(seconds)
        defer { [older, newer].forEach(TestProcess.kill) }

        let listed = try runWarden(["duplicates", "--json", "--command", "sleep \(seconds)"])
        #expect(listed.status == .exited(code: 1), "\(listed.stderr)")
        #expect(listed.stdout.contains("\"pid\" : \(newer.pid)"), "\(listed.stdout)")
        #expect(!listed.stdout.contains("\"pid\" : \(older.pid)"), "the oldest copy is the original: \(listed.stdout)")

        let refused = try runWarden(["duplicates", "--kill"])
        #expect(refused.status == .exited(code: 64))
        #expect(refused.stderr.contains("--kill needs --command GLOB"), "\(refused.stderr)")
        #expect(OperatorFixture.isRunning(older.pid) && OperatorFixture.isRunning(newer.pid))

        let stopped = try runWarden(["duplicates", "--kill", "--timeout", "2", "--command", "sleep \(seconds)"])
        #expect(stopped.status == .exited(code: 0), "\(stopped.stdout) \(stopped.stderr)")
        #expect(stopped.stdout.contains("terminated"), "\(stopped.stdout)")
        #expect(OperatorFixture.isRunning(older.pid), "the original is kept")
    }
}
