import Glibc
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

/// What a Debian unit expects of its manager beyond its own process: its directories,
/// its other names, and masked units left alone.
@Suite("Unit directories, aliases and masked units")
struct SupervisorUnitGraphTests {
    static let peer = ControlPeer(pid: getpid(), userID: 0, groupIDs: [0])

    func request(_ harness: Harness, _ operation: ControlOperation, _ unit: String) -> ControlResponse {
        let supervisor = harness.supervisor
        return supervisor.loop.executeAndWait { () -> ControlResponse in
            guard let c = supervisor.lookUp(unit, includingRetired: false) else { return supervisor.unknown(unit, nil) }
            return supervisor.operatorRequest(operation, for: c, id: 1, peer: Self.peer)
        }
    }

    func temporaryRoot() -> String {
        var template = Array("/tmp/warden-dirs-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    func mode(_ path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return nil }
        return UInt32(info.st_mode & 0o7777)
    }

    @Test("RuntimeDirectory= and StateDirectory= exist before ExecStartPre=, with their modes and variables; an alias stops the unit, and the runtime directory goes")
    func directoriesAndAlias() throws {
        let root = temporaryRoot()
        defer { try? FileIO.removeTree(root) }
        let bases = ExecDirectoryBases.below(root)
        let workspace = Workspace()
        let log = workspace.path("seen")
        defer { unlink(log) }
        workspace.unit("redis-server.service", """
            [Service]
            RuntimeDirectory=redis
            RuntimeDirectoryMode=0750
            StateDirectory=redis/db
            ExecStartPre=/bin/sh -c 'test -d "$RUNTIME_DIRECTORY" && test -d "$STATE_DIRECTORY" && echo "$RUNTIME_DIRECTORY $STATE_DIRECTORY" >> \(log)'
            ExecStart=/bin/sleep 60
            [Install]
            Alias=redis.service
            WantedBy=multi-user.target
            """)
        let harness = try Harness(workspace, execDirectoryBases: bases)
        _ = harness.wait("redis-server.service") { $0.isReady }
        #expect(readText(log) == "\(root)/run/redis \(root)/var/lib/redis/db\n")
        #expect(mode(root + "/run/redis") == 0o750)
        #expect(mode(root + "/var/lib/redis") == 0o755)
        #expect(mode(root + "/var/lib/redis/db") == 0o755)

        let stop = request(harness, .stop, "redis")
        #expect(stop.error == nil, "\(String(describing: stop.error))")
        _ = harness.wait("redis-server.service") { $0.activeState == "inactive" }
        #expect(eventually { mode(root + "/run/redis") == nil })
        #expect(mode(root + "/var/lib/redis/db") == 0o755)
        #expect(harness.shutdown() == 0)
    }

    @Test("a directory that cannot be made fails the start and names the path")
    func directoryInTheWay() throws {
        let root = temporaryRoot()
        defer { try? FileIO.removeTree(root) }
        mkdir(root + "/run", 0o755)
        writeText(root + "/run/blocked", "a file, not a directory\n")
        let workspace = Workspace()
        workspace.unit("blocked.service", "[Service]\nRuntimeDirectory=blocked\nExecStart=/bin/sleep 60\n")
        let harness = try Harness(workspace, execDirectoryBases: .below(root))
        _ = harness.wait("blocked.service") { $0.activeState == "failed" }
        #expect(harness.capture.firstIndex("mkdir \(root)/run/blocked", "Not a directory") != nil, "\(harness.capture.lines)")
        harness.shutdown()
    }

    @Test("a masked unit is listed as masked and never started; what requires it is not started, what wants it is")
    func maskedUnits() throws {
        let workspace = Workspace()
        symlink("/dev/null", workspace.units + "/db.service")
        workspace.unit("app.service", "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/sleep 60\n")
        workspace.unit("side.service", "[Unit]\nWants=db.service\n[Service]\nExecStart=/bin/sleep 60\n")
        let harness = try Harness(workspace)
        _ = harness.wait("side.service") { $0.isReady }
        #expect(
            eventually { harness.capture.firstIndex("[app]", "requires db.service, which is masked") != nil },
            "\(harness.capture.lines.joined(separator: "\n"))")
        let supervisor = harness.supervisor
        let snapshots = supervisor.loop.executeAndWait { supervisor.maskedSnapshots() }
        #expect(snapshots.map(\.name) == ["db.service"])
        #expect(snapshots.first?.loadState == "masked")
        let app = harness.supervisor.controlSnapshots().first { $0.name == "app.service" }
        #expect(app?.dependencyFailure == "db.service")
        #expect(app?.activeState == "inactive")
        let table = StatusTable.render(harness.supervisor.controlSnapshots() + snapshots)
        #expect(table.contains("(requires db.service, which is masked)"), "\(table)")
        #expect(table.split(separator: "\n").contains { $0.hasPrefix("db.service") && $0.contains("masked") })
        harness.shutdown()
    }
}
