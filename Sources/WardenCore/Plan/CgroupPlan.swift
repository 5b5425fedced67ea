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

    /// The writes for one group, one `ResourceKeys` row after the other: order matters
    /// to the kernel (see `ResourceKeys.all`).
    public static func writes(for resources: ResourceControl, host: HostFacts?) -> [CgroupWrite] {
        ResourceKeys.all.flatMap { $0.writes(for: resources, host: host) }
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
