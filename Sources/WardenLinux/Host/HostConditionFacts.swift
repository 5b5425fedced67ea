import CWardenShims
import Glibc
import WardenCore

/// The answers `Condition…=`/`Assert…=` lines are tested against, read from this machine
/// at the moment of each start: files through stat(2), statvfs(2) and glob(3); host facts
/// from uname(2), /proc, /sys and /etc; Warden's own identity, capabilities, CPU affinity
/// and environment.
public struct HostConditionFacts: ConditionFacts {
    public init() {}

    // MARK: Files

    public func pathTest(_ test: ConditionTest.PathTest, _ path: String) -> Bool? {
        let info = FileIO.status(path, followingLinks: test != .isSymbolicLink)
        let type = info.map { $0.st_mode & S_IFMT }
        switch test {
        case .exists:
            return info != nil
        case .isDirectory:
            return type == S_IFDIR
        case .isSymbolicLink:
            return type == S_IFLNK
        case .isMountPoint:
            return isMountPoint(path)
        case .isReadWrite:
            return warden_path_is_read_only(path) == 0
        case .isEncrypted:
            guard let info else { return false }
            let device = UInt64(info.st_dev)
            let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
            let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
            // No block device behind it (tmpfs, overlay, proc): nothing is encrypted.
            guard major != 0 else { return false }
            return Self.isEncrypted(blockDevice: "/sys/dev/block/\(major):\(minor)", depth: 0)
        case .directoryNotEmpty:
            guard type == S_IFDIR, let entries = LocalFileSystem().listDirectory(path) else { return false }
            // systemd's dir_is_empty(…, ignore_hidden_or_backup = true).
            return entries.contains { !$0.hasPrefix(".") && !$0.hasSuffix("~") && !Self.isPackageBackup($0) }
        case .fileNotEmpty:
            return type == S_IFREG && (info?.st_size ?? 0) > 0
        case .fileIsExecutable:
            return type == S_IFREG && (info?.st_mode ?? 0) & 0o111 != 0
        }
    }

    /// systemd's `path_is_encrypted()`: the device is a dm-crypt mapping (its dm UUID
    /// starts with `CRYPT-`), or is built on one (LVM on LUKS), through its slaves.
    static func isEncrypted(blockDevice directory: String, depth: Int) -> Bool {
        guard depth < 16 else { return false }
        if let uuid = try? FileIO.readText(directory + "/dm/uuid").get(), uuid.hasPrefix("CRYPT-") { return true }
        for slave in LocalFileSystem().listDirectory(directory + "/slaves") ?? [] {
            if isEncrypted(blockDevice: "/sys/class/block/" + slave, depth: depth + 1) { return true }
        }
        return false
    }

    static func isPackageBackup(_ name: String) -> Bool {
        [".rpmnew", ".rpmsave", ".rpmorig", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".dpkg-bak", ".dpkg-backup",
            ".dpkg-remove", ".ucf-new", ".ucf-old", ".ucf-dist", ".swp", ".bak", ".old", ".new"]
            .contains { name.hasSuffix($0) }
    }

    /// Whether the path (symbolic links resolved) is a mount point in /proc/self/mountinfo.
    private func isMountPoint(_ path: String) -> Bool {
        guard let resolved = realpath(path, nil) else { return false }
        let target = String(cString: resolved)
        free(resolved)
        guard let mountinfo = try? FileIO.readText("/proc/self/mountinfo").get() else { return false }
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            if Self.unescapeMountPath(String(fields[4])) == target { return true }
        }
        return false
    }

    /// mountinfo writes space, tab, newline and backslash as `\ooo`.
    static func unescapeMountPath(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var bytes: [UInt8] = []
        let raw = Array(text.utf8)
        var i = 0
        while i < raw.count {
            if raw[i] == UInt8(ascii: "\\"), i + 3 < raw.count,
                let value = UInt8(String(decoding: raw[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(raw[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func globMatches(_ pattern: String) -> Bool {
        var result = glob_t()
        defer { globfree(&result) }
        return glob(pattern, 0, nil, &result) == 0 && result.gl_pathc > 0
    }

    public func readFile(_ path: String) -> [UInt8]? {
        try? FileIO.read(path, limit: 1 << 20).get()
    }

    public func modificationTime(_ path: String) -> (seconds: Int64, nanoseconds: Int64)? {
        guard let info = FileIO.status(path, followingLinks: false) else { return nil }
        return (Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec))
    }

    // MARK: The host

    private func uname() -> (machine: String, release: String) {
        var names = utsname()
        guard Glibc.uname(&names) == 0 else { return ("", "") }
        func field<T>(_ value: inout T) -> String {
            withUnsafeBytes(of: &value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return (field(&names.machine), field(&names.release))
    }

    public var machine: String { uname().machine }
    public var kernelRelease: String { uname().release }

    public var kernelCommandLine: String {
        // In a container, the command line of the container's PID 1 stands for the kernel's.
        if VirtualizationDetector().container() != nil, let bytes = readFile("/proc/1/cmdline") {
            return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        }
        return readFile("/proc/cmdline").map { String(decoding: $0, as: UTF8.self).trimmingCharacters() } ?? ""
    }

    public var hostname: String { HostProbe.hostname() }

    public var machineID: String? {
        guard let bytes = readFile("/etc/machine-id") else { return nil }
        let id = String(decoding: bytes, as: UTF8.self).trimmingCharacters().lowercased()
        return id.count == 32 && id.allSatisfy(\.isHexDigit) ? id : nil
    }

    public var virtualization: DetectedVirtualization { VirtualizationDetector().detect() }

    public var managerEnvironment: [String] { ThisProcess.environment }

    public var boundingCapabilities: CapabilitySet {
        statusField("CapBnd:").flatMap { UInt64($0, radix: 16) }.map { CapabilitySet(bits: $0) } ?? CapabilitySet(bits: 0)
    }

    /// systemd's `on_ac_power()`: any online `Mains` supply, or none known.
    public var onACPower: Bool {
        let directory = "/sys/class/power_supply"
        var foundOnline = false, foundOffline = false
        for name in LocalFileSystem().listDirectory(directory) ?? [] where !name.hasPrefix(".") {
            guard let type = readFile("\(directory)/\(name)/type"),
                String(decoding: type, as: UTF8.self).trimmingCharacters() == "Mains",
                let online = readFile("\(directory)/\(name)/online")
            else { continue }
            if String(decoding: online, as: UTF8.self).trimmingCharacters() == "1" { foundOnline = true } else { foundOffline = true }
        }
        return foundOnline || !foundOffline
    }

    /// systemd's `use_audit()`: an audit netlink socket can be opened.
    public var auditAvailable: Bool? {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 9 /* NETLINK_AUDIT */)
        if fd >= 0 {
            close(fd)
            return true
        }
        switch errno {
        case EAFNOSUPPORT, EPROTONOSUPPORT, EPERM: return false
        default: return nil
        }
    }

    public var realUserID: UInt32 { getuid() }
    public var effectiveUserID: UInt32 { geteuid() }

    public var userName: String? {
        guard let record = try? UserDatabase.user(String(getuid())), UInt32(record.name) == nil else { return nil }
        return record.name
    }

    public func userID(named name: String) -> UInt32? {
        try? UserDatabase.user(name).userID
    }

    public var groupIDs: Set<UInt32> {
        var ids: Set<UInt32> = [getgid(), getegid()]
        let count = getgroups(0, nil)
        if count > 0 {
            var list = [gid_t](repeating: 0, count: Int(count))
            let n = getgroups(count, &list)
            if n > 0 { ids.formUnion(list.prefix(Int(n))) }
        }
        return ids
    }

    public func groupID(named name: String) -> UInt32? {
        try? UserDatabase.groupID(name)
    }

    public var cgroupVersion: Int? {
        if FileIO.exists("/sys/fs/cgroup/cgroup.controllers") { return 2 }
        if FileIO.isDirectory("/sys/fs/cgroup/memory") || FileIO.isDirectory("/sys/fs/cgroup/cpu")
            || FileIO.isDirectory("/sys/fs/cgroup/systemd")
        {
            return 1
        }
        return nil
    }

    public var cgroupControllers: Set<String> {
        if let bytes = readFile("/sys/fs/cgroup/cgroup.controllers") {
            return Set(String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        }
        // Legacy hierarchy: the enabled controllers of /proc/cgroups.
        guard let bytes = readFile("/proc/cgroups") else { return [] }
        var names: Set<String> = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if fields.count >= 4, fields[3] == "1" { names.insert(String(fields[0])) }
        }
        return names
    }

    /// Physical memory, or the memory.max of Warden's own cgroup when lower (a container's).
    public var memoryBytes: UInt64 {
        var bytes = ThisProcess.physicalMemoryBytes
        if let own = readFile("/proc/self/cgroup"), let line = String(decoding: own, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("0::") }) {
            let path = "/sys/fs/cgroup" + line.dropFirst(3) + "/memory.max"
            if let max = readFile(path), let limit = UInt64(String(decoding: max, as: UTF8.self).trimmingCharacters()) {
                bytes = min(bytes, limit)
            }
        }
        return bytes
    }

    public var cpuCount: Int {
        if let list = statusField("Cpus_allowed_list:"), case .success(let cpus) = CPUSet.parse(list) {
            return cpus.count
        }
        return ThisProcess.onlineCPUs
    }

    public var cpuFlags: Set<String> {
        guard let bytes = readFile("/proc/cpuinfo") else { return [] }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    public var osRelease: [String: String] {
        guard let bytes = readFile("/etc/os-release") ?? readFile("/usr/lib/os-release") else { return [:] }
        return OSReleaseFile.parse(String(decoding: bytes, as: UTF8.self))
    }

    public func pressure(_ resource: ConditionTest.PressureResource) -> PressureAverages? {
        guard let bytes = readFile("/proc/pressure/" + resource.rawValue) else { return nil }
        return PressureAverages.parse(String(decoding: bytes, as: UTF8.self))
    }

    private func statusField(_ name: String) -> String? {
        guard let bytes = readFile("/proc/self/status") else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name) {
            return String(line.dropFirst(name.count)).trimmingCharacters()
        }
        return nil
    }
}
