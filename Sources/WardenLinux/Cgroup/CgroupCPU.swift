import Glibc
import WardenCore

/// The `cpu` controller: `cpu.max`, `cpu.max.burst`, `cpu.weight`, `cpu.idle`, `cpu.stat`.
enum CgroupCPU {
    static func set(_ write: CgroupWrite, in group: CgroupDirectory, policy: CgroupWriteFailurePolicy) throws(CgroupError) -> CgroupWriteOutcome {
        switch write.file {
        case "cpu.max.burst":
            // cpu.max.burst came with kernel 5.14. Like runc, a missing file is not an
            // error on its own: the quota still holds, only bursting does not.
            return try CgroupFileWriter.plain(write, in: group, policy: policy, absentHint: "kernel before 5.14 has no CPU burst")
        case "cpu.idle":
            // cpu.idle (SCHED_IDLE for the whole group) came with kernel 5.15. Before it,
            // the closest the kernel offers is the lowest weight; write that and say so.
            let outcome = try CgroupFileWriter.plain(write, in: group, policy: policy, absentHint: "kernel before 5.15 has no cpu.idle")
            guard case .notEnforced(let reason) = outcome, write.value == "1", !group.exists("cpu.idle") else { return outcome }
            if case .written = try CgroupFileWriter.plain(CgroupWrite("cpu.weight", "1"), in: group, policy: policy, absentHint: nil) {
                return .notEnforced(reason: reason + "; cpu.weight 1 written instead")
            }
            return outcome
        default:
            return try CgroupFileWriter.plain(write, in: group, policy: policy, absentHint: nil)
        }
    }

    /// `cpu.stat` exists on every group (usage from the core); the throttling lines only
    /// with the controller enabled.
    static func stat(of group: CgroupDirectory, into stats: inout CgroupStats) throws(CgroupError) {
        if let text = try group.readIfPresent("cpu.stat") {
            stats.cpu = try parsed(group, "cpu.stat") { () throws(CgroupParseError) in try CPUStat.parse(text) }
        }
    }
}

/// Turns a parse failure into a `CgroupError` that names the group and file.
func parsed<T>(_ group: CgroupDirectory, _ file: String, _ body: () throws(CgroupParseError) -> T) throws(CgroupError) -> T {
    do { return try body() } catch {
        throw CgroupError(operation: "parse", path: group.path, file: file, errno: 0, detail: error.description)
    }
}
