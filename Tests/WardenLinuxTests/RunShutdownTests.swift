import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// `warden run` as the operator starts it, stopped by SIGTERM: every process of a
/// component gets the stop signal, the one a shell left in the background included.
@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct RunShutdownTests {
    /// Without cgroups the tree is found by walking /proc. Signalling the main process
    /// first let its child be reparented in the middle of the walk, unseen: it then ran
    /// until the shutdown budget was spent (one run in four here). Twenty rounds.
    @Test func aBackgroundChildStopsWithItsParent() throws {
        for round in 0..<20 {
            var template = Array("/tmp/warden-stop-XXXXXX".utf8CString)
            let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let background = "71\(getpid() % 1000)\(round + 10)"
            let foreground = "72\(getpid() % 1000)\(round + 10)"
            try FileManager.default.createDirectory(atPath: directory + "/units", withIntermediateDirectories: true)
            try "[Service]\nExecStart=/bin/sh -c \"/bin/sleep \(background) & exec /bin/sleep \(foreground)\"\n"
                .write(toFile: directory + "/units/b.service", atomically: true, encoding: .utf8)
            try "[Warden]\nUnitDirectories=\(directory)/units\nStateDirectory=\(directory)/state\nShutdownBudgetSec=20s\nLogTarget=stderr\n"
                .write(toFile: directory + "/warden.conf", atomically: true, encoding: .utf8)
            let warden = try DemoProcess(["run", "--config", directory + "/warden.conf"], binary: DemoBinary.wardenPath)
            let started = eventually(within: 20) {
                !CgroupKernelTests.processesRunning(argument: background).isEmpty
                    && !CgroupKernelTests.processesRunning(argument: foreground).isEmpty
            }
            #expect(started, "round \(round): the component did not start")
            let sent = monotonicSeconds()
            warden.send(SIGTERM)
            let status = warden.exitStatus(within: 15)
            let took = monotonicSeconds() - sent
            if status == nil { warden.send(SIGKILL) }
            #expect(status == .exited(code: 0), "round \(round): \(warden.standardError())")
            #expect(took < 5, "round \(round): the stop took \(took) s")
            let left = CgroupKernelTests.processesRunning(argument: background)
            #expect(left.isEmpty, "round \(round): the background sleep outlived the stop")
            // Only processes this test started, found by their unique arguments.
            for pid in left + CgroupKernelTests.processesRunning(argument: foreground) { kill(pid, SIGKILL) }
        }
    }
}

private func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
