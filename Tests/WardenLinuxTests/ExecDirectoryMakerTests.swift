import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// Real directories under a temporary root, never under /run.
@Suite struct ExecDirectoryMakerTests {
    func temporaryRoot() -> String {
        var template = Array("/tmp/warden-mk-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    func info(_ path: String) -> stat? {
        var s = stat()
        return lstat(path, &s) == 0 ? s : nil
    }

    func plan(_ root: String, _ settings: [(ExecDirectoryKind, String)], modes: [ExecDirectoryKind: UInt32] = [:]) -> ExecDirectoryPlan {
        var directories = ExecDirectories()
        for (kind, word) in settings {
            directories.entries[kind, default: []].append(try! ExecDirectoryPlan.parseEntry(word, kind: kind).get())
        }
        directories.modes = modes
        return ExecDirectoryPlan(directories, bases: .below(root))
    }

    @Test func makesParentsModesOwnersAndLinksThenRemovesTheRuntimeOnes() throws {
        let root = temporaryRoot()
        defer { try? FileIO.removeTree(root) }
        let p = plan(root, [(.runtime, "foo/bar"), (.runtime, "baz:alias"), (.state, "app"), (.configuration, "app")],
            modes: [.runtime: 0o700, .state: 0o2750])
        try ExecDirectoryMaker.make(p, userID: 65534, groupID: 65534)

        let parent = try #require(info(root + "/run/foo"))
        #expect(parent.st_mode & 0o7777 == 0o755 && parent.st_uid == 0)
        let bar = try #require(info(root + "/run/foo/bar"))
        #expect(bar.st_mode & 0o7777 == 0o700 && bar.st_uid == 65534 && bar.st_gid == 65534)
        let state = try #require(info(root + "/var/lib/app"))
        #expect(state.st_mode & 0o7777 == 0o2750 && state.st_uid == 65534)
        let configuration = try #require(info(root + "/etc/app"))
        #expect(configuration.st_uid == 0, "ConfigurationDirectory= stays root's")
        let link = try #require(info(root + "/run/alias"))
        #expect(link.st_mode & S_IFMT == S_IFLNK)

        // Made again over what exists: no error, modes applied again.
        chmod(root + "/run/foo/bar", 0o755)
        try ExecDirectoryMaker.make(p, userID: 65534, groupID: 65534)
        #expect(info(root + "/run/foo/bar").map { $0.st_mode & 0o7777 } == 0o700)

        writeFile(root + "/run/baz/socket")
        #expect(ExecDirectoryMaker.removeRuntime(p).isEmpty)
        #expect(info(root + "/run/foo/bar") == nil && info(root + "/run/baz") == nil && info(root + "/run/alias") == nil)
        #expect(info(root + "/run/foo") != nil, "parents stay")
        #expect(info(root + "/var/lib/app") != nil)
    }

    /// An existing directory owned by someone else is given to the service, with what is in it.
    @Test func ownershipIsChangedRecursivelyWhenItDiffers() throws {
        let root = temporaryRoot()
        defer { try? FileIO.removeTree(root) }
        let p = plan(root, [(.state, "db")])
        try ExecDirectoryMaker.make(p, userID: nil, groupID: nil)
        writeFile(root + "/var/lib/db/data")
        try ExecDirectoryMaker.make(p, userID: 65534, groupID: 65534)
        #expect(info(root + "/var/lib/db/data")?.st_uid == 65534)
    }

    @Test func failuresNameThePathAndTheErrno() throws {
        let root = temporaryRoot()
        defer { try? FileIO.removeTree(root) }
        mkdir(root + "/run", 0o755)
        writeFile(root + "/run/taken")
        do {
            try ExecDirectoryMaker.make(plan(root, [(.runtime, "taken")]), userID: nil, groupID: nil)
            Issue.record("expected a failure")
        } catch {
            #expect(error.description == "mkdir \(root)/run/taken: Not a directory (errno \(ENOTDIR))")
        }
    }

    @Test func symbolicLinksAreReadByTheFileSystem() throws {
        let root = temporaryRoot()
        defer { try? FileIO.removeTree(root) }
        #expect(symlink("systemd-udevd.service", root + "/udev.service") == 0)
        writeFile(root + "/systemd-udevd.service")
        #expect(LocalFileSystem().symbolicLinkTarget(root + "/udev.service") == "systemd-udevd.service")
        #expect(LocalFileSystem().symbolicLinkTarget(root + "/systemd-udevd.service") == nil)
    }

    func writeFile(_ path: String) {
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        close(fd)
    }
}
