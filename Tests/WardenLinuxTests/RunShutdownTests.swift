import Foundation
import Testing
import WardenCore
@testable import WardenLinux

/// `warden run` as the operator starts it, stopped by SIGTERM: every process of a
/// component gets the stop signal, the one a shell left in the background included.
@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct RunShutdownTests {
    /// Without cgroups the tree is found by walking /proc, after the main process got its
    /// signal: the child, reparented to Warden in the middle of the walk when the main
    /// process exits, must still be found. (Read in the wrong order, Warden's children
    /// before the main process's, it was lost one run in four and ran until the shutdown
    /// budget was spent.) Twenty rounds.
    @Test func aBackgroundChildStopsWithItsParent() throws {
        for round in 0..<20 {
            let background = "71\(getpid() % 1000)\(round + 10)"
            let foreground = "72\(getpid() % 1000)\(round + 10)"
            let directory = try runStack(
                "stop", service: "ExecStart=/bin/sh -c \"/bin/sleep \(background) & exec /bin/sleep \(foreground)\"",
                warden: "ShutdownBudgetSec=20s\n")
            defer { try? FileManager.default.removeItem(atPath: directory) }
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

extension RunShutdownTests {
    /// No signal from outside ends a supervising Warden: each is taken and logged, the
    /// component runs on, and TERM still stops everything cleanly.
    @Test func strayedSignalsAreTakenNotFatal() throws {
        let marker = "75\(getpid() % 1000)11"
        let directory = try runStack("sig", service: "ExecStart=/bin/sleep \(marker)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let warden = try DemoProcess(["run", "--config", directory + "/warden.conf"], binary: DemoBinary.wardenPath)
        #expect(eventually(within: 20) { !CgroupKernelTests.processesRunning(argument: marker).isEmpty })
        let component = CgroupKernelTests.processesRunning(argument: marker)
        let signals = [SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGQUIT, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO, SIGPWR, SIGWINCH, SIGRTMIN_VALUE + 3]
        for signal in signals {
            warden.send(signal)
            usleep(20_000)
        }
        usleep(300_000)
        #expect(warden.exitStatus(within: 0.2) == nil, "a signal ended Warden")
        #expect(CgroupKernelTests.processesRunning(argument: marker) == component, "the component did not run on")
        warden.send(SIGTERM)
        let status = warden.exitStatus(within: 15)
        let log = warden.standardError()
        #expect(status == .exited(code: 0), "\(log)")
        #expect(log.contains("SIGUSR1 from pid \(getpid()) ignored"), "\(log)")
        #expect(!log.contains("SIGPIPE from"), "SIGPIPE is ignored outright")
        #expect(CgroupKernelTests.processesRunning(argument: marker).isEmpty)
    }

    /// PID 1 of a PID namespace whose /proc is the host's (`unshare --pid --fork` without
    /// `--mount-proc`): every pid read in /proc names another process, so Warden finds a
    /// component's processes by process group, says so, and still stops in moments, on
    /// TERM and, as PID 1, on systemd's halt signal (what `podman stop` sends a container
    /// in systemd mode).
    @Test(arguments: [SIGTERM, SIGRTMIN_VALUE + 3])
    func pid1WithAForeignProcStillStops(signal: Int32) throws {
        guard getuid() == 0, access("/usr/bin/unshare", X_OK) == 0, let warden = DemoBinary.wardenPath else {
            print("skipped: needs root and /usr/bin/unshare")
            return
        }
        // Both cases may run at once: their markers and directories differ by the signal.
        let background = "73\(getpid() % 1000)\(signal)1"
        let foreground = "74\(getpid() % 1000)\(signal)1"
        let directory = try runStack(
            "pid1-\(signal)", service: "ExecStart=/bin/sh -c \"/bin/sleep \(background) & exec /bin/sleep \(foreground)\"",
            warden: "ShutdownBudgetSec=20s\n")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unshare = try DemoProcess(
            ["--pid", "--fork", warden, "run", "--config", directory + "/warden.conf"], binary: "/usr/bin/unshare")
        let started = eventually(within: 20) {
            !CgroupKernelTests.processesRunning(argument: background).isEmpty
                && !CgroupKernelTests.processesRunning(argument: foreground).isEmpty
        }
        #expect(started)
        // Warden is unshare's only child (host pid); the signal goes to it, as a runtime's would.
        let children = (try? LocalFileSystem().readFile("/proc/\(unshare.pid)/task/\(unshare.pid)/children")) ?? ""
        let wardenPID = try #require(Int32(children.split(separator: " ").first ?? ""))
        let sent = monotonicSeconds()
        kill(wardenPID, signal)
        let status = unshare.exitStatus(within: 15)
        let took = monotonicSeconds() - sent
        if status == nil { kill(wardenPID, SIGKILL) }
        let log = unshare.standardError()
        #expect(status == .exited(code: 0), "\(log)")
        #expect(took < 5, "the stop took \(took) s")
        #expect(log.contains("/proc does not show this PID namespace"))
        #expect(log.contains(": shutting down"), "\(log)")
        #expect(CgroupKernelTests.processesRunning(argument: background).isEmpty)
        for pid in CgroupKernelTests.processesRunning(argument: background) + CgroupKernelTests.processesRunning(argument: foreground) {
            kill(pid, SIGKILL)
        }
    }
}

extension RunShutdownTests {
    /// `warden run -- CMD`: the stack starts around CMD, SIGUSR1 is passed on to it, and
    /// when it ends everything stops and Warden exits with its status.
    @Test func theMainProgramsStatusIsWardens() throws {
        let marker = "76\(getpid() % 1000)11"
        let directory = try runStack("main", service: "ExecStart=/bin/sleep \(marker)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ready = directory + "/main-ready"
        let warden = try DemoProcess(
            ["run", "--config", directory + "/warden.conf", "--", "/bin/sh", "-c",
             "trap 'exit 42' USR1; touch \(ready); while :; do sleep 0.05; done"],
            binary: DemoBinary.wardenPath)
        #expect(eventually(within: 20) { access(ready, F_OK) == 0 && !CgroupKernelTests.processesRunning(argument: marker).isEmpty })
        warden.send(SIGUSR1)
        let status = warden.exitStatus(within: 15)
        if status == nil { warden.send(SIGKILL) }
        let log = warden.standardError()
        #expect(status == .exited(code: 42), "\(log)")
        #expect(log.contains("passed on to the main program"), "\(log)")
        #expect(log.contains("the main program ended (exited with status 42)"), "\(log)")
        #expect(CgroupKernelTests.processesRunning(argument: marker).isEmpty, "the stack around it was not stopped")
    }
}

private let SIGRTMIN_VALUE = Int32(__libc_current_sigrtmin())

/// A temporary directory with `units/a.service` holding `service` (the `[Service]` lines)
/// and a `warden.conf` naming it, with `warden` lines added; removed by the caller.
extension RunShutdownTests {
    /// SIGTERM to `warden run`: the main process gets its stop signal once, whether it
    /// went out ahead of the shutdown's plan (the stack had settled) or from the plan.
    /// The program counts every SIGTERM for half a second after the first.
    @Test func theMainProcessGetsSIGTERMOnce() throws {
        let counter = DocumentationTests.repositoryRoot + "/Tests/fixtures/count-sigterm.py"
        let directory = try runStack("once", service: "ExecStart=/usr/bin/python3 \(counter) DIR/terms")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unit = directory + "/units/a.service"
        try String(contentsOfFile: unit, encoding: .utf8).replacingOccurrences(of: "DIR", with: directory)
            .write(toFile: unit, atomically: true, encoding: .utf8)
        let warden = try DemoProcess(["run", "--config", directory + "/warden.conf"], binary: DemoBinary.wardenPath)
        #expect(eventually(within: 20) { FileManager.default.fileExists(atPath: directory + "/terms.ready") })
        usleep(200_000)  // the stack settles; the first stop signals are prepared
        warden.send(SIGTERM)
        let status = warden.exitStatus(within: 15)
        if status == nil { warden.send(SIGKILL) }
        #expect(status == .exited(code: 0), "\(warden.standardError())")
        #expect((try? String(contentsOfFile: directory + "/terms", encoding: .utf8)) == "term\n")
    }
}

func runStack(_ prefix: String, service: String, warden: String = "") throws -> String {
    var template = Array("/tmp/warden-\(prefix)-XXXXXX".utf8CString)
    let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    try FileManager.default.createDirectory(atPath: directory + "/units", withIntermediateDirectories: true)
    try "[Service]\n\(service)\n".write(toFile: directory + "/units/a.service", atomically: true, encoding: .utf8)
    try "[Warden]\nUnitDirectories=\(directory)/units\nStateDirectory=\(directory)/state\nLogTarget=stderr\n\(warden)"
        .write(toFile: directory + "/warden.conf", atomically: true, encoding: .utf8)
    return directory
}

private func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
