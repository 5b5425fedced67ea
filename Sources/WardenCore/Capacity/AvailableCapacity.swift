/// The CPUs and memory Warden may actually use: the machine's, narrowed by the cgroups it
/// runs in. Inside a container (or any group with limits) `nproc` and `MemTotal` name the
/// host's, while the kernel holds Warden to its group's `cpuset.cpus.effective`, to the
/// tightest `cpu.max` quota and `memory.max` on the way up to the root. Thresholds per CPU
/// (load per CPU), `MemoryMax=50%` and `warden diagnose` use these figures, as systemd's
/// `physical_memory()` takes its own group's `memory.max` into account.
public struct AvailableCapacity: Hashable, Sendable {
    /// The machine's online CPUs and its `MemTotal`.
    public var onlineCPUs: Int
    public var physicalMemoryBytes: UInt64?
    /// The group's `cpuset.cpus.effective` (nil: not readable, the online CPUs apply).
    public var cpusetCPUs: Int?
    /// The tightest `cpu.max` on the way up, as CPUs (quota / period), and where it is set.
    public var quotaCPUs: Double?
    public var quotaGroup: String?
    /// The tightest `memory.max` on the way up, and where it is set.
    public var memoryLimitBytes: UInt64?
    public var memoryLimitGroup: String?

    public init(onlineCPUs: Int, physicalMemoryBytes: UInt64?) {
        self.onlineCPUs = max(onlineCPUs, 1)
        self.physicalMemoryBytes = physicalMemoryBytes
    }

    /// Whole CPUs Warden may keep busy: min(cpuset, ⌈quota / period⌉), at least 1.
    public var cpus: Int {
        var count = min(cpusetCPUs ?? onlineCPUs, onlineCPUs)
        if let quotaCPUs { count = min(count, Int(quotaCPUs.rounded(.up))) }
        return max(count, 1)
    }

    /// Memory Warden may use: min(MemTotal, memory.max).
    public var memoryBytes: UInt64? {
        switch (physicalMemoryBytes, memoryLimitBytes) {
        case (let physical?, let limit?): min(physical, limit)
        case (let physical?, nil): physical
        case (nil, let limit): limit
        }
    }

    /// Whether a cgroup narrows what the machine has.
    public var isLimited: Bool {
        cpus < onlineCPUs || (memoryBytes != nil && physicalMemoryBytes != nil && memoryBytes! < physicalMemoryBytes!)
    }

    /// One line for `diagnose` and the start-up log: `2 CPUs of 8 online (cpu.max 200000
    /// 100000 at /pod), 4.0 GiB of 31.3 GiB (memory.max at /pod)`.
    public var summary: String {
        var cpuText = "\(cpus) CPU\(cpus == 1 ? "" : "s")"
        if cpus < onlineCPUs {
            var why: [String] = []
            if let cpuset = cpusetCPUs, cpuset < onlineCPUs { why.append("cpuset of \(cpuset)") }
            if let quotaCPUs, let quotaGroup, Int(quotaCPUs.rounded(.up)) < onlineCPUs {
                why.append("cpu.max \(OperatorText.fixed(quotaCPUs, decimals: 2)) CPUs at \(quotaGroup)")
            }
            cpuText += " of \(onlineCPUs) online (\(why.joined(separator: ", ")))"
        }
        guard let memory = memoryBytes else { return cpuText }
        var memoryText = OperatorText.bytes(memory)
        if let limit = memoryLimitBytes, let group = memoryLimitGroup, let physical = physicalMemoryBytes, limit < physical {
            memoryText += " of \(OperatorText.bytes(physical)) (memory.max at \(group))"
        }
        return cpuText + ", " + memoryText
    }

    /// Narrows the capacity by one group's files, read on the way from Warden's own group
    /// up to the root: `cpu.max` (`max 100000` or `QUOTA PERIOD`), `memory.max` (`max` or
    /// bytes). Unreadable or malformed files change nothing.
    public mutating func narrow(group: String, cpuMax: String?, memoryMax: String?) {
        if let cpuMax {
            let words = cpuMax.split(whereSeparator: { $0 == " " || $0 == "\n" })
            if words.count == 2, let quota = Double(words[0]), let period = Double(words[1]), period > 0, quota > 0 {
                let value = quota / period
                if quotaCPUs == nil || value < quotaCPUs! {
                    quotaCPUs = value
                    quotaGroup = group
                }
            }
        }
        if let memoryMax, let bytes = UInt64(ValueSyntax.trimmed(memoryMax)) {
            if memoryLimitBytes == nil || bytes < memoryLimitBytes! {
                memoryLimitBytes = bytes
                memoryLimitGroup = group
            }
        }
    }

    /// `cpuset.cpus.effective` of Warden's own group.
    public mutating func restrict(cpuset text: String) {
        if case .success(let set) = CPUSet.parse(ValueSyntax.trimmed(text)) { cpusetCPUs = set.count }
    }
}
