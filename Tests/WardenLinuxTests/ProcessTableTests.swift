import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// `ProcessTable.subtreeSnapshot`, the cheap path of the tracker on hosts without
/// cgroups, against the full `/proc` scan it stands in for.
@Suite struct ProcessTableTests {
    /// Polls until `condition` holds (a forked grandchild needs a moment to exist).
    func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test func subtreeHoldsChildAndGrandchildAsTheFullScanSeesThem() throws {
        // A shell (the child) that starts a sleep (the grandchild) and waits for it.
        let child = try spawnProcess(TestProcess.shell("sleep 30 & wait"))
        defer { TestProcess.kill(child) }
        var grandchild: ProcessEntry?
        #expect(eventually {
            grandchild = ProcessTable.snapshot().values.first { $0.parentPID == child.pid }
            return grandchild != nil
        })
        guard let grandchild else { return }
        defer { kill(grandchild.pid, SIGKILL) }

        let subtree = try #require(ProcessTable.subtreeSnapshot(of: [getpid()]))
        let full = ProcessTable.snapshot()
        #expect(subtree[getpid()] != nil)
        #expect(subtree[child.pid] == full[child.pid])
        #expect(subtree[grandchild.pid]?.parentPID == child.pid)
        #expect(subtree[grandchild.pid]?.startTime == grandchild.startTime)
        // Seeded below the child, the test process is not part of it.
        let below = try #require(ProcessTable.subtreeSnapshot(of: [child.pid]))
        #expect(Set(below.keys) == [child.pid, grandchild.pid])
    }

    @Test func goneRootsGiveAnEmptyTable() throws {
        let child = try spawnProcess(SpawnRequest(executablePath: "/bin/true"))
        #expect(TestProcess.wait(child) == .exited(code: 0))
        #expect(ProcessTable.subtreeSnapshot(of: [child.pid])?.isEmpty == true)
    }

    @Test func seededDirectoryWithoutChildrenFilesFallsBack() throws {
        let root = "/tmp/warden-proctable-\(getpid())"
        try RuntimeDescriptors.makeDirectories(root + "/77")
        defer {
            unlink(root + "/77/stat")
            rmdir(root + "/77")
            rmdir(root)
        }
        let stat = "77 (x) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0"
        let fd = open(root + "/77/stat", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = stat.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        #expect(ProcessTable.subtreeSnapshot(of: [77], procRoot: root) == nil)
        #expect(ProcessTable.snapshot(procRoot: root)[77]?.startTime == 500)
    }
}
