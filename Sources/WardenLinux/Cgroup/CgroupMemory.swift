import Glibc
import WardenCore

/// The `memory` controller: `memory.min/low/high/max/swap.max`, `memory.oom.group`,
/// `memory.reclaim`, and its statistics.
public enum CgroupMemory {
    static func set(_ write: CgroupWrite, in group: CgroupDirectory, policy: CgroupWriteFailurePolicy) throws(CgroupError) -> CgroupWriteOutcome {
        switch write.file {
        case "memory.swap.max":
            return try CgroupFileWriter.plain(
                write, in: group, policy: policy, absentHint: "swap accounting is off: no swap, swapaccount=0 or no CONFIG_MEMCG_SWAP")
        case "memory.zswap.max":
            return try CgroupFileWriter.plain(
                write, in: group, policy: policy, absentHint: "no zswap accounting: a kernel before 5.19 or without CONFIG_ZSWAP")
        case "memory.max", "memory.high":
            // Lowering the limit below current usage does not fail with EBUSY (that is
            // cgroup v1's memory.limit_in_bytes). In v2 the new limit is set first, then
            // the write reclaims; if reclaim cannot get under memory.max the kernel
            // OOM-kills inside the group and the write still succeeds. The write can
            // therefore block for a while, and is retried on EINTR by the writer.
            return try CgroupFileWriter.plain(write, in: group, policy: policy, absentHint: nil)
        default:
            return try CgroupFileWriter.plain(write, in: group, policy: policy, absentHint: nil)
        }
    }

    static func stat(of group: CgroupDirectory, into stats: inout CgroupStats) throws(CgroupError) {
        if let text = try group.readIfPresent("memory.current") {
            stats.memoryCurrentBytes = try parsed(group, "memory.current") { () throws(CgroupParseError) in
                try CgroupFileFormat.singleValue(text, file: "memory.current")
            }
        }
        if let text = try group.readIfPresent("memory.peak") {
            stats.memoryPeakBytes = try parsed(group, "memory.peak") { () throws(CgroupParseError) in
                try CgroupFileFormat.singleValue(text, file: "memory.peak")
            }
        }
        if let text = try group.readIfPresent("memory.stat") {
            stats.memory = try parsed(group, "memory.stat") { () throws(CgroupParseError) in try MemoryStat.parse(text) }
        }
        if let text = try group.readIfPresent("memory.events") {
            stats.memoryEvents = try parsed(group, "memory.events") { () throws(CgroupParseError) in try MemoryEvents.parse(text) }
        }
    }

    /// Asks the kernel to reclaim `bytes` from the group (`memory.reclaim`, kernel 5.19+).
    /// - Returns: false when the kernel has no `memory.reclaim`. EAGAIN (could not
    ///   reclaim that much) is not an error: reclaim is best effort.
    public static func reclaim(_ group: CgroupDirectory, bytes: UInt64) throws(CgroupError) -> Bool {
        do {
            try group.write("memory.reclaim", String(bytes))
            return true
        } catch where error.errno == ENOENT {
            return false
        } catch where error.errno == EAGAIN {
            return true
        }
    }
}
