import CWardenShims
import Glibc
import WardenCore

/// Reads and writes `STATE/components.records` (format: `ComponentRecordsFile`).
///
/// Every write replaces the whole file atomically: the new contents go to a spare file
/// in the same directory (`components.records.tmp`), which is then swapped with the
/// live one (`renameat2(RENAME_EXCHANGE)`; a plain `rename` where the file system lacks
/// it), so a Warden killed at any moment leaves either the old or the new records,
/// never a torn file. The file is small (one line per component).
///
/// The swap keeps both inodes: the next write overwrites the spare's blocks in place.
/// Renaming a fresh file over the old one instead freed an inode and its block and
/// allocated new ones each time, ten times the cost on ext4 (about 100 µs against
/// 10 µs here), and the file is rewritten at every change of a main process.
///
/// No `fsync`: the records only matter while the processes they name still run, and
/// what survives Warden's death (SIGKILL, a crash, an upgrade) is the kernel's page
/// cache, where the rename is visible to the next Warden at once. The failures an fsync
/// guards against (power loss, a kernel crash) end every component too, leaving nothing
/// to re-adopt; the next Warden then drops whatever the file holds (each record is
/// verified by start time). The two fsyncs were most of a restart's cost: the file is
/// rewritten at every change of a main process.
public struct ComponentRecordStore: Sendable {
    public var stateDirectory: String

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public var path: String { stateDirectory + "/" + ComponentRecordsFile.fileName }

    /// The records, with a note per damaged line; no file means no records.
    public func load() -> (records: [ComponentRecord], problems: [String]) {
        guard access(path, F_OK) == 0 else { return ([], []) }
        guard let text = try? LocalFileSystem().readFile(path) else {
            return ([], ["\(path) cannot be read: \(errnoDescription(errno))"])
        }
        return ComponentRecordsFile.parse(text)
    }

    /// Replaces the file with `records`; an empty list removes it.
    public func save(_ records: [ComponentRecord]) throws(ProcessControlError) {
        guard !records.isEmpty else {
            try remove()
            return
        }
        let temporary = path + ".tmp"
        // Overwritten in place, not truncated at open: the spare keeps its blocks.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw ProcessControlError(operation: "open \(temporary)", errno: errno) }
        let bytes = Array(ComponentRecordsFile.render(records).utf8)
        var offset = 0
        var failure: ProcessControlError?
        while offset < bytes.count {
            let n = SystemCall.retryingInterrupts { bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + offset, $0.count - offset, off_t(offset)) } }
            if n < 0 {
                failure = ProcessControlError(operation: "write \(temporary)", errno: errno)
                break
            }
            offset += n
        }
        if failure == nil && ftruncate(fd, off_t(bytes.count)) != 0 {
            failure = ProcessControlError(operation: "ftruncate \(temporary)", errno: errno)
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        // The old records become the spare for the next write.
        if warden_rename_exchange(temporary, path) == 0 { return }
        // ENOENT: the first write; EINVAL: a file system without RENAME_EXCHANGE.
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw ProcessControlError(operation: "rename \(temporary) to \(path)", errno: code)
        }
    }

    /// Removes the file (a graceful shutdown leaves nothing to re-adopt).
    public func remove() throws(ProcessControlError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw ProcessControlError(operation: "unlink \(path)", errno: errno)
        }
        // The spare holds earlier records: nobody reads it, but it goes too.
        _ = unlink(path + ".tmp")
        syncDirectory()
    }

    /// The removal is durable once the directory is: a power loss right after a
    /// graceful shutdown brings no stale records back (rare, so the cost does not matter).
    private func syncDirectory() {
        let fd = open(stateDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
