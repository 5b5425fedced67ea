import Foundation
import Glibc
import Testing
import WardenCore

/// `CgroupBackend=systemd` on a machine without systemd (these build hosts): the same
/// binary says plainly that it cannot work here. Inside the systemd test bed the
/// backend is tested for real (Tests/kernel/systemd-suite/scope-backend.sh).
@Suite(
    .enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"),
    .enabled(if: access("/run/systemd/system", F_OK) != 0, "systemd runs here: the refusal is only seen without it"))
struct SystemdBackendCommandTests {
    func configuration() throws -> (directory: String, config: String) {
        var template = Array("/tmp/warden-sdbackend-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        try FileManager.default.createDirectory(atPath: directory + "/units", withIntermediateDirectories: true)
        try "[Service]\nExecStart=/bin/sleep 60\nCPUQuota=20%\n"
            .write(toFile: directory + "/units/feed.service", atomically: true, encoding: .utf8)
        let config = directory + "/warden.conf"
        try "[Warden]\nUnitDirectories=\(directory)/units\nStateDirectory=\(directory)/state\nCgroupBackend=systemd\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        return (directory, config)
    }

    @Test func runRefusesToStartAndSaysWhy() throws {
        let (directory, config) = try configuration()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try DemoProcess(["run", "--config", config], binary: DemoBinary.wardenPath)
        while process.nextLine(within: 20) != nil {}
        #expect(process.exitStatus(within: 20) == .exited(code: 78))
        let stderr = process.standardError()
        #expect(
            stderr.contains("CgroupBackend=systemd needs systemd's D-Bus API, which is not available here: systemd is not running here"),
            "\(stderr)")
        #expect(stderr.contains("use CgroupBackend=auto (the default) or delegated, or run Warden under systemd"))
        #expect(!stderr.contains("starting 1 component"), "nothing may start: \(stderr)")
    }

    @Test func checkConfigSaysTheLimitsWillNotHold() throws {
        let (directory, config) = try configuration()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try DemoProcess(["check-config", "--config", config], binary: DemoBinary.wardenPath)
        var lines: [String] = []
        while let line = process.nextLine(within: 20) { lines.append(line) }
        #expect(process.exitStatus(within: 20) == .exited(code: 0))
        let output = lines.joined(separator: "\n")
        #expect(output.contains("Not enforced on this host"), "\(output)")
        #expect(
            output.contains("every limit: CgroupBackend=systemd, and systemd's D-Bus API is not available here"),
            "\(output)")
    }
}
