import Glibc
import WardenCore

/// Why the state lock could not be taken.
public enum StateLockError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Another process holds it; its PID when the lock file names one.
    case alreadyRunning(stateDirectory: String, pid: Int32?)
    /// The lock file could not be created, opened or locked.
    case failed(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .alreadyRunning(let directory, let pid):
            let who = pid.map { "PID \($0)" } ?? "PID unknown"
            return "warden is already running with this state directory (\(who)): \(directory)/\(StateLock.fileName) is locked"
        case .failed(let operation, let path, let code):
            return "\(operation) \(path): \(errnoDescription(code)) (errno \(code))"
        }
    }
}

/// The single-instance lock: `flock(LOCK_EX|LOCK_NB)` on `STATE/warden.lock`, which
/// holds the holder's PID as text.
///
/// flock, not a PID file alone: the kernel drops the lock when the holder dies however it
/// dies (SIGKILL, OOM), so a stale file never blocks a restart, and a restarted Warden
/// cannot mistake a recycled PID for itself. The lock belongs to the open file
/// description: a second `StateLock.acquire` in the same process conflicts too. The
/// descriptor is close-on-exec, so components never inherit (and keep) the lock.
public final class StateLock {
    public static let fileName = "warden.lock"

    public let path: String
    private var fd: Int32
    /// The file still named a PID when the lock was taken: the previous holder did not
    /// end through `release(clean: true)` (it was killed, or crashed).
    public let previousHolderEndedUncleanly: Bool

    private init(path: String, fd: Int32, previousHolderEndedUncleanly: Bool) {
        self.path = path
        self.fd = fd
        self.previousHolderEndedUncleanly = previousHolderEndedUncleanly
    }

    deinit { release() }

    /// Takes the lock of `stateDirectory` (created with mode 0755 when missing) and writes
    /// this process's PID into it.
    public static func acquire(stateDirectory: String) throws(StateLockError) -> StateLock {
        if mkdir(stateDirectory, 0o755) != 0 && errno != EEXIST {
            throw .failed(operation: "mkdir", path: stateDirectory, errno: errno)
        }
        let path = stateDirectory + "/" + fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw .failed(operation: "open", path: path, errno: errno) }
        if SystemCall.retryingInterrupts({ flock(fd, LOCK_EX | LOCK_NB) }) != 0 {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK {
                throw .alreadyRunning(stateDirectory: stateDirectory, pid: holder(stateDirectory: stateDirectory))
            }
            throw .failed(operation: "flock(LOCK_EX|LOCK_NB)", path: path, errno: code)
        }
        var previous = [UInt8](repeating: 0, count: 32)
        let previousLength = previous.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let unclean = previousLength > 0 && Int32(String(decoding: previous[0..<previousLength], as: UTF8.self).trimmingCharacters()) != nil
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(fd, 0) == 0 else {
            let code = errno
            close(fd)
            throw .failed(operation: "ftruncate", path: path, errno: code)
        }
        let written = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == text.count else {
            let code = errno
            close(fd)
            throw .failed(operation: "write PID to", path: path, errno: code)
        }
        return StateLock(path: path, fd: fd, previousHolderEndedUncleanly: unclean)
    }

    /// Drops the lock. The file stays (removing it would race with a new holder that
    /// opened it already); its PID is stale from then on, which is harmless because only
    /// the lock, not the file, means "running".
    public func release() {
        guard fd >= 0 else { return }
        // Unlocked before the close: a flock belongs to the open file description, and a
        // child forked at this moment by another thread holds a copy of the descriptor
        // until its exec closes it; a close alone would leave the lock held until then.
        _ = flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    /// Drops the lock after a clean end: the file is emptied first, so the next holder
    /// knows this one left nothing unaccounted for.
    public func release(clean: Bool) {
        guard fd >= 0 else { return }
        if clean { _ = ftruncate(fd, 0) }
        release()
    }

    /// The PID of the process holding the lock of `stateDirectory`, nil when nobody does.
    ///
    /// Read-only: it never takes the lock (a probe that locks and unlocks would make a
    /// Warden starting at that moment fail). The holder is known from `/proc/locks`, where
    /// the kernel lists each flock with its PID and the file's inode; the PID written in
    /// the file is used when `/proc/locks` is not readable.
    public static func holder(stateDirectory: String, procRoot: String = "/proc") -> Int32? {
        let path = stateDirectory + "/" + fileName
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let written = (try? LocalFileSystem().readFile(path)).flatMap { Int32($0.trimmingCharacters()) }
        guard let locks = try? LocalFileSystem().readFile(procRoot + "/locks") else { return written }
        let holders = parseFlockHolders(
            locks, major: deviceMajor(UInt64(info.st_dev)), minor: deviceMinor(UInt64(info.st_dev)),
            inode: UInt64(info.st_ino))
        // /proc/locks says *whether* the file is locked; the file says *who*: the PID there
        // can differ from the one in /proc/locks when the lock was taken by a helper on a
        // shared descriptor (`flock 9` in a shell).
        guard !holders.isEmpty else { return nil }
        return written ?? holders.first
    }

    // glibc's major()/minor() are macros Swift does not import; this is their definition.
    static func deviceMajor(_ dev: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)) }
    static func deviceMinor(_ dev: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: (dev & 0xff) | ((dev >> 12) & ~0xff)) }

    /// PIDs of the exclusive FLOCKs on one file in `/proc/locks`. A line reads
    /// `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`, the device in hex
    /// (`MAJOR:MINOR:INODE`); lines of waiters (`1: -> FLOCK …`) are skipped.
    static func parseFlockHolders(_ text: String, major: UInt32, minor: UInt32, inode: UInt64) -> [Int32] {
        var pids: [Int32] = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 6, words[1] == "FLOCK", words[3] == "WRITE", let pid = Int32(words[4]) else { continue }
            let device = words[5].split(separator: ":")
            guard device.count == 3, UInt32(device[0], radix: 16) == major, UInt32(device[1], radix: 16) == minor,
                UInt64(device[2]) == inode
            else { continue }
            pids.append(pid)
        }
        return pids
    }
}
