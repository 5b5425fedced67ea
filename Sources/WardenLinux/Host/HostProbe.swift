import Glibc
import WardenCore

/// Reads the facts about this machine that configuration checks need.
public enum HostProbe {
    /// CPUs, memory (within Warden's cgroup limits) and pid_max of this machine, read from
    /// `/sys` and `/proc` below `root`
    /// (a parameter so tests can point it at a seeded directory), and its page size.
    public static func facts(root: String = "") -> HostFacts {
        let fs = LocalFileSystem()
        var facts = HostFacts()
        if let online = try? fs.readFile(root + "/sys/devices/system/cpu/online"),
            case .success(let cpus) = CPUSet.parse(online.trimmingCharacters())
        {
            facts.onlineCPUs = cpus
        }
        // MemTotal narrowed by the memory.max of Warden's cgroups, as systemd's
        // physical_memory(): `MemoryMax=50%` in a container is half the container's memory.
        facts.physicalMemoryBytes = CapacityProbe.read(root: root).memoryBytes
        if let pidMax = try? fs.readFile(root + "/proc/sys/kernel/pid_max") {
            facts.pidMax = UInt64(pidMax.trimmingCharacters())
        }
        facts.systemBusPresent = FileIO.exists(root + SystemBusNames.socketPath)
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        if pageSize > 0 { facts.pageSizeBytes = UInt64(pageSize) }
        return facts
    }

    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directory of the running executable, so programs shipped next to `warden`
    /// (such as `warden-demo`) are found by plain name.
    public static func executableDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let path = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }
}

extension HostProbe {
    /// Warden's effective capabilities (`CapEff:` of /proc/self/status).
    public static func effectiveCapabilities(procRoot: String = "/proc") -> CapabilitySet {
        guard let status = try? LocalFileSystem().readFile(procRoot + "/self/status") else { return CapabilitySet(bits: 0) }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            return CapabilitySet(bits: UInt64(hex, radix: 16) ?? 0)
        }
        return CapabilitySet(bits: 0)
    }
}
