import Glibc
import WardenCore

/// Reads every process of a `/proc` tree into `ScannedProcess` values.
///
/// Cost matters (a scan runs before each start, and must stay under 100 ms for 5,000
/// processes): each process is one directory descriptor and `openat` of `stat`,
/// `status`, `cmdline` and `cgroup` relative to it, one `readlinkat` of `exe`, all read
/// into one reused buffer and parsed as bytes. A process that exits mid-scan is skipped;
/// a file that cannot be read (permissions) leaves its fields nil or empty.
public struct ProcScanner: Sendable {
    /// The proc mount; a seeded directory in tests.
    public var procRoot: String
    /// Page size for the RSS field (pages in `/proc/PID/stat`).
    public var pageSize: UInt64

    public init(procRoot: String = "/proc", pageSize: UInt64 = UInt64(sysconf(Int32(_SC_PAGESIZE)))) {
        self.procRoot = procRoot
        self.pageSize = pageSize
    }

    /// Clock ticks per second (`USER_HZ`), the unit of start times and CPU ticks.
    public static var ticksPerSecond: UInt64 { UInt64(sysconf(Int32(_SC_CLK_TCK))) }

    /// Every process (thread group) under `procRoot`, in directory order.
    public func scan() -> [ScannedProcess] {
        guard let dir = opendir(procRoot) else { return [] }
        defer { closedir(dir) }
        let rootFD = dirfd(dir)
        var buffer = ReadBuffer()
        var result: [ScannedProcess] = []
        result.reserveCapacity(512)
        while let entry = readdir(dir) {
            let pid: Int32? = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                var value: Int32 = 0
                var count = 0
                for byte in raw {
                    if byte == 0 { break }
                    guard byte >= 48 && byte <= 57, count < 10 else { return nil }
                    value = value &* 10 &+ Int32(byte - 48)
                    count += 1
                }
                return count > 0 ? value : nil
            }
            guard let pid else { continue }
            if let process = read(pid: pid, rootFD: rootFD, buffer: &buffer) { result.append(process) }
        }
        return result
    }

    /// One process, nil when it does not exist (or exited while being read).
    public func process(_ pid: Int32) -> ScannedProcess? {
        let rootFD = open(procRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return nil }
        defer { close(rootFD) }
        var buffer = ReadBuffer()
        return read(pid: pid, rootFD: rootFD, buffer: &buffer)
    }

    /// Seconds since boot from `/proc/uptime`.
    public func uptimeSeconds() -> Double? {
        guard let text = try? LocalFileSystem().readFile(procRoot + "/uptime"),
            let first = text.split(separator: " ").first
        else { return nil }
        return Double(first)
    }

    private func read(pid: Int32, rootFD: Int32, buffer: inout ReadBuffer) -> ScannedProcess? {
        let fd = openat(rootFD, String(pid), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }

        guard buffer.load("stat", at: fd), let stat = StatFields(buffer.bytes) else { return nil }
        var uid: UInt32?
        if buffer.load("status", at: fd) { uid = Self.parseUid(buffer.bytes) }
        var arguments: [String] = []
        if buffer.load("cmdline", at: fd) { arguments = Self.splitNul(buffer.bytes) }
        var cgroup: String?
        if buffer.load("cgroup", at: fd) { cgroup = Self.parseCgroup(buffer.bytes) }
        var executable: String?
        var deleted = false
        if let target = buffer.readLink("exe", at: fd) {
            let suffix = " (deleted)"
            if target.hasSuffix(suffix) {
                deleted = true
                executable = String(target.dropLast(suffix.count))
            } else {
                executable = target
            }
        }
        return ScannedProcess(
            pid: pid, parentPID: stat.parentPID, name: stat.name, executable: executable, executableDeleted: deleted,
            arguments: arguments, cgroup: cgroup, startTimeTicks: stat.startTime, uid: uid, state: stat.state,
            cpuTicks: stat.utime &+ stat.stime, rssBytes: stat.rssPages &* pageSize)
    }

    /// The fields of `/proc/PID/stat` a scan keeps.
    struct StatFields {
        var name: String
        var state: Character
        var parentPID: Int32
        var utime: UInt64
        var stime: UInt64
        var startTime: UInt64
        var rssPages: UInt64

        /// `pid (comm) S ppid …`: comm may hold spaces and `)`, so fields are counted after
        /// the *last* `)`. Field numbers are proc(5)'s, 1-based.
        init?(_ bytes: UnsafeRawBufferPointer) {
            guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
                let close = bytes.lastIndex(of: UInt8(ascii: ")")), close > open
            else { return nil }
            name = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
            var field = 3
            var i = close + 2
            var values = [UInt64](repeating: 0, count: 25)
            var stateByte: UInt8 = UInt8(ascii: "?")
            while i < bytes.count && field <= 24 {
                let start = i
                while i < bytes.count && bytes[i] != UInt8(ascii: " ") && bytes[i] != UInt8(ascii: "\n") { i += 1 }
                if field == 3 {
                    if i > start { stateByte = bytes[start] }
                } else {
                    var value: UInt64 = 0
                    for j in start..<i {
                        let b = bytes[j]
                        // ppid and rss are never negative for live processes; a `-` (rss of
                        // a kernel thread on old kernels) reads as 0.
                        if b >= 48 && b <= 57 { value = value &* 10 &+ UInt64(b - 48) }
                    }
                    values[field] = value
                }
                field += 1
                i += 1
            }
            guard field > 24 else { return nil }
            state = Character(Unicode.Scalar(stateByte))
            parentPID = Int32(truncatingIfNeeded: values[4])
            utime = values[14]
            stime = values[15]
            startTime = values[22]
            rssPages = values[24]
        }
    }

    /// The real uid: the first number after `Uid:` in `/proc/PID/status`.
    static func parseUid(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        let key = Array("\nUid:".utf8)
        guard bytes.count > key.count else { return nil }
        var i = 0
        while i + key.count <= bytes.count {
            if bytes[i] == key[0] && bytes[i + 1] == key[1] && bytes[i + 2] == key[2] && bytes[i + 3] == key[3]
                && bytes[i + 4] == key[4]
            {
                var j = i + key.count
                while j < bytes.count && (bytes[j] == UInt8(ascii: "\t") || bytes[j] == UInt8(ascii: " ")) { j += 1 }
                var value: UInt32 = 0
                var digits = 0
                while j < bytes.count && bytes[j] >= 48 && bytes[j] <= 57 {
                    value = value &* 10 &+ UInt32(bytes[j] - 48)
                    digits += 1
                    j += 1
                }
                return digits > 0 ? value : nil
            }
            i += 1
        }
        return nil
    }

    /// argv from `cmdline`: NUL-terminated words. A process that rewrote its title
    /// without NULs yields one word.
    static func splitNul(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var words: [String] = []
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0 {
            words.append(String(decoding: bytes[start..<i], as: UTF8.self))
            start = i + 1
        }
        if start < bytes.count { words.append(String(decoding: bytes[start...], as: UTF8.self)) }
        return words
    }

    /// The path of the `0::` line (the cgroup v2 hierarchy).
    static func parseCgroup(_ bytes: UnsafeRawBufferPointer) -> String? {
        var lineStart = 0
        var i = 0
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == UInt8(ascii: "\n") {
                if i - lineStart >= 3 && bytes[lineStart] == UInt8(ascii: "0") && bytes[lineStart + 1] == UInt8(ascii: ":")
                    && bytes[lineStart + 2] == UInt8(ascii: ":")
                {
                    return String(decoding: bytes[(lineStart + 3)..<i], as: UTF8.self)
                }
                lineStart = i + 1
            }
            i += 1
        }
        return nil
    }
}

/// A read buffer reused across files of a scan; grows for long command lines.
struct ReadBuffer: ~Copyable {
    private var storage: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init() {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 8)
    }

    deinit { storage.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[0..<count]) }

    /// Reads the whole file `name` relative to the directory `dirFD`; false when it cannot
    /// be opened or read (process gone, permission).
    mutating func load(_ name: String, at dirFD: Int32) -> Bool {
        let fd = openat(dirFD, name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        count = 0
        while true {
            if count == storage.count {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 8)
                bigger.copyMemory(from: UnsafeRawBufferPointer(storage))
                storage.deallocate()
                storage = bigger
            }
            let n = Glibc.read(fd, storage.baseAddress! + count, storage.count - count)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { return true }
            count += n
        }
    }

    /// The target of the symlink `name` relative to `dirFD`, nil when unreadable.
    mutating func readLink(_ name: String, at dirFD: Int32) -> String? {
        let n = readlinkat(dirFD, name, storage.baseAddress!.assumingMemoryBound(to: CChar.self), storage.count)
        guard n > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: storage[0..<n]), as: UTF8.self)
    }
}
