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
}
