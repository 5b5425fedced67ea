import Glibc

/// The descriptor operations the runtime needs beyond spawning and sockets.
public enum Descriptors {
    /// A second descriptor for the same open file, close-on-exec, numbered 3 or above (so
    /// it can never become a child's standard stream).
    public static func duplicate(_ fd: Int32) -> Result<Int32, SystemCallError> {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        return copy >= 0 ? .success(copy) : .failure(.last("duplicate descriptor", "\(fd)"))
    }

    /// `file` opened for reading beneath the directory descriptor `directory`; nil when it
    /// cannot be.
    public static func openForReading(_ file: String, beneath directory: Int32) -> Int32? {
        let fd = SystemCall.retryingInterrupts { openat(directory, file, O_RDONLY | O_CLOEXEC) }
        return fd >= 0 ? fd : nil
    }

    /// The inode number of the file or directory behind `fd`.
    public static func inode(of fd: Int32) -> UInt64? {
        var info = stat()
        return fstat(fd, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// Reads the start of the file behind `fd` and throws it away: what re-arms a kernfs
    /// file's change notification (`cgroup.events`, `memory.events`).
    public static func readAndDiscard(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 512)
        _ = SystemCall.retryingInterrupts { buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) } }
    }
}

extension ProcessControl {
    /// Sends `signal` to process `pid` (a negative number: to that process group); whether
    /// it was delivered.
    public static func signal(_ signal: Int32, pid: Int32) -> Bool {
        kill(pid, signal) == 0
    }

    /// Whether any process of group `processGroupID` is still there (one of another user's
    /// counts: `EPERM` says it exists).
    public static func processGroupExists(_ processGroupID: Int32) -> Bool {
        kill(-processGroupID, 0) == 0 || errno == EPERM
    }
}

extension ThisProcess {
    /// Sleeps the calling thread (never the event loop's).
    public static func sleep(microseconds: UInt32) {
        usleep(microseconds)
    }
}
