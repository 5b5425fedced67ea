import Glibc
import WardenCore

/// The `io` controller: `io.weight` (`IOWeight=`). Its pressure is read with the
/// others' (`CgroupPressure`).
enum CgroupIO {
    static func set(_ write: CgroupWrite, in group: CgroupDirectory, policy: CgroupWriteFailurePolicy) throws(CgroupError) -> CgroupWriteOutcome {
        // io.weight is blk-iocost's file (CONFIG_BLK_CGROUP_IOCOST); a kernel with only
        // BFQ has io.bfq.weight instead, and neither file exists in the root group. Where
        // it exists the write succeeds, but the weight acts only on devices whose
        // io.cost.qos (in the root group) enables iocost.
        try CgroupFileWriter.plain(write, in: group, policy: policy, absentHint: "io.weight needs a weight-based IO controller (blk-iocost)")
    }
}
