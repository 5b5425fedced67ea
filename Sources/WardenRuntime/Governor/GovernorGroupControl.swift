import WardenCore
import WardenLinux

/// Where the governor's group targets (Warden's slices and components) live, and how it
/// changes them: cgroupfs in Warden's delegated subtree (`CgroupfsGroupControl`), or
/// systemd's units when the components are transient scopes (`SystemdUnitGroupControl`).
/// The governor reads and records cgroup-file values either way; only the writing
/// differs.
public protocol GovernorGroupControl: AnyObject {
    /// Reads the groups' current values and pressure (paths below its root).
    var reader: GovernorCgroupReader { get }
    /// What a later `warden emergency` without a daemon needs to reach the same groups.
    var record: GovernorGroupRecord { get }
    /// Carries out `writes` on the group at `path` (`target` names it in messages).
    /// Returns one line per write that did not take; one failure never stops the others.
    func write(_ writes: [CgroupWrite], to path: String, target: String) -> [String]
    /// Asks the kernel to reclaim `bytes` from the group. Returns the failures.
    func reclaim(_ bytes: UInt64, from path: String, target: String) -> [String]
}

/// How the daemon reached its groups, as kept in `STATE/governor.cgroup-root`: one line,
/// the cgroupfs root (`/sys/fs/cgroup/system.slice/warden.service/stack`), or
/// `systemd-units ROOT` when the groups are systemd's units below the hierarchy `ROOT`.
public enum GovernorGroupRecord: Hashable, Sendable {
    case cgroupfs(root: String)
    case systemdUnits(cgroupRoot: String)

    static let systemdUnitsWord = "systemd-units"

    public var line: String {
        switch self {
        case .cgroupfs(let root): root
        case .systemdUnits(let root): Self.systemdUnitsWord + " " + root
        }
    }

    /// The record a line holds; nil for an empty or unknown line.
    public static func parse(_ line: String) -> GovernorGroupRecord? {
        if line.hasPrefix("/") { return .cgroupfs(root: line) }
        let words = line.split(separator: " ", maxSplits: 1)
        if words.count == 2, words[0] == Substring(systemdUnitsWord), words[1].hasPrefix("/") {
            return .systemdUnits(cgroupRoot: String(words[1]))
        }
        return nil
    }
}
