import Glibc

/// Whole-file reads and writes of the small files Warden keeps and reads (its state file,
/// component records, `/proc` and cgroup files read by path): one reader with a size limit,
/// one atomic writer.
public enum FileIO {
    /// The whole file, up to `limit` bytes (more is an `EFBIG` error rather than a file
    /// read in part). Kernel files report size 0, so the file is read until its end.
    public static func read(_ path: String, limit: Int = 1 << 20) -> Result<[UInt8], SystemCallError> {
        let fd = SystemCall.retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return .failure(.last("open", path)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = SystemCall.retryingInterrupts { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n < 0 { return .failure(.last("read", path)) }
            if n == 0 { return .success(bytes) }
            guard bytes.count + n <= limit else { return .failure(SystemCallError("read", path, errno: EFBIG)) }
            bytes.append(contentsOf: buffer[0..<n])
        }
    }

    /// The whole file as UTF-8 text (invalid bytes replaced).
    public static func readText(_ path: String, limit: Int = 1 << 20) -> Result<String, SystemCallError> {
        read(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Replaces `path` with `bytes` so that a reader, or the next start after a crash or a
    /// power cut, sees the old file or the new one, never a part: written to `path.tmp`,
    /// flushed, renamed over `path`, and the directory flushed so the rename lasts. The
    /// temporary file is never followed through a link, and removed on a failure.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(SystemCallError) {
        let temporary = path + ".tmp"
        let fd = SystemCall.retryingInterrupts { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode) }
        guard fd >= 0 else { throw .last("create", temporary) }
        func fail(_ operation: String, _ path: String) -> SystemCallError {
            let error = SystemCallError.last(operation, path)
            close(fd)
            unlink(temporary)
            return error
        }
        var offset = 0
        while offset < bytes.count {
            let n = SystemCall.retryingInterrupts { bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) } }
            guard n > 0 else { throw fail("write", temporary) }
            offset += n
        }
        guard fsync(fd) == 0 else { throw fail("fsync", temporary) }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = SystemCallError.last("rename \(temporary) to", path)
            unlink(temporary)
            throw error
        }
        let directory = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Removes a file; a file that is not there is no error.
    public static func remove(_ path: String) throws(SystemCallError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw .last("remove", path) }
    }

    /// Whether `path` names a directory (following links).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// The inode number of `path` (following links); nil when it cannot be looked at.
    public static func inode(_ path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// Whether `path` exists (following links).
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}
