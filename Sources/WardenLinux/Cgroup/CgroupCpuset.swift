import Glibc
import WardenCore

/// The `cpuset` controller: `cpuset.cpus`, `cpuset.mems`, `cpuset.cpus.partition`.
enum CgroupCpuset {
    static func set(_ write: CgroupWrite, in group: CgroupDirectory, policy: CgroupWriteFailurePolicy) throws(CgroupError) -> CgroupWriteOutcome {
        let outcome = try CgroupFileWriter.plain(write, in: group, policy: policy, absentHint: nil)
        guard write.file == "cpuset.cpus.partition", case .written = outcome else { return outcome }
        // The kernel accepts "root" or "isolated" and then decides: when the group's
        // CPUs are not exclusive, or the parent is not a partition root, the file reads
        // back "isolated invalid (reason)". The write succeeded, the isolation did not.
        let text = try group.read(write.file)
        let verdict = try parsed(group, write.file) { () throws(CgroupParseError) in try CpusetPartition.parse(text) }
        if !verdict.isValid {
            return .notEnforced(reason: "the kernel made the partition '\(verdict)'")
        }
        return outcome
    }

    /// The kernel's current verdict for the group's partition.
    static func partition(of group: CgroupDirectory) throws(CgroupError) -> CpusetPartition? {
        guard let text = try group.readIfPresent("cpuset.cpus.partition") else { return nil }
        return try parsed(group, "cpuset.cpus.partition") { () throws(CgroupParseError) in try CpusetPartition.parse(text) }
    }
}
