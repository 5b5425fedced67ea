import Glibc
import WardenCore

/// A cgroup operation that failed: what was being done, on which group and file, with
/// which value, and the errno.
public struct CgroupError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `write`, `read`, `mkdir`, `rmdir`, `open`, `statfs`, `enable controller`, `kill`.
    public var operation: String
    /// The group (or mount) path as Warden knows it, e.g. `/sys/fs/cgroup/warden/a.slice`.
    public var path: String
    /// Interface file, when the operation concerned one.
    public var file: String?
    public var value: String?
    /// 0 when the failure is not a system call's (a malformed file, a refused name).
    public var errno: Int32
    /// Extra explanation, e.g. the no-internal-processes rule behind an EBUSY.
    public var detail: String?

    public init(operation: String, path: String, file: String? = nil, value: String? = nil, errno: Int32, detail: String? = nil) {
        self.operation = operation
        self.path = path
        self.file = file
        self.value = value
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        var text = operation
        if let file { text += " \(path)/\(file)" } else { text += " \(path)" }
        if let value { text += " = '\(value)'" }
        if errno != 0 { text += ": \(errnoDescription(errno)) (errno \(errno))" }
        if let detail { text += errno != 0 ? " — \(detail)" : ": \(detail)" }
        return text
    }
}

/// An open cgroup directory. Every file is opened beneath its descriptor with `openat`,
/// never through a path string assembled from unit names. The descriptor is also the
/// one handed to `clone3(CLONE_INTO_CGROUP)`.
public final class CgroupDirectory {
    /// Descriptive path for error messages (the root's path joined with the group's).
    public let path: String
    /// `O_RDONLY | O_DIRECTORY | O_CLOEXEC`; valid until `close()` or deinit.
    public private(set) var fd: Int32

    /// Opens `path` (an absolute directory path given by the caller, not built from names).
    public init(openingPath path: String) throws(CgroupError) {
        let fd = SystemCall.retryingInterrupts { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw CgroupError(operation: "open", path: path, errno: errno) }
        self.path = path
        self.fd = fd
    }

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Opens the child group `name` (checked by `CgroupPathCheck`).
    public func child(_ name: String) throws(CgroupError) -> CgroupDirectory {
        try Self.check(name, in: path)
        let childFD = SystemCall.retryingInterrupts { openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW) }
        guard childFD >= 0 else { throw CgroupError(operation: "open", path: path + "/" + name, errno: errno) }
        return CgroupDirectory(fd: childFD, path: path + "/" + name)
    }

    /// Creates the child group `name`; an existing one is adopted (left by a previous run
    /// or pre-created by the caller), as systemd does.
    /// - Returns: true when it was created now.
    @discardableResult
    public func makeChild(_ name: String) throws(CgroupError) -> Bool {
        try Self.check(name, in: path)
        if mkdirat(fd, name, 0o755) == 0 { return true }
        let code = errno
        if code == EEXIST { return false }
        throw CgroupError(operation: "mkdir", path: path + "/" + name, errno: code)
    }

    /// Removes the child group `name` (it must have no processes and no children).
    public func removeChild(_ name: String) throws(CgroupError) {
        try Self.check(name, in: path)
        guard unlinkat(fd, name, AT_REMOVEDIR) == 0 else {
            let code = errno
            let detail = code == EBUSY ? "the group still has processes or child groups" : nil
            throw CgroupError(operation: "rmdir", path: path + "/" + name, errno: code, detail: detail)
        }
    }

    /// The names of the child groups (directories), sorted.
    public func childNames() throws(CgroupError) -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            let code = errno
            if copy >= 0 { Glibc.close(copy) }
            throw CgroupError(operation: "list", path: path, errno: code)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [String] = []
        while let entry = readdir(dir) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The whole contents of an interface file.
    public func read(_ file: String) throws(CgroupError) -> String {
        let fileFD = SystemCall.retryingInterrupts { openat(fd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        guard fileFD >= 0 else { throw CgroupError(operation: "read", path: path, file: file, errno: errno) }
        defer { Glibc.close(fileFD) }
        switch FileIO.read(descriptor: fileFD, path: path + "/" + file, limit: .max) {
        case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .failure(let error): throw CgroupError(operation: "read", path: path, file: file, errno: error.errno)
        }
    }

    /// Contents, or nil when the file does not exist (an old kernel, a controller not enabled).
    public func readIfPresent(_ file: String) throws(CgroupError) -> String? {
        do { return try read(file) } catch where error.errno == ENOENT { return nil }
    }

    /// Writes `value` in one `write(2)`: the kernel parses each write on its own, so a
    /// value must never be split.
    public func write(_ file: String, _ value: String) throws(CgroupError) {
        let fileFD = SystemCall.retryingInterrupts { openat(fd, file, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW) }
        guard fileFD >= 0 else { throw CgroupError(operation: "write", path: path, file: file, value: value, errno: errno) }
        defer { Glibc.close(fileFD) }
        var bytes = Array(value.utf8)
        if bytes.isEmpty { bytes = [UInt8(ascii: "\n")] }  // an empty write is a no-op; "\n" resets (cpuset.cpus)
        let n = SystemCall.retryingInterrupts { bytes.withUnsafeBytes { Glibc.write(fileFD, $0.baseAddress, $0.count) } }
        guard n == bytes.count else {
            throw CgroupError(operation: "write", path: path, file: file, value: value, errno: n < 0 ? errno : EIO)
        }
    }

    public func exists(_ file: String) -> Bool {
        faccessat(fd, file, F_OK, 0) == 0
    }

    static func check(_ name: String, in path: String) throws(CgroupError) {
        if let problem = CgroupPathCheck.problem(withName: name) {
            throw CgroupError(operation: "refuse group name", path: path, errno: 0, detail: problem)
        }
    }
}
