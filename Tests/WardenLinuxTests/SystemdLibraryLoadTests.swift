import Foundation
import Glibc
import Testing
import WardenCore
import WardenLinux

/// libsystemd is loaded with dlopen at first use (Sources/CSystemd/systemd.c), not linked:
/// a daemon that is not under systemd (no `$NOTIFY_SOCKET`, no `$WATCHDOG_USEC`, not
/// logging to the journal) must never map it, nor what it pulls in (libgcrypt, liblz4,
/// libzstd, liblzma), nor OpenSSL's libssl without an https alert webhook. Read from the
/// running daemon's /proc/PID/maps; the control case, `LogTarget=journal`, shows that the
/// check sees the library once something needs it.
@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct SystemdLibraryLoadTests {
    /// `warden run` with one component, the governor off, in a temp directory; returns
    /// the daemon's maps once its control socket exists (start-up, the component's start
    /// and the first log lines are behind it), then stops it.
    func mapsOfRunningDaemon(logTarget: String?) throws -> String {
        var template = Array("/tmp/warden-sdload-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        for name in ["units", "state", "cg"] {
            try fm.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
        }
        try "[Service]\nExecStart=/bin/sleep 1000\n".write(
            toFile: root + "/units/feed.service", atomically: false, encoding: .utf8)
        let logLine = logTarget.map { "LogTarget=\($0)\n" } ?? ""
        try "[Warden]\nStateDirectory=\(root)/state\nUnitDirectories=\(root)/units\n\(logLine)[Governor]\nEnabled=no\n"
            .write(toFile: root + "/warden.conf", atomically: false, encoding: .utf8)

        let daemon = try DemoProcess(
            ["run", "--config", root + "/warden.conf", "--governor-cgroup-root", root + "/cg"],
            environment: ["NO_COLOR": "1"], binary: DemoBinary.wardenPath)
        defer {
            daemon.send(SIGTERM)
            _ = daemon.exitStatus(within: 30)
        }
        let deadline = monotonicSeconds() + 30
        while monotonicSeconds() < deadline && access(root + "/state/control.sock", F_OK) != 0 { usleep(50_000) }
        try #require(access(root + "/state/control.sock", F_OK) == 0, "the daemon did not start: \(daemon.standardError())")
        return try LocalFileSystem().readFile("/proc/\(daemon.pid)/maps")
    }

    @Test func daemonNotUnderSystemdNeverMapsLibsystemd() throws {
        let maps = try mapsOfRunningDaemon(logTarget: nil)
        // The maps are the daemon's own: its Swift runtime is there.
        #expect(maps.contains("libswiftCore.so"), "\(maps)")
        let systemdLines = maps.split(separator: "\n").filter { $0.contains("libsystemd") }
        #expect(systemdLines.isEmpty, "libsystemd mapped without a use for it: \(systemdLines)")
        // Nor OpenSSL, which only an https alert webhook opens (Sources/CTLS).
        let tlsLines = maps.split(separator: "\n").filter { $0.contains("libssl") || $0.contains("libcrypto") }
        #expect(tlsLines.isEmpty, "OpenSSL mapped without an https webhook: \(tlsLines)")
    }

    @Test func journalLoggingLoadsLibsystemd() throws {
        let maps = try mapsOfRunningDaemon(logTarget: "journal")
        #expect(maps.contains("libsystemd.so.0"), "LogTarget=journal sends with sd_journal_sendv: \(maps)")
    }
}
