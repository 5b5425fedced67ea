import Glibc
import WardenCore
@testable import WardenLinux

/// A temporary directory standing in for a cgroup tree, seeded with interface files in
/// the kernel's formats (see Tests/fixtures/cgroup). Removed on deinit.
final class SeededCgroupTree {
    let root: String

    init() {
        var template = Array("/tmp/warden-cgroup-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        root = String(cString: template)
    }

    deinit { Self.removeTree(root) }

    /// Creates `path` (relative, "" for the root) and writes `files` into it.
    func group(_ path: String, _ files: [String: String] = [:]) {
        var current = root
        for name in path.split(separator: "/") {
            current += "/" + name
            mkdir(current, 0o755)
        }
        for (name, contents) in files { write(path.isEmpty ? name : path + "/" + name, contents) }
    }

    func write(_ relativePath: String, _ contents: String) {
        let fd = open(root + "/" + relativePath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "cannot create \(relativePath)")
        _ = contents.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }

    func read(_ relativePath: String) -> String? {
        try? LocalFileSystem().readFile(root + "/" + relativePath)
    }

    func exists(_ relativePath: String) -> Bool {
        access(root + "/" + relativePath, F_OK) == 0
    }

    static func removeTree(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name == "." || name == ".." { continue }
                if entry.pointee.d_type == UInt8(DT_DIR) { removeTree(path + "/" + name) } else { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}

/// The kernel-format samples in Tests/fixtures/cgroup.
enum CgroupFixture {
    static let directory = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/")) + "/fixtures/cgroup"

    static func text(_ name: String) -> String {
        guard let text = try? LocalFileSystem().readFile(directory + "/" + name) else { fatalError("missing fixture \(name)") }
        return text
    }
}
