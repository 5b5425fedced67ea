/// Group names and relative paths are checked before they touch the file system: a
/// group path comes from unit names, and `openat` beneath the root's descriptor only
/// stays beneath it when no component can climb (`..`) or hide (`.x`, which the kernel
/// would also take for an interface file's name space).
public enum CgroupPathCheck {
    /// Why `name` cannot be one cgroup directory name, or nil when it can.
    public static func problem(withName name: String) -> String? {
        if name.isEmpty { return "empty name" }
        if name.contains("/") { return "'\(name)' contains '/'" }
        if name == "." || name == ".." || name.contains("..") { return "'\(name)' contains '..'" }
        if name.hasPrefix(".") { return "'\(name)' starts with '.'" }
        if name.utf8.count > 255 { return "'\(name)' is longer than 255 bytes" }
        if name.utf8.contains(0) || name.utf8.contains(UInt8(ascii: "\n")) { return "'\(name)' contains a control character" }
        // cgroup interface files are `controller.file`; a group must not shadow one.
        for prefix in ["cgroup.", "cpu.", "cpuset.", "io.", "memory.", "pids.", "rdma.", "hugetlb.", "misc."] where name.hasPrefix(prefix) {
            return "'\(name)' looks like a cgroup interface file"
        }
        return nil
    }

    /// Splits `a.slice/b.service` into checked names; the first problem is returned as a failure.
    public static func components(of path: String) -> Result<[String], CgroupPathError> {
        if path.isEmpty { return .success([]) }
        var names: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            if let problem = problem(withName: String(part)) {
                return .failure(CgroupPathError(path: path, reason: problem))
            }
            names.append(String(part))
        }
        return .success(names)
    }
}

/// A group path that cannot be used.
public struct CgroupPathError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cgroup path '\(path)': \(reason)" }
}

/// One name per setting: the interface file back to the operator's key.
public enum CgroupSettingName {
    /// The key of the `ResourceKeys` row that writes the file: `cpu.max` → `CPUQuota=`,
    /// `cpu.max` with an unlimited quota → `CPUQuotaPeriodSec=`, `cpu.idle` →
    /// `CPUWeight=idle`; the file itself when no key writes it (the governor's
    /// `cgroup.freeze`).
    public static func key(for write: CgroupWrite) -> String {
        ResourceKeys.all.lazy.compactMap { $0.name(of: write) }.first ?? write.file
    }

    /// The controller a file belongs to: `memory.swap.max` → `memory`.
    public static func controller(of file: String) -> String {
        file.split(separator: ".", maxSplits: 1).first.map(String.init) ?? file
    }
}

/// What Warden found out about the cgroup hierarchy it is to manage.
public struct CgroupAvailability: Hashable, Sendable {
    public enum Hierarchy: Hashable, Sendable {
        /// A writable, delegated cgroup v2 group.
        case usable
        /// No cgroup v2 at all, or Warden's group is not writable; the reason says which
        /// (`/sys/fs/cgroup is not cgroup2 (hybrid v1 host)`, `read-only cgroupfs`).
        case unusable(reason: String)
    }

    public var hierarchy: Hierarchy
    /// Controllers in Warden's group's `cgroup.controllers`: what it may enable below.
    public var availableControllers: Set<String>
    /// Why a controller is missing, when more can be said than "not available"
    /// (`UML is uniprocessor: no cpuset`); keyed by controller.
    public var missingControllerNotes: [String: String]

    public init(hierarchy: Hierarchy, availableControllers: Set<String> = [], missingControllerNotes: [String: String] = [:]) {
        self.hierarchy = hierarchy
        self.availableControllers = availableControllers
        self.missingControllerNotes = missingControllerNotes
    }
}

/// A setting that will not be enforced, and why.
public struct UnenforcedSetting: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The operator's key, `CPUQuota=`.
    public var key: String
    /// The unit that set it, `backtest.service`.
    public var unit: String
    /// The interface file it would have been written to.
    public var file: String
    /// `cpu controller not available`; settings with the same reason share one message.
    public var reason: String

    public init(key: String, unit: String, file: String, reason: String) {
        self.key = key
        self.unit = unit
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(key) on \(unit): \(reason)" }
}

/// Decides which planned settings the host cannot enforce, before anything is written.
/// Files that turn out to be missing while writing (an old kernel without
/// `memory.swap.max` or `cpu.idle`) are reported by the writer in the same form.
public enum CgroupEnforcement {
    public static func unenforced(plan: [CgroupGroupPlan], availability: CgroupAvailability) -> [UnenforcedSetting] {
        var result: [UnenforcedSetting] = []
        for group in plan {
            for write in group.writes {
                let reason: String?
                switch availability.hierarchy {
                case .unusable(let why):
                    reason = "cgroup v2 not usable: \(why)"
                case .usable:
                    let controller = CgroupSettingName.controller(of: write.file)
                    if availability.availableControllers.contains(controller) {
                        reason = nil
                    } else if let note = availability.missingControllerNotes[controller] {
                        reason = "\(controller) controller not available (\(note))"
                    } else {
                        reason = "\(controller) controller not available"
                    }
                }
                if let reason {
                    result.append(UnenforcedSetting(key: CgroupSettingName.key(for: write), unit: group.unit, file: write.file, reason: reason))
                }
            }
        }
        return result
    }

    /// One line per reason, settings in plan order:
    /// `CPUQuota= on backtest.service, CPUWeight= on batch.slice: cpu controller not available`.
    public static func messages(_ settings: [UnenforcedSetting]) -> [String] {
        var order: [String] = []
        var byReason: [String: [String]] = [:]
        for setting in settings {
            if byReason[setting.reason] == nil { order.append(setting.reason) }
            let entry = "\(setting.key) on \(setting.unit)"
            if byReason[setting.reason]?.contains(entry) != true { byReason[setting.reason, default: []].append(entry) }
        }
        return order.map { "\(byReason[$0]!.joined(separator: ", ")): \($0)" }
    }
}

/// Everything Warden reads about one group each second.
public struct CgroupStats: Hashable, Sendable {
    public var cpu: CPUStat?
    public var memoryCurrentBytes: UInt64?
    /// Highest usage since the group was created (kernel 5.19+).
    public var memoryPeakBytes: UInt64?
    public var memory: MemoryStat?
    public var memoryEvents: MemoryEvents?
    public var pidsCurrent: UInt64?
    /// Absent on kernels without PSI (`CONFIG_PSI`, or `psi=0`).
    public var cpuPressure: Pressure?
    public var memoryPressure: Pressure?
    public var ioPressure: Pressure?

    public init() {}
}
