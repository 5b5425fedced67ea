import Glibc
import Testing
import WardenCore
@testable import WardenLinux

@Suite struct LocalFileSystemTests {
    @Test func readsAndListsAndReportsMissing() throws {
        var template = Array("/tmp/warden-fs-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(dir)'") }
        let path = dir + "/a.service"
        let fd = open(path, O_CREAT | O_WRONLY, 0o644)
        _ = "[Unit]\n".withCString { write(fd, $0, 7) }
        close(fd)
        let fs = LocalFileSystem()
        #expect(try fs.readFile(path) == "[Unit]\n")
        #expect(fs.listDirectory(dir) == ["a.service"])
        #expect(fs.listDirectory(path) == nil)
        #expect(!fs.isExecutableFile(path))
        #expect(fs.isExecutableFile("/bin/sh"))
        #expect(throws: ConfigFileError.self) { try fs.readFile(dir + "/missing") }
    }

    /// Whatever sits in a unit directory: a FIFO neither blocks nor is read, a device is a
    /// masked unit (systemd's reading), a file over the cap is refused before it is read.
    @Test func onlyRegularFilesAreReadAndOnlyUpToTheCap() throws {
        var template = Array("/tmp/warden-fs-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(dir)'") }
        #expect(mkfifo(dir + "/fifo.service", 0o644) == 0)
        #expect(symlink("/dev/zero", dir + "/zero.service") == 0)
        #expect(symlink("/dev/null", dir + "/null.service") == 0)
        #expect(mkdir(dir + "/dir.service", 0o755) == 0)
        let big = String(repeating: "# a comment line of forty bytes or so..\n", count: 100)
        let fd = open(dir + "/big.service", O_CREAT | O_WRONLY, 0o644)
        _ = big.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let fs = LocalFileSystem(maximumBytes: 1024)
        func kind(_ name: String) -> ConfigFileError.Kind? {
            do {
                _ = try fs.readFile(dir + "/" + name)
                return nil
            } catch {
                return error.kind
            }
        }
        #expect(kind("fifo.service") == .notRegular)
        #expect(kind("zero.service") == .device)
        #expect(kind("null.service") == .device)
        #expect(kind("dir.service") == .notRegular)
        #expect(kind("big.service") == .tooLarge)
        #expect(kind("missing.service") == .unreadable)
        // /proc files say size 0 and are read to the end.
        #expect(try LocalFileSystem().readFile("/proc/self/status").contains("Pid:"))

        // The loader: the masked ones are notes, the rest skipped with a warning, none an
        // error, and nothing blocked on the FIFO.
        let loader = UnitLoader(fileSystem: LocalFileSystem(maximumBytes: 1024), specifiers: SpecifierContext(hostname: "test"))
        let (units, diagnostics, _) = loader.loadDirectory(dir)
        #expect(units.isEmpty)
        let byFile = Dictionary(diagnostics.map { ($0.location.file.split(separator: "/").last.map(String.init) ?? "", $0) }) { a, _ in a }
        #expect(byFile["zero.service"]?.severity == .note)
        #expect(byFile["null.service"]?.message.contains("masked") == true)
        #expect(byFile["fifo.service"]?.severity == .warning)
        #expect(byFile["fifo.service"]?.message.contains("FIFO") == true)
        #expect(byFile["big.service"]?.severity == .warning)
        #expect(byFile["dir.service"]?.severity == .warning)
        #expect(!diagnostics.contains { $0.severity == .error }, "\(diagnostics)")
    }
}

/// A unit directory laid out as Debian and `systemctl enable` leave it, read from disk.
@Suite struct UnitDirectoryOnDiskTests {
    @Test func linksAreAliasesInstancesDependenciesAndMasks() throws {
        var template = Array("/tmp/warden-ud-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(dir)'") }
        func put(_ name: String, _ text: String) {
            let fd = open(dir + "/" + name, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
            _ = text.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
        put("systemd-udevd.service", "[Service]\nExecStart=/bin/sleep 1\n")
        put("getty@.service", "[Service]\nExecStart=/bin/sleep %i\n")
        put("app.service", "[Unit]\nAfter=udev.service network-online.target\nRequires=x11-common.service\n[Service]\nExecStart=/bin/sleep 1\n")
        #expect(symlink("systemd-udevd.service", dir + "/udev.service") == 0)
        #expect(symlink(dir + "/systemd-udevd.service", dir + "/dbus-org.example.udev1.service") == 0)
        #expect(symlink("/dev/null", dir + "/x11-common.service") == 0)
        #expect(mkdir(dir + "/multi-user.target.wants", 0o755) == 0)
        #expect(symlink("/lib/systemd/system/getty@.service", dir + "/multi-user.target.wants/getty@tty3.service") == 0)
        #expect(symlink("../app.service", dir + "/multi-user.target.wants/app.service") == 0)

        let result = ConfigurationLoader(fileSystem: LocalFileSystem(), specifiers: SpecifierContext(hostname: "test"))
            .load(configPath: nil, unitDirectories: [dir])
        #expect(
            result.diagnostics.filter { $0.severity != .note }.map(\.message) == [
                "x11-common.service is masked: systemd fails the start of app.service for it, and so does Warden: app.service is not started"
            ], "\(result.diagnostics)")
        let configuration = try #require(result.configuration)
        #expect(configuration.services.map(\.name.description) == ["app.service", "getty@tty3.service", "systemd-udevd.service"])
        #expect(configuration.aliases == ["udev.service": "systemd-udevd.service", "dbus-org.example.udev1.service": "systemd-udevd.service"])
        #expect(configuration.masked == ["x11-common.service": dir + "/x11-common.service"])
        #expect(configuration.service(named: "app")?.after == ["systemd-udevd.service", "network-online.target"])
        let target = try #require(configuration.targets.first { $0.name.description == "multi-user.target" })
        #expect(target.wants == ["app.service", "getty@tty3.service"])
    }
}
