import Glibc
import WardenCore

/// A read buffer reused across files of a scan; grows for long command lines.
struct ReadBuffer: ~Copyable {
    /// The files of a process directory a scan opens.
    enum File: String {
        case stat, cmdline, cgroup, exe
    }

    private var storage: UnsafeMutableRawBufferPointer
    /// `PID/FILE` as a C string, built in place: no allocation per file.
    private let path: UnsafeMutablePointer<CChar>
    private(set) var count = 0

    init() {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 8)
        path = UnsafeMutablePointer<CChar>.allocate(capacity: 32)
    }

    deinit {
        storage.deallocate()
        path.deallocate()
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[0..<count]) }

    private func buildPath(_ pid: Int32, _ file: File) -> UnsafePointer<CChar> {
        var n = UInt32(bitPattern: pid)
        var length = 0
        // Digits backwards into the front of the buffer, then reversed.
        repeat {
            path[length] = CChar(48 + n % 10)
            n /= 10
            length += 1
        } while n > 0
        var a = 0
        var b = length - 1
        while a < b {
            let t = path[a]
            path[a] = path[b]
            path[b] = t
            a += 1
            b -= 1
        }
        path[length] = CChar(UInt8(ascii: "/"))
        length += 1
        for byte in file.rawValue.utf8 {
            path[length] = CChar(bitPattern: byte)
            length += 1
        }
        path[length] = 0
        return UnsafePointer(path)
    }

    /// Reads the whole file `PID/file` relative to `dirFD`, and the file's owner (the
    /// process's effective uid); false when it cannot be opened or read.
    mutating func load(_ pid: Int32, _ file: File, at dirFD: Int32, ownerUID: inout UInt32?) -> Bool {
        let fd = openat(dirFD, buildPath(pid, file), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0 { ownerUID = info.st_uid }
        return readAll(fd, oneShot: file == .stat)
    }

    /// Reads the whole file `PID/file` relative to `dirFD`; false when it cannot be opened
    /// or read (process gone, permission).
    mutating func load(_ pid: Int32, _ file: File, at dirFD: Int32) -> Bool {
        let fd = openat(dirFD, buildPath(pid, file), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return readAll(fd, oneShot: file == .stat)
    }

    /// `oneShot`: the file is generated whole on the first read (`/proc/PID/stat` is one
    /// `single_open` record), so a read that leaves room in the buffer got all of it and the
    /// read that would return end-of-file is saved: one syscall per process less.
    private mutating func readAll(_ fd: Int32, oneShot: Bool) -> Bool {
        count = 0
        while true {
            if count == storage.count {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 8)
                bigger.copyMemory(from: UnsafeRawBufferPointer(storage))
                storage.deallocate()
                storage = bigger
            }
            let n = SystemCall.retryingInterrupts { Glibc.read(fd, storage.baseAddress! + count, storage.count - count) }
            if n < 0 { return false }
            if n == 0 { return true }
            count += n
            if oneShot && count < storage.count { return true }
        }
    }

    /// The target of the symlink `PID/file` relative to `dirFD`, nil when unreadable.
    mutating func readLink(_ pid: Int32, _ file: File, at dirFD: Int32) -> String? {
        let n = readlinkat(dirFD, buildPath(pid, file), storage.baseAddress!.assumingMemoryBound(to: CChar.self), storage.count)
        guard n > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: storage[0..<n]), as: UTF8.self)
    }

    /// The file the link `PID/file` leads to (`stat(2)` follows it, even to a deleted
    /// executable); nil when it cannot be read.
    func fileIdentity(_ pid: Int32, _ file: File, at dirFD: Int32) -> FileIdentity? {
        var info = stat()
        guard fstatat(dirFD, buildPath(pid, file), &info, 0) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}
