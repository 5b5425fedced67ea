import Glibc
import WardenCore

/// Reads the processes of a `/proc` tree into `ScannedProcess` values.
///
/// Cost matters: a scan runs before each start and over every process of the host. The
/// kernel generates each /proc file on read, and on a loaded VM each file costs tens of
/// microseconds, so a scan reads only the `Fields` asked for: `stat` always (PID, parent,
/// state, start time, CPU ticks, RSS, name), the rest on demand. `DuplicateDetector` reads
/// the executable of every process and the command line and cgroup only of candidates;
/// diagnose reads `stat` of every process and the rest for its top lists. Files are opened
/// relative to one descriptor of the proc root and read into one reused buffer, parsed
/// as bytes. A process that exits mid-scan is skipped; a file that cannot be read
/// (permissions) leaves its field nil or empty.
public struct ProcScanner: Sendable {
    /// What to read besides `stat`.
    public struct Fields: OptionSet, Hashable, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// `exe` (readlink).
        public static let executable = Fields(rawValue: 1)
        /// `cmdline`.
        public static let commandLine = Fields(rawValue: 2)
        /// `cgroup` (the v2 line).
        public static let cgroup = Fields(rawValue: 4)
        /// The owner of the process's /proc files (`fstat` of `stat`): its effective uid,
        /// what `ps` shows as USER. (Non-dumpable processes show root, as in `ps`.)
        public static let user = Fields(rawValue: 8)
        /// The device and inode of the file `exe` leads to (`stat`).
        public static let executableFile = Fields(rawValue: 16)

        public static let all: Fields = [.executable, .commandLine, .cgroup, .user]
    }

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
    public func scan(_ fields: Fields = .all) -> [ScannedProcess] {
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
            if let process = read(pid: pid, rootFD: rootFD, fields: fields, buffer: &buffer) { result.append(process) }
        }
        return result
    }

    /// One process, nil when it does not exist (or exited while being read).
    public func process(_ pid: Int32, _ fields: Fields = .all) -> ScannedProcess? {
        let rootFD = open(procRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return nil }
        defer { close(rootFD) }
        var buffer = ReadBuffer()
        return read(pid: pid, rootFD: rootFD, fields: fields, buffer: &buffer)
    }

    /// `process` re-read with `fields` added; nil when it exited or its PID now names
    /// another process (the start time differs), so fields never mix two processes.
    public func complete(_ process: ScannedProcess, with fields: Fields) -> ScannedProcess? {
        complete([process], where: { _ in true }, with: fields, verify: true).first
    }

    /// `processes` with `fields` read for those `select` picks, in one pass over one root
    /// descriptor and one buffer. With `verify`, each picked process's `stat` is read again
    /// first: one that exited, or whose PID now names another process (other start time),
    /// is dropped, and its state, CPU ticks and RSS are refreshed. Without it the fields
    /// are read as they are — cheaper, for a filter whose survivors are verified later.
    public func complete(
        _ processes: [ScannedProcess], where select: (ScannedProcess) -> Bool, with fields: Fields, verify: Bool
    ) -> [ScannedProcess] {
        let rootFD = open(procRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return verify ? processes.filter { !select($0) } : processes }
        defer { close(rootFD) }
        var buffer = ReadBuffer()
        var result: [ScannedProcess] = []
        result.reserveCapacity(processes.count)
        for var process in processes {
            if select(process) {
                guard fill(&process, fields, verify: verify, rootFD: rootFD, buffer: &buffer) else { continue }
            }
            result.append(process)
        }
        return result
    }

    private func fill(
        _ process: inout ScannedProcess, _ fields: Fields, verify: Bool, rootFD: Int32, buffer: inout ReadBuffer
    ) -> Bool {
        let pid = process.pid
        if verify || fields.contains(.user) {
            var uid: UInt32?
            let loaded =
                fields.contains(.user)
                ? buffer.load(pid, .stat, at: rootFD, ownerUID: &uid) : buffer.load(pid, .stat, at: rootFD)
            guard loaded, let stat = ProcessStatFields.parse(buffer.bytes) else { return !verify }
            if verify {
                guard stat.startTicks == process.startTimeTicks else { return false }
                process.state = Character(Unicode.Scalar(stat.state))
                process.parentPID = stat.parentPID
                process.cpuTicks = stat.cpuTicks
                process.rssBytes = Self.residentBytes(stat, pageSize: pageSize)
            }
            if fields.contains(.user) { process.uid = uid }
        }
        if fields.contains(.commandLine) {
            process.arguments = buffer.load(pid, .cmdline, at: rootFD) ? Self.splitNul(buffer.bytes) : []
        }
        if fields.contains(.cgroup) {
            process.cgroup = buffer.load(pid, .cgroup, at: rootFD) ? Self.parseCgroup(buffer.bytes) : nil
        }
        if fields.contains(.executable) {
            (process.executable, process.executableDeleted) = Self.executable(buffer.readLink(pid, .exe, at: rootFD))
        }
        if fields.contains(.executableFile) { process.executableFile = buffer.fileIdentity(pid, .exe, at: rootFD) }
        return true
    }

    /// The `exe` link target without the kernel's ` (deleted)` suffix, and whether it had one.
    static func executable(_ target: String?) -> (String?, Bool) {
        let suffix = " (deleted)"
        guard let target else { return (nil, false) }
        return target.hasSuffix(suffix) ? (String(target.dropLast(suffix.count)), true) : (target, false)
    }

    /// Seconds since boot from `/proc/uptime`.
    public func uptimeSeconds() -> Double? {
        guard let text = try? LocalFileSystem().readFile(procRoot + "/uptime"),
            let first = text.split(separator: " ").first
        else { return nil }
        return Double(first)
    }

    private func read(pid: Int32, rootFD: Int32, fields: Fields, buffer: inout ReadBuffer) -> ScannedProcess? {
        // Paths relative to the root descriptor ("1234/stat"): one lookup per file and no
        // descriptor per process directory.
        var uid: UInt32?
        let loaded =
            fields.contains(.user)
            ? buffer.load(pid, .stat, at: rootFD, ownerUID: &uid) : buffer.load(pid, .stat, at: rootFD)
        guard loaded, let stat = ProcessStatFields.parse(buffer.bytes) else { return nil }
        let name = ProcessStatFields.commandName(buffer.bytes) ?? ""
        var arguments: [String] = []
        if fields.contains(.commandLine), buffer.load(pid, .cmdline, at: rootFD) {
            arguments = Self.splitNul(buffer.bytes)
        }
        var cgroup: String?
        if fields.contains(.cgroup), buffer.load(pid, .cgroup, at: rootFD) {
            cgroup = Self.parseCgroup(buffer.bytes)
        }
        var executable: String?
        var deleted = false
        if fields.contains(.executable) { (executable, deleted) = Self.executable(buffer.readLink(pid, .exe, at: rootFD)) }
        return ScannedProcess(
            pid: pid, parentPID: stat.parentPID, name: name, executable: executable, executableDeleted: deleted,
            arguments: arguments, cgroup: cgroup, startTimeTicks: stat.startTicks, uid: uid,
            state: Character(Unicode.Scalar(stat.state)), cpuTicks: stat.cpuTicks, rssBytes: Self.residentBytes(stat, pageSize: pageSize),
            executableFile: fields.contains(.executableFile) ? buffer.fileIdentity(pid, .exe, at: rootFD) : nil)
    }

    /// Resident bytes; 0 where the line has no resident size (a kernel thread's `-` on old
    /// kernels).
    static func residentBytes(_ stat: ProcessStatFields, pageSize: UInt64) -> UInt64 {
        (stat.residentPages ?? 0) &* pageSize
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
