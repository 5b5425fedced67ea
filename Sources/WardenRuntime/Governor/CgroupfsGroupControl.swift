import WardenCore
import WardenLinux

/// The governor's groups in Warden's own delegated subtree: written through the cgroup
/// manager (its write policy, its `openat` beneath the root).
public final class CgroupfsGroupControl: GovernorGroupControl {
    public let manager: CgroupManager
    public let reader: GovernorCgroupReader

    public init(manager: CgroupManager) {
        self.manager = manager
        self.reader = GovernorCgroupReader(cgroupRoot: manager.rootPath)
    }

    public var record: GovernorGroupRecord { .cgroupfs(root: manager.rootPath) }

    public func write(_ writes: [CgroupWrite], to path: String, target: String) -> [String] {
        var failures: [String] = []
        for write in writes {
            do {
                let result = try manager.apply([write], to: path, unit: target)
                for setting in result.unenforced { failures.append("\(target) \(write.file) = '\(write.value)': \(setting.reason)") }
            } catch {
                failures.append("\(target): \(error)")
            }
        }
        return failures
    }

    public func reclaim(_ bytes: UInt64, from path: String, target: String) -> [String] {
        do {
            if try !manager.reclaim(path, bytes: bytes) { return ["\(target): memory.reclaim is not available (kernel before 5.19)"] }
            return []
        } catch {
            return ["\(target): \(error)"]
        }
    }
}
