import WardenCore

/// A machine described by a table, for the condition evaluator's tests.
struct FixtureFacts: ConditionFacts {
    /// Path → what it is.
    enum Node: Sendable { case file(size: Int, executable: Bool), directory(entries: Int), symlink, mount }
    var nodes: [String: Node] = [
        "/etc/rc.local": .file(size: 0, executable: false),
        "/sbin/quotaon": .file(size: 100, executable: true),
        "/dev/tty0": .file(size: 0, executable: false),
        "/etc/modules-load.d": .directory(entries: 0),
        "/usr/lib/modules-load.d": .directory(entries: 2),
        "/sys/firmware/efi": .directory(entries: 3),
        "/run/creds/token": .file(size: 5, executable: false),
        "/proc": .mount,
        "/bin": .symlink,
        "/etc": .directory(entries: 40),
        "/var": .directory(entries: 12),
    ]
    var readOnly: Set<String> = ["/sys"]
    var files: [String: String] = [
        "/sys/class/dmi/id/bios_version": "1.16.2-debian\n",
        "/sys/module/apparmor/parameters/enabled": "Y\n",
    ]
    var machine = "x86_64"
    var kernelRelease = "6.1.0-18-amd64"
    var kernelCommandLine = "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet modules-load=dm_mod"
    var hostname = "trading-01"
    var machineID: String? = "0123456789abcdef0123456789abcdef"
    var virtualization = DetectedVirtualization(container: "docker", virtualMachine: "kvm")
    var managerEnvironment = ["PATH=/usr/bin", "LANG=C.UTF-8", "CREDENTIALS_DIRECTORY=/run/creds"]
    var boundingCapabilities = CapabilitySet([0, 1, 21])
    var onACPower = true
    var auditAvailable: Bool? = nil
    var realUserID: UInt32 = 0
    var effectiveUserID: UInt32 = 0
    var userName: String? = "root"
    var users: [String: UInt32] = ["root": 0, "trader": 1000]
    var groupIDs: Set<UInt32> = [0, 4]
    var groups: [String: UInt32] = ["root": 0, "adm": 4, "users": 100]
    var cgroupVersion: Int? = 2
    var cgroupControllers: Set<String> = ["cpu", "memory", "pids"]
    var memoryBytes: UInt64 = 4 << 30
    var cpuCount = 2
    var cpuFlags: Set<String> = ["fpu", "sse4_2", "pclmulqdq", "avx2", "hypervisor"]
    var osRelease = ["ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"]
    var pressures: [ConditionTest.PressureResource: PressureAverages] = [
        .memory: PressureAverages(some: [10: 500, 60: 300, 300: 100], full: [10: 200, 60: 150, 300: 50]),
        .cpu: PressureAverages(some: [10: 2500, 60: 2000, 300: 1500], full: nil),
    ]
    var mtimes: [String: (Int64, Int64)] = ["/usr/": (2000, 0), "/etc/.updated": (1000, 0), "/var/.updated": (3000, 0)]

    func pathTest(_ test: ConditionTest.PathTest, _ path: String) -> Bool? {
        var key = path
        while key.count > 1 && key.hasSuffix("/") { key.removeLast() }
        let node = nodes[key]
        switch test {
        case .exists: return node != nil
        case .isDirectory: if case .directory = node { return true } else { return node.map { if case .mount = $0 { true } else { false } } ?? false }
        case .isSymbolicLink: if case .symlink = node { return true } else { return false }
        case .isMountPoint: if case .mount = node { return true } else { return false }
        case .isReadWrite: return node != nil && !readOnly.contains(key)
        case .isEncrypted: return nil
        case .directoryNotEmpty: if case .directory(let n) = node { return n > 0 } else { return false }
        case .fileNotEmpty: if case .file(let size, _) = node { return size > 0 } else { return false }
        case .fileIsExecutable: if case .file(_, let x) = node { return x } else { return false }
        }
    }

    func globMatches(_ pattern: String) -> Bool { nodes.keys.contains { ShellGlob.matches(pattern, $0) } }
    func readFile(_ path: String) -> [UInt8]? { files[path].map { Array($0.utf8) } }
    func modificationTime(_ path: String) -> (seconds: Int64, nanoseconds: Int64)? { mtimes[path].map { ($0.0, $0.1) } }
    func userID(named name: String) -> UInt32? { users[name] }
    func groupID(named name: String) -> UInt32? { groups[name] }
    func pressure(_ resource: ConditionTest.PressureResource) -> PressureAverages? { pressures[resource] }
}

/// Parses `KEY=VALUE` lines as a unit's [Unit] section would, for the tests.
func conditionLines(_ lines: [(String, String)]) -> [UnitCondition] {
    lines.compactMap { key, value in try? UnitCondition.parse(key: key, value: value).get() }
}
