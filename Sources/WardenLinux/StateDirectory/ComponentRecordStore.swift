import Glibc
import WardenCore

/// Reads and writes `STATE/components.records` (format: `ComponentRecordsFile`).
///
/// Every write replaces the whole file atomically through a spare file beside it
/// (`components.records.tmp`, `FileIO.writeAtomicallyThroughSpare`), so a Warden killed
/// at any moment leaves either the old or the new records, never a torn file. The file
/// is small (one line per component) and rewritten at every change of a main process
/// and before each stop, restart or replacement Warden begins (`ComponentIntent`),
/// so the spare's inode and blocks are reused rather than a fresh file allocated.
///
/// No `fsync`: the records only matter while the processes they name still run, and
/// what survives Warden's death (SIGKILL, a crash, an upgrade) is the kernel's page
/// cache, where the rename is visible to the next Warden at once. The failures an fsync
/// guards against (power loss, a kernel crash) end every component too, leaving nothing
/// to re-adopt; the next Warden then drops whatever the file holds (each record is
/// verified by start time). Two fsyncs would be most of a restart's cost.
public struct ComponentRecordStore: Sendable {
    public var stateDirectory: String

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public var path: String { stateDirectory + "/" + ComponentRecordsFile.fileName }

    /// What the file holds, with a note per damaged line; no file means nothing.
    public func load() -> ComponentRecordsFile.Contents {
        guard access(path, F_OK) == 0 else { return ComponentRecordsFile.Contents() }
        guard let text = try? LocalFileSystem().readFile(path) else {
            return ComponentRecordsFile.Contents(problems: ["\(path) cannot be read: \(errnoDescription(errno))"])
        }
        return ComponentRecordsFile.parse(text)
    }

    /// Replaces the file with `records` and the components an operator stopped; nothing
    /// to keep removes it.
    public func save(_ records: [ComponentRecord], stoppedByOperator: Set<String> = []) throws(ProcessControlError) {
        guard !records.isEmpty || !stoppedByOperator.isEmpty else {
            try remove()
            return
        }
        do {
            try FileIO.writeAtomicallyThroughSpare(
                Array(ComponentRecordsFile.render(records, stoppedByOperator: stoppedByOperator).utf8), to: path)
        } catch {
            throw ProcessControlError(operation: "\(error.operation) \(error.path)", errno: error.errno)
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
