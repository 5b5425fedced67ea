/// One write to a cgroup interface file.
public struct CgroupWrite: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Interface file name beneath the group's directory, e.g. `cpu.max`.
    public var file: String
    public var value: String

    public init(_ file: String, _ value: String) {
        self.file = file
        self.value = value
    }

    public var description: String { "\(file) = \(value)" }
}

/// The writes for one group, and the controllers it needs enabled by its parent.
public struct CgroupGroupPlan: Hashable, Sendable, Codable {
    /// Path below Warden's cgroup root: `trading.slice/trading-critical.slice/order-executor.service`.
    public var path: String
    /// The unit that defines it.
    public var unit: String
    /// Controllers this group's settings need (`cpu`, `cpuset`, `io`, `memory`, `pids`);
    /// every ancestor must have them in `cgroup.subtree_control`.
    public var controllers: [String]
    public var writes: [CgroupWrite]
}

/// Resource settings → an ordered list of cgroup v2 writes, as containerd and runc do:
/// the plan is pure and testable, the writer that carries it out is trivial.
public enum CgroupPlan {
    /// systemd's default `CPUQuotaPeriodSec=`.
    public static let defaultCPUPeriod = TimeSpan.milliseconds(100)

    /// The writes for one group. Order matters to the kernel: cpuset before the rest (a
    /// task must have CPUs to run on), and memory protections before limits.
    public static func writes(for resources: ResourceControl, host: HostFacts?) -> [CgroupWrite] {
        var writes: [CgroupWrite] = []
        if let cpus = resources.allowedCPUs { writes.append(CgroupWrite("cpuset.cpus", cpus.description)) }
        if let nodes = resources.allowedMemoryNodes { writes.append(CgroupWrite("cpuset.mems", nodes.description)) }
        if let weight = resources.cpuWeight {
            writes += weight.cgroupWrites
        }
        if let quota = resources.cpuQuota {
            let period = resources.cpuQuotaPeriod ?? defaultCPUPeriod
            writes.append(CgroupWrite("cpu.max", quota.cpuMaxValue(periodUSec: period.usec)))
        } else if let period = resources.cpuQuotaPeriod {
            writes.append(CgroupWrite("cpu.max", "max \(period.usec)"))
        }
        if let weight = resources.ioWeight { writes.append(CgroupWrite("io.weight", "default \(weight)")) }
        let memoryFiles: [(String, MemoryLimit?)] = [
            ("memory.min", resources.memoryMin), ("memory.low", resources.memoryLow),
            ("memory.high", resources.memoryHigh), ("memory.max", resources.memoryMax),
            ("memory.swap.max", resources.memorySwapMax),
        ]
        for (file, limit) in memoryFiles {
            if let limit { writes.append(CgroupWrite(file, limit.cgroupValue(on: host))) }
        }
        if let tasks = resources.tasksMax { writes.append(CgroupWrite("pids.max", tasks.cgroupValue(on: host))) }
        return writes
    }

    /// Controllers the writes need.
    public static func controllers(for writes: [CgroupWrite]) -> [String] {
        var set = Set<String>()
        for write in writes {
            if let dot = write.file.firstIndex(of: ".") { set.insert(String(write.file[..<dot])) }
        }
        return set.sorted()
    }

    /// The governor throttles groups that are not `Priority=critical` through `cpu.max` and
    /// `cpu.weight`, and raises the `cpu.weight` of critical groups and of the slices holding
    /// them (`memory.high` is covered by the memory controller, which is always enabled for
    /// accounting). Those files exist only where the parent enables the cpu controller, so
    /// every group needs it even when no setting of its own does: without it a batch
    /// component with no CPU setting could not be throttled in an overload.
    static let governorControllers = ["cpu"]

    static func plannedControllers(for writes: [CgroupWrite]) -> [String] {
        Array(Set(controllers(for: writes) + governorControllers)).sorted()
    }

    /// Every group Warden creates for a configuration, parents before children: the slices
    /// (nested by name, as systemd nests them), then a leaf group per component.
    public static func plan(for configuration: Configuration, host: HostFacts?) -> [CgroupGroupPlan] {
        var groups: [CgroupGroupPlan] = []
        for slice in configuration.slices {
            let path = configuration.sliceChain(to: slice.name.description).joined(separator: "/")
            let writes = writes(for: slice.resources, host: host)
            groups.append(
                CgroupGroupPlan(
                    path: path, unit: slice.name.description, controllers: plannedControllers(for: writes),
                    writes: writes))
        }
        // Parents before children: a shorter path is never a descendant of a longer one.
        groups.sort { ($0.path.split(separator: "/").count, $0.path) < ($1.path.split(separator: "/").count, $1.path) }
        for service in configuration.services {
            let path = (configuration.sliceChain(to: service.effectiveSlice) + [service.name.description])
                .joined(separator: "/")
            let writes = writes(for: service.resources, host: host)
            groups.append(
                CgroupGroupPlan(
                    path: path, unit: service.name.description, controllers: plannedControllers(for: writes),
                    writes: writes))
        }
        return groups
    }
}
