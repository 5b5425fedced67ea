import Glibc

/// Directories, modes, owners and links: what making a service's directories needs.
extension FileIO {
    /// `mkdir(path, mode)`; true when it was made, false when a directory is there
    /// already. Anything else in the way is `ENOTDIR`.
    @discardableResult
    public static func makeDirectory(_ path: String, mode: mode_t) throws(SystemCallError) -> Bool {
        if SystemCall.retryingInterrupts({ mkdir(path, mode) }) == 0 { return true }
        let code = errno
        guard code == EEXIST else { throw SystemCallError("mkdir", path, errno: code) }
        var info = stat()
        guard stat(path, &info) == 0 else { throw .last("stat", path) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw SystemCallError("mkdir", path, errno: ENOTDIR) }
        return false
    }

    /// `mkdir -p`: `path` and every missing directory above it, with `mode`.
    public static func makeDirectoryWithParents(_ path: String, mode: mode_t) throws(SystemCallError) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            try makeDirectory(current, mode: mode)
        }
    }

    /// The owner and mode of `path`, not following a final link.
    public static func ownerAndMode(_ path: String) throws(SystemCallError) -> (userID: UInt32, groupID: UInt32, mode: UInt32) {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw .last("lstat", path) }
        return (info.st_uid, info.st_gid, UInt32(info.st_mode & 0o7777))
    }

    public static func changeMode(_ path: String, to mode: mode_t) throws(SystemCallError) {
        guard SystemCall.retryingInterrupts({ chmod(path, mode) }) == 0 else { throw .last("chmod", path) }
    }

    /// `lchown`: a link's own owner, never its target's.
    public static func changeOwner(_ path: String, userID: UInt32, groupID: UInt32) throws(SystemCallError) {
        guard SystemCall.retryingInterrupts({ lchown(path, userID, groupID) }) == 0 else { throw .last("chown", path) }
    }

    /// `path` and everything below it, depth first, links not followed.
    public static func changeOwnerRecursively(_ path: String, userID: UInt32, groupID: UInt32) throws(SystemCallError) {
        try changeOwner(path, userID: userID, groupID: groupID)
        var info = stat()
        guard lstat(path, &info) == 0 else { throw .last("lstat", path) }
        guard info.st_mode & S_IFMT == S_IFDIR else { return }
        for name in try entries(of: path) {
            try changeOwnerRecursively(path + "/" + name, userID: userID, groupID: groupID)
        }
    }

    /// Makes `link` a symbolic link to `target`; one that already points there is kept.
    public static func makeSymbolicLink(_ link: String, to target: String) throws(SystemCallError) {
        if symlink(target, link) == 0 { return }
        let code = errno
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(link, &buffer, buffer.count - 1)
        if code == EEXIST, count >= 0,
            String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) == target
        {
            return
        }
        throw SystemCallError("symlink \(target) as", link, errno: code)
    }

    /// `rm -r path`: links are removed, never followed; a missing path is no error.
    public static func removeTree(_ path: String) throws(SystemCallError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .last("lstat", path)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in try entries(of: path) { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 || errno == ENOENT else { throw .last("rmdir", path) }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else { throw .last("unlink", path) }
        }
    }

    /// The names in a directory, without `.` and `..`.
    static func entries(of path: String) throws(SystemCallError) -> [String] {
        guard let dir = opendir(path) else { throw .last("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
