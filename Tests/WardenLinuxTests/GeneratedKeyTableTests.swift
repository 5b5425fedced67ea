import Foundation
import Testing

/// `SystemdKeyTable.swift` is what `scripts/gen-systemd-keys` reads from systemd 252's
/// libsystemd-core, where that library and binutils are installed.
@Suite(.enabled(if: KeyTableGenerator.canRun, "needs libsystemd-core-252.so, python3, readelf and objdump"))
struct GeneratedKeyTableTests {
    @Test func committedTableMatchesTheLibrary() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", DocumentationTests.repositoryRoot + "/scripts/gen-systemd-keys", "--check"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(message)")
    }
}

/// What `scripts/gen-systemd-keys` needs.
enum KeyTableGenerator {
    static let library = "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-core-252.so"

    static var canRun: Bool {
        let tools = ["python3", "readelf", "objdump"].allSatisfy { tool in
            (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
                FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
            }
        }
        return tools && FileManager.default.fileExists(atPath: library)
    }
}
