import Glibc
import WardenCore

/// What happens when a write fails with an errno that a restricted environment
/// explains. Named so the choice is visible at the call site.
public enum CgroupWriteFailurePolicy: Hashable, Sendable {
    /// As systemd does: EROFS (read-only cgroupfs, common in containers), ENOENT (file or
    /// controller absent on this kernel), EOPNOTSUPP, EACCES and EPERM (not delegated)
    /// make the setting "not enforced" with a warning; any other errno is an error.
    case degrade
    /// Every failed write is an error (for `FailOnUnenforceable=yes` and tests).
    case strict

    func degrades(_ code: Int32) -> Bool {
        switch self {
        case .strict: false
        case .degrade: [EROFS, ENOENT, EOPNOTSUPP, EACCES, EPERM].contains(code)
        }
    }
}

/// The result of one planned write.
enum CgroupWriteOutcome {
    /// Written; `previous` restores what was there (nil when nothing could be read).
    case written(previous: CgroupWrite?)
    /// Not enforced, with the reason an operator reads.
    case notEnforced(reason: String)
}

/// The one place that turns a planned write into file I/O; controllers add their
/// quirks around it (see `CgroupCPU`, `CgroupCpuset`, `CgroupIO`, `CgroupMemory`).
enum CgroupFileWriter {
    static func set(_ write: CgroupWrite, in group: CgroupDirectory, policy: CgroupWriteFailurePolicy) throws(CgroupError) -> CgroupWriteOutcome {
        switch CgroupSettingName.controller(of: write.file) {
        case "cpu": try CgroupCPU.set(write, in: group, policy: policy)
        case "cpuset": try CgroupCpuset.set(write, in: group, policy: policy)
        case "memory": try CgroupMemory.set(write, in: group, policy: policy)
        case "io": try CgroupIO.set(write, in: group, policy: policy)
        default: try plain(write, in: group, policy: policy, absentHint: nil)
        }
    }

    /// Reads the current value (to return it), then writes the new one.
    static func plain(
        _ write: CgroupWrite, in group: CgroupDirectory, policy: CgroupWriteFailurePolicy, absentHint: String?
    ) throws(CgroupError) -> CgroupWriteOutcome {
        var previous: CgroupWrite?
        do {
            if let text = try group.readIfPresent(write.file) {
                previous = CgroupWrite(write.file, restorableValue(file: write.file, contents: text))
            }
        } catch where policy.degrades(error.errno) {
            // Unreadable but maybe writable: go on, nothing to restore.
        }
        do {
            try group.write(write.file, write.value)
        } catch where policy.degrades(error.errno) {
            return .notEnforced(reason: reason(for: error, file: write.file, absentHint: absentHint))
        }
        return .written(previous: previous)
    }

    /// What to write back to restore a file's contents exactly. Most files read back in
    /// the syntax they accept (`cpu.max` "max 100000", `memory.max` "max", `cpu.weight`
    /// "100"). `io.weight` lists "default N" and then per-device overrides, which Warden
    /// never writes, so the default line restores it. `cpuset.cpus.partition` reads
    /// "isolated invalid (…)" but accepts only the first word.
    static func restorableValue(file: String, contents: String) -> String {
        let firstLine = contents.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        switch file {
        case "cpuset.cpus.partition":
            return String(firstLine.prefix { $0 != " " })
        default:
            return firstLine.trimmingCharacters()
        }
    }

    static func reason(for error: CgroupError, file: String, absentHint: String?) -> String {
        switch error.errno {
        case ENOENT: "\(file) does not exist" + (absentHint.map { " (\($0))" } ?? " (controller not enabled, or not in this kernel)")
        case EROFS: "the cgroup file system is read-only"
        case EOPNOTSUPP: "\(file) is not supported by this kernel"
        case EACCES, EPERM: "no permission to write \(file) (the cgroup is not delegated to Warden)"
        default: "\(file): \(errnoDescription(error.errno))"
        }
    }
}
