import CWardenShims
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
        return read(descriptor: fd, path: path, limit: limit)
    }

    /// The rest of the file open as `fd`, up to `limit` bytes (more is an `EFBIG` error);
    /// `path` names it in an error. For files opened beneath a directory descriptor or
    /// checked after the open.
    public static func read(descriptor fd: Int32, path: String, limit: Int = 1 << 20) -> Result<[UInt8], SystemCallError> {
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

    /// The start of the file, as much as fits in `buffer`: the number of bytes read, nil
    /// when the file cannot be opened. For the hot paths that read the same small files
    /// over and over (`/proc/PID/stat` at every scrape and spawn) into one reused buffer,
    /// with no allocation per read.
    public static func read(_ path: String, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let fd = SystemCall.retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var count = 0
        while count < buffer.count {
            let n = SystemCall.retryingInterrupts { Glibc.read(fd, buffer.baseAddress! + count, buffer.count - count) }
            if n <= 0 { break }
            count += n
        }
        return count
    }

    /// `read(_:into:)` into an array's storage.
    public static func read(_ path: String, into buffer: inout [UInt8]) -> Int? {
        buffer.withUnsafeMutableBytes { read(path, into: $0) }
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

    /// Replaces `path` with `bytes` through a spare file kept beside it (`path.tmp`): the
    /// spare is overwritten in place and swapped with `path` (`renameat2(RENAME_EXCHANGE)`;
    /// a plain `rename` on the first write, or where the file system lacks the exchange),
    /// and the old contents become the next spare. A reader, or the next start after the
    /// writer is killed, sees the old file or the new one, never a part; nothing is
    /// flushed, so a power cut may lose the change. Both inodes and their blocks are
    /// reused, where a fresh file renamed over the old one frees and allocates one each
    /// time (about ten times the cost on ext4): for files rewritten often whose contents
    /// matter only while the machine stays up.
    public static func writeAtomicallyThroughSpare(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(SystemCallError) {
        let temporary = path + ".tmp"
        // Not truncated at open: the spare keeps its blocks.
        let fd = SystemCall.retryingInterrupts { open(temporary, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode) }
        guard fd >= 0 else { throw .last("open", temporary) }
        var failure: SystemCallError?
        var offset = 0
        while offset < bytes.count {
            let n = SystemCall.retryingInterrupts { bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + offset, $0.count - offset, off_t(offset)) } }
            if n < 0 {
                failure = .last("write", temporary)
                break
            }
            offset += n
        }
        if failure == nil && ftruncate(fd, off_t(bytes.count)) != 0 {
            failure = .last("ftruncate", temporary)
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        if warden_rename_exchange(temporary, path) == 0 { return }
        // ENOENT: the first write; EINVAL: a file system without RENAME_EXCHANGE.
        guard rename(temporary, path) == 0 else {
            let error = SystemCallError.last("rename \(temporary) to", path)
            unlink(temporary)
            throw error
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

    /// `stat(2)` of `path`, or `lstat(2)` when not following a final symbolic link; nil
    /// when it cannot be looked at.
    public static func status(_ path: String, followingLinks: Bool = true) -> stat? {
        var info = stat()
        let rc = followingLinks ? stat(path, &info) : lstat(path, &info)
        return rc == 0 ? info : nil
    }
}
