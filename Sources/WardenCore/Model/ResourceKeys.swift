// The resource-control keys of `[Service]` and `[Slice]` (systemd.resource-control(5)),
// one row each. A key is added here, with its field in `ResourceControl` and, when no
// existing encoding fits, its encoders in `CgroupEncoding` and `SystemdPropertyEncoding`;
// the parser, both plans, the reverse map, the verbatim keys and the reference follow.

/// Every resource-control key Warden enforces.
public enum ResourceKeys {
    /// Whether `%` specifiers are expanded in a key's value before it is parsed.
    public enum Specifiers: Hashable, Sendable {
        case expanded
        /// The value is used as written: systemd parses percentage keys without
        /// specifiers, so their `%` is literal.
        case verbatim
    }

    public static let allowedCPUs = ResourceKey(
        "AllowedCPUs", \.allowedCPUs, parse: CPUSet.parse,
        "CPUs the group's processes may run on.", syntax: "CPU list, e.g. 0-3,6", default: "all CPUs of the parent",
        cgroup: .cpuList("cpuset.cpus"), dbus: .bitmask("AllowedCPUs"))

    public static let allowedMemoryNodes = ResourceKey(
        "AllowedMemoryNodes", \.allowedMemoryNodes, parse: CPUSet.parse,
        "NUMA memory nodes the group may allocate from.", syntax: "node list, e.g. 0 or 0-1",
        default: "all nodes of the parent",
        cgroup: .cpuList("cpuset.mems"), dbus: .bitmask("AllowedMemoryNodes"))

    public static let cpuWeight = ResourceKey(
        "CPUWeight", \.cpuWeight, parse: nonEmpty(CPUWeight.parse),
        "Relative share of CPU time against sibling groups when the CPUs are contended.",
        syntax: "integer 1…10000, or idle", default: "100 (kernel default)",
        cgroup: .cpuWeight,
        // `CGROUP_WEIGHT_IDLE` (0) is `idle` on the bus (systemd 250+).
        dbus: .uint64("CPUWeight") { weight in
            switch weight {
            case .weight(let value): value
            case .idle: 0
            }
        },
        governed: true)

    public static let cpuQuota = ResourceKey(
        "CPUQuota", \.cpuQuota, parse: nonEmpty(CPUQuota.parse),
        "Hard cap on CPU time, as a share of one CPU per second of wall time; 150% lets the group use 1.5 CPUs.",
        syntax: "percentage > 0, e.g. 20%, 150%", default: "no cap (max)",
        cgroup: .cpuMaxQuota, dbus: .uint64("CPUQuotaPerSecUSec") { $0.perSecondUSec },
        specifiers: .verbatim, governed: true)

    public static let cpuQuotaPeriod = ResourceKey(
        "CPUQuotaPeriodSec", \.cpuQuotaPeriod, parse: nonEmpty(CPUQuotaPeriod.parse),
        "Period over which CPUQuota= is enforced; shorter periods smooth latency, longer ones cost less.",
        syntax: "time span, 1ms…1s", default: "100ms",
        cgroup: .cpuMaxPeriod, dbus: .uint64("CPUQuotaPeriodUSec") { $0.usec })

    public static let ioWeight = ResourceKey(
        "IOWeight", \.ioWeight, parse: nonEmpty(IOWeight.parse),
        "Relative share of block I/O against sibling groups.", syntax: "integer 1…10000",
        default: "100 (kernel default)",
        // `io.weight` lists a default line and per-device overrides; the key sets the default.
        cgroup: .file("io.weight", as: "default N") { "default \($0.value)" },
        dbus: .uint64("IOWeight") { $0.value })

    public static let memoryMin = ResourceKey(
        "MemoryMin", \.memoryMin, parse: { MemoryLimit.parse($0, for: .memoryMin) },
        "Memory that is never reclaimed from the group (hard protection).",
        syntax: "bytes with K/M/G/T suffix (base 1024), N% of RAM, or infinity", default: "0",
        cgroup: .memory("memory.min"), dbus: .memory("MemoryMin", unset: 0), specifiers: .verbatim)

    public static let memoryLow = ResourceKey(
        "MemoryLow", \.memoryLow, parse: { MemoryLimit.parse($0, for: .memoryLow) },
        "Memory that is reclaimed from the group only when nothing unprotected is left (soft protection).",
        syntax: "bytes, N%, or infinity", default: "0",
        cgroup: .memory("memory.low"), dbus: .memory("MemoryLow", unset: 0), specifiers: .verbatim)

    public static let memoryHigh = ResourceKey(
        "MemoryHigh", \.memoryHigh, parse: { MemoryLimit.parse($0, for: .memoryHigh) },
        "Throttle point: above it the group's allocations are slowed and reclaimed hard.",
        syntax: "bytes, N%, or infinity", default: "infinity",
        cgroup: .memory("memory.high"), dbus: .memory("MemoryHigh"), specifiers: .verbatim, governed: true)

    public static let memoryMax = ResourceKey(
        "MemoryMax", \.memoryMax, parse: { MemoryLimit.parse($0, for: .memoryMax) },
        "Hard limit: above it the kernel's OOM killer acts inside the group.",
        syntax: "bytes, N%, or infinity", default: "infinity",
        cgroup: .memory("memory.max"), dbus: .memory("MemoryMax"), specifiers: .verbatim)

    public static let memorySwapMax = ResourceKey(
        "MemorySwapMax", \.memorySwapMax, parse: { MemoryLimit.parse($0, for: .memorySwapMax) },
        "Limit on the group's swap use; 0 keeps a latency-critical process out of swap.",
        syntax: "bytes, N%, or infinity", default: "infinity",
        cgroup: .memory("memory.swap.max"), dbus: .memory("MemorySwapMax"), specifiers: .verbatim)

    public static let memoryZSwapMax = ResourceKey(
        "MemoryZSwapMax", \.memoryZSwapMax, parse: { MemoryLimit.parse($0, for: .memoryZSwapMax) },
        "Limit on the group's compressed swap cache (zswap); 0 keeps its pages out of zswap.",
        syntax: "bytes, N%, or infinity", default: "infinity",
        cgroup: .memory("memory.zswap.max"), dbus: .memory("MemoryZSwapMax"), specifiers: .verbatim)

    public static let tasksMax = ResourceKey(
        "TasksMax", \.tasksMax, parse: nonEmpty(TasksMax.parse),
        "Maximum number of tasks (processes and threads) in the group; stops fork bombs.",
        syntax: "integer, N% of the kernel's pid_max, or infinity", default: "infinity",
        systemd: .differs("systemd defaults to 15% of pid_max (DefaultTasksMax=); Warden leaves it unlimited unless set"),
        cgroup: .pidsMax, dbus: .tasksMax, specifiers: .verbatim)

    /// Every row, in the order the writes go to the kernel (and the properties to
    /// systemd): cpuset first, since a task must have CPUs to run on, and memory
    /// protections before limits.
    public static let all: [any ResourceKeyRow] = [
        allowedCPUs, allowedMemoryNodes, cpuWeight, cpuQuota, cpuQuotaPeriod, ioWeight,
        memoryMin, memoryLow, memoryHigh, memoryMax, memorySwapMax, memoryZSwapMax, tasksMax,
    ]

    /// The keys the governor may change.
    public static var governed: [any ResourceKeyRow] { all.filter(\.governed) }

    /// The controllers the keys' files belong to (`cpu`, `cpuset`, `io`, `memory`, `pids`).
    public static let controllers = Set(all.flatMap(\.cgroupFiles).map(CgroupSettingName.controller(of:))).sorted()

    /// The keys whose values are used without specifier expansion.
    public static let verbatimKeys = Set(all.filter { $0.specifiers == .verbatim }.map(\.key))

    /// The parser's rules for the keys that belong in `section`, storing into `part`.
    static func rules<Model>(in section: String, of part: WritableKeyPath<Model, ResourceControl> & Sendable) -> [KeyRule<Model>] {
        all.compactMap { $0.rule(in: section, of: part) }
    }
}
