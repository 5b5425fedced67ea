import Foundation
import Glibc
import Logging
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

// CgroupBackend=systemd against a real systemd 252 as PID 1: only in the test-bed guest
// booted with `--init systemd` (Tests/kernel/systemd-suite/run.sh runs every suite whose
// name starts with SystemdGuest). The end-to-end checks with `warden run` are in
// Tests/kernel/systemd-suite/scope-backend.sh.

private let inSystemdGuest = getenv("WARDEN_TESTBED_INIT").map { String(cString: $0) } == "systemd"
    && getenv("WARDEN_TESTBED_GUEST").map { String(cString: $0) } == "1"

@Suite(.serialized, .enabled(if: inSystemdGuest, "needs systemd as PID 1: run in the test bed with --init systemd (Tests/kernel/systemd-suite/run.sh)"))
struct SystemdGuestScopeTests {
    let logger = Logger(label: "test")

    /// One component (and its slices) loaded from unit file text.
    static func configuration(_ files: [String: String]) throws -> Configuration {
        let fs = InMemoryFileSystem(
            files: Dictionary(uniqueKeysWithValues: files.map { ("/u/" + $0.key, $0.value) }),
            executables: ["/bin/sh", "/bin/sleep", "/bin/true"])
        let loader = ConfigurationLoader(
            fileSystem: fs, specifiers: SpecifierContext(hostname: "guest"), host: nil, executableSearchPath: ["/bin"])
        let result = loader.load(configPath: nil, unitDirectories: ["/u"])
        return try #require(result.configuration, "\(result.diagnostics)")
    }

    static func marker(_ tag: String) -> String { "/run/warden-scope-test-\(getpid())-\(tag)" }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Reaps a child of the test (its raw wait status), closing its pidfd.
    @discardableResult
    static func waitForExit(_ process: SpawnedProcess) -> Int32? {
        defer { close(process.pidfd) }
        var status: Int32 = 0
        while true {
            let result = waitpid(process.pid, &status, 0)
            if result == process.pid { return status }
            if result < 0 && errno == EINTR { continue }
            return nil
        }
    }

    @Test func gatedProcessIsPlacedThenRunsAndTheScopeGoesWithIt() throws {
        let marker = Self.marker("placed")
        unlink(marker)
        defer { unlink(marker) }
        let configuration = try Self.configuration([
            "wsgt.slice": "[Slice]\nCPUWeight=77\n",
            "gt.service": "[Service]\nExecStart=/bin/sleep 1\nSlice=wsgt.slice\nMemoryMax=96M\n",
        ])
        let service = try #require(configuration.services.first)
        let backend = SystemdScopeBackend(bus: try SystemdBus(), host: nil)
        let first = try spawnGatedProcess(
            SpawnRequest(executablePath: "/bin/sh", arguments: ["sh", "-c", "cat /proc/self/cgroup > \(marker); exec sleep 30"]))
        #expect(try backend.place(first, service: service, configuration: configuration, logger: logger))
        #expect(!Self.exists(marker), "the program ran before the gate opened")
        #expect(backend.cgroupPath(of: first.pid) == "/wsgt.slice/warden-gt.scope")
        let main = try first.open()
        // A second process of the same run joins the scope (AttachProcessesToUnit).
        let second = try spawnGatedProcess(SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"]))
        #expect(try !backend.place(second, service: service, configuration: configuration, logger: logger))
        let control = try second.open()
        let run = TrackedRun(unit: "gt.service", invocationID: "x", rootPIDs: [main.pid, control.pid])
        // The shell's `cat` may still be there for a moment.
        for _ in 0..<500 where backend.liveProcesses(of: run).count > 2 { usleep(10_000) }
        #expect(backend.liveProcesses(of: run) == [main.pid, control.pid].sorted())
        #expect(try ScopeGuestShell.show("warden-gt.scope", "MemoryMax") == "100663296")
        #expect(try ScopeGuestShell.show("wsgt.slice", "CPUWeight") == "77")
        for _ in 0..<200 where !Self.exists(marker) { usleep(10_000) }
        #expect(try ScopeGuestShell.read(marker) == "0::/wsgt.slice/warden-gt.scope\n")

        #expect(backend.signalAll(SIGKILL, of: run, sparing: []) == 2)
        Self.waitForExit(main)
        Self.waitForExit(control)
        backend.componentStopped("gt.service", keepsProcesses: false, logger: logger)
        #expect(backend.liveProcesses(of: run).isEmpty)
        #expect(backend.releaseAll(logger: logger).isEmpty)
        #expect(try backend.bus.loadedUnitPath("warden-gt.scope") == nil)
        #expect(try backend.bus.loadedUnitPath("wsgt.slice") == nil)
    }

    /// A value systemd refuses: the spawn fails naming the scope and the property, and
    /// the gated child is killed before it ran anything.
    @Test func refusedPropertyFailsThePlacementAndKillsTheChild() throws {
        let marker = Self.marker("refused")
        unlink(marker)
        defer { unlink(marker) }
        let configuration = try Self.configuration(["bad.service": "[Service]\nExecStart=/bin/sleep 1\n"])
        var service = try #require(configuration.services.first)
        service.resources.cpuQuota = CPUQuota(perSecondUSec: 0)
        let backend = SystemdScopeBackend(bus: try SystemdBus(), host: nil)
        let gated = try spawnGatedProcess(
            SpawnRequest(executablePath: "/bin/sh", arguments: ["sh", "-c", "touch \(marker)"]))
        #expect {
            try backend.place(gated, service: service, configuration: configuration, logger: logger)
        } throws: { error in
            let error = error as? ScopePlacementError
            return error?.scope == "warden-bad.scope" && error?.pid == gated.pid
                && error?.reason.contains("StartTransientUnit warden-bad.scope CPUQuotaPerSecUSec=0: ") == true
        }
        usleep(100_000)
        #expect(!Self.exists(marker))
        #expect(kill(gated.pid, 0) != 0, "the gated child is gone")
        #expect(try backend.bus.loadedUnitPath("warden-bad.scope") == nil)
    }

    /// Twenty runs of `/bin/true`, each in a new scope of the same name (the previous one
    /// must be gone first): every run is placed, and the cost is printed, not asserted.
    @Test func repeatedRunsGetANewScopeEachAndTheCostIsPrinted() throws {
        let configuration = try Self.configuration(["rep.service": "[Service]\nExecStart=/bin/true\n"])
        let service = try #require(configuration.services.first)
        let backend = SystemdScopeBackend(bus: try SystemdBus(), host: nil)
        var placeUSec: [UInt64] = []
        var totalUSec: [UInt64] = []
        for _ in 0..<20 {
            let start = SystemdNotifier.monotonicNowUSec()
            let gated = try spawnGatedProcess(SpawnRequest(executablePath: "/bin/true"))
            #expect(try backend.place(gated, service: service, configuration: configuration, logger: logger))
            placeUSec.append(SystemdNotifier.monotonicNowUSec() - start)
            let process = try gated.open()
            Self.waitForExit(process)
            backend.componentStopped("rep.service", keepsProcesses: false, logger: logger)
            totalUSec.append(SystemdNotifier.monotonicNowUSec() - start)
        }
        #expect(try backend.bus.loadedUnitPath("warden-rep.scope") == nil)
        func median(_ values: [UInt64]) -> String { String(format: "%.2f ms", Double(values.sorted()[values.count / 2]) / 1000) }
        print("scope placement (spawn gated + StartTransientUnit + moved), median of 20: \(median(placeUSec)); "
            + "whole run incl. exec, exit and scope release: \(median(totalUSec))")
    }

    @Test func attachingToANonDelegatedUnitNamesUnitAndPIDs() throws {
        let bus = try SystemdBus()
        #expect {
            try bus.attachProcesses([getpid()], to: "system.slice")
        } throws: { error in
            let error = error as? SystemdBusError
            return error?.unit == "system.slice" && error?.property == "PIDs=\(getpid())" && error?.errorName != nil
        }
    }
}

/// Shell helpers for the guest tests.
enum ScopeGuestShell {
    static func show(_ unit: String, _ property: String) throws -> String {
        var output = try run("systemctl show \(unit) -p \(property) --value")
        while output.hasSuffix("\n") { output.removeLast() }
        return output
    }

    static func read(_ path: String) throws -> String {
        try LocalFileSystem().readFile(path)
    }

    static func run(_ command: String) throws -> String {
        let pipe = try RuntimeDescriptors.outputChannel()
        var request = SpawnRequest(executablePath: "/bin/sh", arguments: ["sh", "-c", command])
        request.stdout = .fd(pipe.write)
        let process = try spawnProcess(request)
        close(pipe.write)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(pipe.read, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        close(pipe.read)
        SystemdGuestScopeTests.waitForExit(process)
        return String(decoding: bytes, as: UTF8.self)
    }
}
