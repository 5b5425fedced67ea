import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// What `warden emergency on` without a daemon will not throttle the slice of: the
/// recorded main process of a `Priority=critical` component that still runs, by its
/// cgroup; a normal component's, a dead one's and a recycled PID's are not.
@Suite struct ProtectedProcessScanTests {
    static func configuration(_ root: String) throws -> Configuration {
        try FileManager.default.createDirectory(atPath: root + "/units", withIntermediateDirectories: true)
        try "[Service]\nExecStart=/bin/sleep 600\n[X-Warden]\nPriority=critical\n"
            .write(toFile: root + "/units/feed.service", atomically: true, encoding: .utf8)
        try "[Service]\nExecStart=/bin/sleep 600\n".write(toFile: root + "/units/report.service", atomically: true, encoding: .utf8)
        let loaded = ConfigurationLoader(
            fileSystem: LocalFileSystem(), specifiers: SpecifierContext(hostname: "test"), host: nil,
            executableSearchPath: ["/bin", "/usr/bin"]
        ).load(configPath: nil, unitDirectories: [root + "/units"])
        return try #require(loaded.configuration, "\(loaded.diagnostics)")
    }

    @Test func aRunningCriticalComponentIsProtectedByItsCgroup() throws {
        let root = NotifyClient.temporaryDirectory()
        let configuration = try Self.configuration(root)
        let critical = try OperatorFixture.sleep(OperatorFixture.uniqueSeconds())
        let normal = try OperatorFixture.sleep(OperatorFixture.uniqueSeconds())
        defer { [critical, normal].forEach(TestProcess.kill) }
        let started = try #require(ProcessControl.startTime(of: critical.pid))
        let normalStarted = try #require(ProcessControl.startTime(of: normal.pid))
        try ComponentRecordStore(stateDirectory: root).save([
            ComponentRecord(unit: "feed.service", process: ProcessIdentity(pid: critical.pid, startTimeTicks: started), cgroup: nil, invocationID: "a"),
            ComponentRecord(
                unit: "report.service", process: ProcessIdentity(pid: normal.pid, startTimeTicks: normalStarted), cgroup: nil,
                invocationID: "b"),
        ])
        let found = ProtectedProcessScan.scan(configuration: configuration, stateDirectory: root)
            .filter { !$0.what.hasPrefix("the Warden daemon") }
        let cgroup = ProcScanner().process(critical.pid, [.cgroup])?.cgroup
        #expect(found == [ProtectedProcess(cgroup: cgroup ?? "", what: "feed.service (Priority=critical, PID \(critical.pid))")])

        // The same PID with another start time is another process: not protected.
        try ComponentRecordStore(stateDirectory: root).save([
            ComponentRecord(
                unit: "feed.service", process: ProcessIdentity(pid: critical.pid, startTimeTicks: started + 1), cgroup: nil,
                invocationID: "a")
        ])
        #expect(
            ProtectedProcessScan.scan(configuration: configuration, stateDirectory: root).filter { !$0.what.hasPrefix("the Warden daemon") }
                .isEmpty)
    }
}
