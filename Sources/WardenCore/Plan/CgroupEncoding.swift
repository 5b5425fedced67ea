/// How a resource key's value becomes cgroup v2 writes: the interface files it owns and
/// the text written to them. A `ResourceKeys` row holds one; `CgroupPlan` and the reverse
/// map (`CgroupSettingName`) are derived from them.
public struct CgroupEncoding<Value: Sendable>: Sendable {
    /// The interface files the key writes, the main one first.
    public let files: [String]
    /// The reference's words for what is written, `cpu.max = QUOTA PERIOD`.
    public let summary: String
    let encode: @Sendable (Value, ResourceControl, HostFacts?) -> [CgroupWrite]
    /// Whether a write to one of `files` is this key's, and how the operator names it
    /// when not plain `Key=` (`cpu.idle` → `CPUWeight=idle`). Needed where two keys
    /// share a file: `cpu.max` is `CPUQuotaPeriodSec=`'s only while the quota is `max`.
    let name: @Sendable (CgroupWrite, _ key: String) -> String?

    /// A key with a file of its own, written as `text` makes it.
    public static func file(
        _ file: String, as shape: String? = nil, _ text: @escaping @Sendable (Value) -> String
    ) -> CgroupEncoding {
        CgroupEncoding(
            files: [file], summary: shape.map { "\(file) = \($0)" } ?? file,
            encode: { value, _, _ in [CgroupWrite(file, text(value))] },
            name: { write, key in write.file == file ? key + "=" : nil })
    }
}

extension CgroupEncoding where Value == CPUSet {
    /// `cpuset.cpus`, `cpuset.mems`: the kernel's list format, `0-3,6`.
    public static func cpuList(_ file: String) -> CgroupEncoding { .file(file) { $0.description } }
}

extension CgroupEncoding where Value == CPUWeight {
    /// `cpu.weight`; `idle` is its own file (`cpu.idle`, kernel 5.15+) and leaves the
    /// weight alone.
    public static let cpuWeight = CgroupEncoding(
        files: ["cpu.weight", "cpu.idle"], summary: "cpu.weight (idle: cpu.idle = 1)",
        encode: { weight, _, _ in
            switch weight {
            case .weight(let value): [CgroupWrite("cpu.weight", String(value))]
            case .idle: [CgroupWrite("cpu.idle", "1")]
            }
        },
        name: { write, key in
            switch write.file {
            case "cpu.weight": key + "="
            case "cpu.idle": key + "=idle"
            default: nil
            }
        })
}

extension CgroupEncoding where Value == CPUQuota {
    /// `cpu.max = QUOTA PERIOD`, with `CPUQuotaPeriodSec=` (100ms when unset) adjusted
    /// as systemd adjusts it.
    public static let cpuMaxQuota = CgroupEncoding(
        files: ["cpu.max"], summary: "cpu.max = QUOTA PERIOD",
        encode: { quota, resources, _ in
            let period = resources.cpuQuotaPeriod ?? CgroupPlan.defaultCPUPeriod
            return [CgroupWrite("cpu.max", quota.cpuMaxValue(periodUSec: period.usec))]
        },
        name: { write, key in write.file == "cpu.max" && !write.value.hasPrefix("max") ? key + "=" : nil })
}

extension CgroupEncoding where Value == TimeSpan {
    /// The period of `cpu.max`. With a quota the quota's row writes the file; alone,
    /// the period goes with an unlimited quota, `max PERIOD`.
    public static let cpuMaxPeriod = CgroupEncoding(
        files: ["cpu.max"], summary: "cpu.max (second field)",
        encode: { period, resources, _ in
            resources.cpuQuota == nil ? [CgroupWrite("cpu.max", "max \(period.usec)")] : []
        },
        name: { write, key in write.file == "cpu.max" && write.value.hasPrefix("max") ? key + "=" : nil })
}

extension CgroupEncoding where Value == MemoryLimit {
    /// `memory.*`: bytes, or `max`. A percentage is resolved by
    /// `MemoryLimit.resolved(on:)`; with no machine to resolve it against (a plan shown
    /// by `check-config` without host facts) it is shown as such.
    public static func memory(_ file: String) -> CgroupEncoding {
        CgroupEncoding(
            files: [file], summary: file,
            encode: { limit, _, host in
                let text: String
                switch limit.resolved(on: host) {
                case .value(let bytes): text = String(bytes)
                case .unlimited: text = "max"
                case nil: text = "\(limit) of RAM"
                }
                return [CgroupWrite(file, text)]
            },
            name: { write, key in write.file == file ? key + "=" : nil })
    }
}

extension CgroupEncoding where Value == TasksMax {
    /// `pids.max`: a count, or `max`; a percentage as `TasksMax.resolved(on:)` resolves it.
    public static let pidsMax = CgroupEncoding(
        files: ["pids.max"], summary: "pids.max",
        encode: { tasks, _, host in
            let text: String
            switch tasks.resolved(on: host) {
            case .value(let count): text = String(count)
            case .unlimited: text = "max"
            case nil: text = "\(tasks) of pid_max"
            }
            return [CgroupWrite("pids.max", text)]
        },
        name: { write, key in write.file == "pids.max" ? key + "=" : nil })
}
