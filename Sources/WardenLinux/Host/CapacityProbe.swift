import WardenCore

/// Reads `AvailableCapacity`: the machine's CPUs and memory, then Warden's own cgroup
/// (`/proc/self/cgroup`) and each group above it up to the root of the mount. Inside a
/// container with a private cgroup namespace the mount's root is the container's group,
/// whose `cpu.max` and `memory.max` are the container's limits.
public enum CapacityProbe {
    public static func read(root: String = "", cgroupRoot: String = "/sys/fs/cgroup") -> AvailableCapacity {
        let fs = LocalFileSystem()
        func text(_ path: String) -> String? { try? fs.readFile(path) }
        var online = Int(ThisProcess.onlineCPUs)
        if let list = text(root + "/sys/devices/system/cpu/online"), case .success(let cpus) = CPUSet.parse(list.trimmingCharacters()) {
            online = cpus.count
        }
        let memTotal = text(root + "/proc/meminfo").flatMap { try? MemoryInfo.values($0).get()["MemTotal"] }
        var capacity = AvailableCapacity(onlineCPUs: online, physicalMemoryBytes: memTotal)
        guard let own = text(root + "/proc/self/cgroup").flatMap(ProcessCgroup.unifiedPath) else { return capacity }
        let base = root + cgroupRoot
        var group = own == "/" ? "" : own
        if let cpuset = text(base + group + "/cpuset.cpus.effective") { capacity.restrict(cpuset: cpuset) }
        while true {
            capacity.narrow(
                group: group.isEmpty ? "/" : group, cpuMax: text(base + group + "/cpu.max"),
                memoryMax: text(base + group + "/memory.max"))
            guard let slash = group.lastIndex(of: "/") else { break }
            group = String(group[..<slash])
        }
        return capacity
    }
}
