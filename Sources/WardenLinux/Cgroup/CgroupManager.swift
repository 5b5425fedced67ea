import CWardenShims
import Glibc
import WardenCore

/// One thing the manager did, in order (what `setUp` returns so callers and tests can
/// see the sequence the kernel saw).
public enum CgroupStep: Hashable, Sendable, CustomStringConvertible {
    /// `mkdir` of a group ("" is the root); `created` is false for an adopted one.
    case makeGroup(path: String, created: Bool)
    /// `+controller` written to the group's `cgroup.subtree_control`.
    case enableController(String, in: String)
    case write(path: String, CgroupWrite)

    public var description: String {
        switch self {
        case .makeGroup(let path, let created): "\(created ? "mkdir" : "adopt") \(path)"
        case .enableController(let controller, let path): "\(path.isEmpty ? "." : path)/cgroup.subtree_control += \(controller)"
        case .write(let path, let write): "\(path)/\(write.file) = \(write.value)"
        }
    }
}

/// What `setUp` did and what it could not enforce.
public struct CgroupSetupReport: Hashable, Sendable {
    public var steps: [CgroupStep]
    public var unenforced: [UnenforcedSetting]
}

/// What `apply` changed: `previous` undoes it when applied in turn (it is in reverse
/// order, so dependent files are restored in the opposite order they were written).
public struct CgroupApplyResult: Hashable, Sendable {
    public var previous: [CgroupWrite]
    public var unenforced: [UnenforcedSetting]
}

/// How a group's processes were ended.
public struct CgroupKillReport: Hashable, Sendable {
    public enum Method: String, Hashable, Sendable {
        /// `cgroup.kill` (kernel 5.14+): one write kills the whole subtree, no pid races.
        case cgroupKill = "cgroup.kill"
        /// SIGKILL to every pid in `cgroup.procs`, repeated until the group is empty
        /// (forks racing with the loop are caught by the next round).
        case signalLoop = "SIGKILL loop"
        /// The group was already empty.
        case nothingToKill = "nothing to kill"
    }

    public var method: Method
    /// Rounds of the signal loop (0 for `cgroup.kill`).
    public var rounds: Int
    /// `cgroup.events populated 0` was seen before the deadline.
    public var emptied: Bool
}

/// What stopping a group found.
public struct CgroupStopReport: Hashable, Sendable {
    public var kill: CgroupKillReport
    /// `memory.peak` before removal; nil before kernel 5.19 or without the memory controller.
    public var memoryPeakBytes: UInt64?
    public var memoryEvents: MemoryEvents?
    /// Groups removed, the leaf first, then slices that became empty.
    public var removed: [String]
}

/// Warden's cgroup subtree, rooted at an injected path (its delegated group, a
/// container's root, a test's temp directory). Creates slice and component groups from
/// `CgroupPlan`, enables controllers top-down, applies writes, hands out directory
/// descriptors for `CLONE_INTO_CGROUP`, reads statistics, kills and removes.
///
/// Group paths are relative to the root, `trading.slice/exec.service`; each component
/// is checked by `CgroupPathCheck` and opened with `openat` beneath its parent's
/// descriptor. Not thread-safe: one owner (the runtime's cgroup actor) calls it.
public final class CgroupManager {
    public struct Options: Hashable, Sendable {
        /// Check that the root is on a cgroup2 file system (statfs magic). Tests that
        /// point the manager at a plain directory tree turn it off.
        public var requireCgroup2: Bool
        public var failurePolicy: CgroupWriteFailurePolicy
        /// The leaf Warden moves itself into (no-internal-processes rule).
        public var supervisorGroup: String
        /// Enabled for every group even without settings, so statistics exist, as
        /// systemd's default MemoryAccounting=yes and TasksAccounting=yes do.
        public var accountingControllers: [String]

        public init(
            requireCgroup2: Bool = true, failurePolicy: CgroupWriteFailurePolicy = .degrade,
            supervisorGroup: String = CgroupDiscovery.supervisorLeafName, accountingControllers: [String] = ["memory", "pids"]
        ) {
            self.requireCgroup2 = requireCgroup2
            self.failurePolicy = failurePolicy
            self.supervisorGroup = supervisorGroup
            self.accountingControllers = accountingControllers
        }
    }

    public let rootPath: String
    public let options: Options
    private let root: CgroupDirectory
    /// Open groups by relative path (the root is not in here).
    private var groups: [String: CgroupDirectory] = [:]
    /// Controllers known to be enabled in each group's `cgroup.subtree_control`.
    private var enabled: [String: Set<String>] = [:]

    public init(rootPath: String, options: Options = Options()) throws(CgroupError) {
        self.rootPath = rootPath
        self.options = options
        root = try CgroupDirectory(openingPath: rootPath)
        if options.requireCgroup2 {
            guard try fileSystemType(of: root) == CgroupDiscovery.cgroup2SuperMagic else {
                throw CgroupError(operation: "check cgroup2", path: rootPath, errno: 0, detail: "not a cgroup2 file system")
            }
        }
    }

    // MARK: Set-up

    /// Controllers listed in the root's `cgroup.controllers`.
    public func availableControllers() throws(CgroupError) -> Set<String> {
        Set(CgroupControllerList.parse(try root.read("cgroup.controllers")))
    }

    /// Moves process `pid` (by default Warden itself) into the leaf `supervisorGroup`, so
    /// the root holds no processes and may enable controllers for its children.
    /// - Returns: the leaf's relative path.
    @discardableResult
    public func moveIntoSupervisorGroup(pid: Int32 = getpid()) throws(CgroupError) -> String {
        let name = options.supervisorGroup
        try root.makeChild(name)
        let leaf = try directory(name)
        try leaf.write("cgroup.procs", String(pid))
        return name
    }

    /// Creates every group of `plan` (parents first, as `CgroupPlan.plan` orders them),
    /// enables the controllers each level needs top-down, and applies the writes.
    /// Settings the host cannot enforce are reported, not thrown (see `failurePolicy`).
    public func setUp(_ plan: [CgroupGroupPlan]) throws(CgroupError) -> CgroupSetupReport {
        let available = try availableControllers()
        var steps: [CgroupStep] = []
        var unenforced: [UnenforcedSetting] = []
        // What each level must enable for everything below it.
        var needed: [String: Set<String>] = [:]
        for group in plan {
            let names = try components(group.path)
            let wanted = Set(group.controllers + options.accountingControllers).intersection(available)
            for depth in 0..<names.count {
                needed[names[0..<depth].joined(separator: "/"), default: []].formUnion(wanted)
            }
            for controller in group.controllers where !available.contains(controller) {
                for write in group.writes where CgroupSettingName.controller(of: write.file) == controller {
                    unenforced.append(
                        UnenforcedSetting(
                            key: CgroupSettingName.key(for: write), unit: group.unit, file: write.file,
                            reason: "\(controller) controller not available in \(rootPath)/cgroup.controllers"))
                }
            }
        }
        for group in plan {
            let names = try components(group.path)
            for depth in 0..<names.count {
                let parentPath = names[0..<depth].joined(separator: "/")
                let parent = try directory(parentPath)
                try enableControllers(needed[parentPath] ?? [], in: parent, path: parentPath, steps: &steps)
                let path = names[0...depth].joined(separator: "/")
                if groups[path] == nil {
                    let created = try parent.makeChild(names[depth])
                    steps.append(.makeGroup(path: path, created: created))
                }
            }
            let directory = try directory(group.path)
            for write in group.writes where available.contains(CgroupSettingName.controller(of: write.file)) {
                switch try CgroupFileWriter.set(write, in: directory, policy: options.failurePolicy) {
                case .written:
                    steps.append(.write(path: group.path, write))
                case .notEnforced(let reason):
                    unenforced.append(UnenforcedSetting(key: CgroupSettingName.key(for: write), unit: group.unit, file: write.file, reason: reason))
                }
            }
        }
        return CgroupSetupReport(steps: steps, unenforced: unenforced)
    }

    private func enableControllers(_ wanted: Set<String>, in group: CgroupDirectory, path: String, steps: inout [CgroupStep]) throws(CgroupError) {
        if wanted.isEmpty { return }
        if enabled[path] == nil {
            enabled[path] = Set(CgroupControllerList.parse(try group.read("cgroup.subtree_control")))
        }
        // One controller per write so an error names the controller. Fixed order: the
        // kernel does not care, but the steps (and tests) are then deterministic.
        for controller in wanted.sorted() where enabled[path]?.contains(controller) != true {
            do {
                try group.write("cgroup.subtree_control", "+" + controller)
            } catch {
                var error = error
                error.operation = "enable controller"
                if error.errno == EBUSY {
                    error.detail =
                        "the group holds processes (cgroup v2's no-internal-processes rule): move them into a leaf first (moveIntoSupervisorGroup)"
                }
                throw error
            }
            enabled[path, default: []].insert(controller)
            steps.append(.enableController(controller, in: path))
        }
    }

    // MARK: Spawn

    /// The group's directory descriptor for `SpawnRequest.cgroupDirectoryFD`
    /// (`clone3(CLONE_INTO_CGROUP)`; the spawner writes `cgroup.procs` from the child on
    /// kernels before 5.7). Owned by the manager: valid until the group is removed.
    public func directoryFD(for path: String) throws(CgroupError) -> Int32 {
        try directory(path).fd
    }

    // MARK: Live changes

    /// Writes `writes` to the group now (reload, control command, governor).
    /// `previous` holds what the files said before, ready to be applied to restore them.
    public func apply(_ writes: [CgroupWrite], to path: String, unit: String) throws(CgroupError) -> CgroupApplyResult {
        let group = try directory(path)
        var previous: [CgroupWrite] = []
        var unenforced: [UnenforcedSetting] = []
        for write in writes {
            switch try CgroupFileWriter.set(write, in: group, policy: options.failurePolicy) {
            case .written(let before):
                if let before { previous.insert(before, at: 0) }
            case .notEnforced(let reason):
                unenforced.append(UnenforcedSetting(key: CgroupSettingName.key(for: write), unit: unit, file: write.file, reason: reason))
            }
        }
        return CgroupApplyResult(previous: previous, unenforced: unenforced)
    }

    /// Current contents of one interface file of a group.
    public func read(_ file: String, of path: String) throws(CgroupError) -> String {
        try directory(path).read(file)
    }

    // MARK: Statistics

    /// CPU, memory, pids and PSI figures of a group. A few small reads beneath the open
    /// directory descriptor; files the kernel lacks leave their field nil.
    public func stats(of path: String) throws(CgroupError) -> CgroupStats {
        let group = try directory(path)
        var stats = CgroupStats()
        try CgroupCPU.stat(of: group, into: &stats)
        try CgroupMemory.stat(of: group, into: &stats)
        try CgroupPids.stat(of: group, into: &stats)
        try CgroupPressure.stat(of: group, into: &stats)
        return stats
    }

    public func events(of path: String) throws(CgroupError) -> CgroupEvents {
        let group = try directory(path)
        let text = try group.read("cgroup.events")
        return try parsed(group, "cgroup.events") { () throws(CgroupParseError) in try CgroupEvents.parse(text) }
    }

    /// Pids in the group itself (not its children).
    public func processes(in path: String) throws(CgroupError) -> [Int32] {
        try directory(path).read("cgroup.procs").split(separator: "\n").compactMap { Int32($0) }
    }

    /// The kernel's verdict on `cpuset.cpus.partition`, nil without cpuset.
    public func partition(of path: String) throws(CgroupError) -> CpusetPartition? {
        try CgroupCpuset.partition(of: directory(path))
    }

    // MARK: Cleanup

    /// Kills every process in the group and its descendants and waits, up to
    /// `timeoutUSec`, for `cgroup.events` to say `populated 0`.
    public func kill(_ path: String, timeoutUSec: UInt64 = 5_000_000) throws(CgroupError) -> CgroupKillReport {
        let group = try directory(path)
        if try !populated(group) { return CgroupKillReport(method: .nothingToKill, rounds: 0, emptied: true) }
        let deadline = monotonicUSec() + timeoutUSec
        do {
            try group.write("cgroup.kill", "1")
            return CgroupKillReport(method: .cgroupKill, rounds: 0, emptied: try waitUntilEmpty(group, deadline: deadline))
        } catch where error.errno == ENOENT {
            // Kernel before 5.14: signal what is there, again and again, until a round
            // finds the group empty (a fork between reading cgroup.procs and the kill
            // is caught by the next round).
        }
        var rounds = 0
        while monotonicUSec() < deadline {
            rounds += 1
            for pid in try pidsBeneath(group) where pid > 1 {
                _ = Glibc.kill(pid, SIGKILL)
            }
            if try waitUntilEmpty(group, deadline: min(deadline, monotonicUSec() + 20_000)) {
                return CgroupKillReport(method: .signalLoop, rounds: rounds, emptied: true)
            }
        }
        return CgroupKillReport(method: .signalLoop, rounds: rounds, emptied: try !populated(group))
    }

    /// Asks the kernel to reclaim `bytes` from the group (`memory.reclaim`).
    /// - Returns: false on kernels without `memory.reclaim` (before 5.19).
    public func reclaim(_ path: String, bytes: UInt64) throws(CgroupError) -> Bool {
        try CgroupMemory.reclaim(directory(path), bytes: bytes)
    }

    /// Stopping a component: kill what is left, optionally reclaim, report the peak,
    /// remove the group and the slices that became empty.
    public func stop(_ path: String, reclaimBytes: UInt64? = nil, timeoutUSec: UInt64 = 5_000_000) throws(CgroupError) -> CgroupStopReport {
        let kill = try kill(path, timeoutUSec: timeoutUSec)
        if let reclaimBytes { _ = try reclaim(path, bytes: reclaimBytes) }
        let stats = try stats(of: path)
        let removed = try remove(path)
        return CgroupStopReport(kill: kill, memoryPeakBytes: stats.memoryPeakBytes, memoryEvents: stats.memoryEvents, removed: removed)
    }

    /// Removes an empty group, then each ancestor that has become empty (slices), up to
    /// but not including the root.
    /// - Returns: the removed paths, deepest first.
    @discardableResult
    public func remove(_ path: String) throws(CgroupError) -> [String] {
        var names = try components(path)
        var removed: [String] = []
        var first = true
        while let name = names.last {
            let parentPath = names.dropLast().joined(separator: "/")
            let current = names.joined(separator: "/")
            let parent = try directory(parentPath)
            forget(current)
            do {
                try parent.removeChild(name)
            } catch where !first && (error.errno == EBUSY || error.errno == ENOTEMPTY) {
                break  // a slice still in use by a sibling
            } catch where error.errno == ENOENT {
                // Already gone (removed by an earlier stop): nothing to do at this level.
            }
            removed.append(current)
            first = false
            names.removeLast()
        }
        return removed
    }

    /// Warden's shutdown: kills and removes every group beneath the root, deepest first,
    /// except the supervisor's own leaf (Warden is still running in it).
    /// - Returns: the removed paths.
    @discardableResult
    public func removeAll(timeoutUSec: UInt64 = 5_000_000) throws(CgroupError) -> [String] {
        var removed: [String] = []
        for name in try root.childNames() where name != options.supervisorGroup {
            if CgroupPathCheck.problem(withName: name) != nil { continue }  // not Warden's
            _ = try kill(name, timeoutUSec: timeoutUSec)
            try removeTree(name, removed: &removed)
        }
        return removed
    }

    private func removeTree(_ path: String, removed: inout [String]) throws(CgroupError) {
        let group = try directory(path)
        for child in try group.childNames() where CgroupPathCheck.problem(withName: child) == nil {
            try removeTree(path + "/" + child, removed: &removed)
        }
        let names = try components(path)
        let parent = try directory(names.dropLast().joined(separator: "/"))
        forget(path)
        try parent.removeChild(names.last!)
        removed.append(path)
    }

    // MARK: Internals

    private func components(_ path: String) throws(CgroupError) -> [String] {
        switch CgroupPathCheck.components(of: path) {
        case .success(let names): return names
        case .failure(let error): throw CgroupError(operation: "refuse group path", path: rootPath + "/" + path, errno: 0, detail: error.reason)
        }
    }

    /// The open group at `path`, opening each level beneath its parent's descriptor.
    private func directory(_ path: String) throws(CgroupError) -> CgroupDirectory {
        if path.isEmpty { return root }
        if let open = groups[path] { return open }
        let names = try components(path)
        let parent = try directory(names.dropLast().joined(separator: "/"))
        let child = try parent.child(names.last!)
        groups[path] = child
        return child
    }

    /// Closes the descriptors of `path` and everything beneath it.
    private func forget(_ path: String) {
        for key in groups.keys where key == path || key.hasPrefix(path + "/") {
            groups.removeValue(forKey: key)?.close()
            enabled.removeValue(forKey: key)
        }
    }

    private func populated(_ group: CgroupDirectory) throws(CgroupError) -> Bool {
        let text = try group.read("cgroup.events")
        return try parsed(group, "cgroup.events") { () throws(CgroupParseError) in try CgroupEvents.parse(text) }.populated
    }

    private func pidsBeneath(_ group: CgroupDirectory) throws(CgroupError) -> [Int32] {
        var pids = try group.read("cgroup.procs").split(separator: "\n").compactMap { Int32($0) }
        for name in try group.childNames() where CgroupPathCheck.problem(withName: name) == nil {
            pids += try pidsBeneath(group.child(name))
        }
        return pids
    }

    /// Polls `cgroup.events` (1 ms, growing to 10 ms) until unpopulated or the deadline.
    private func waitUntilEmpty(_ group: CgroupDirectory, deadline: UInt64) throws(CgroupError) -> Bool {
        var pauseUSec: UInt32 = 1000
        while true {
            if try !populated(group) { return true }
            if monotonicUSec() >= deadline { return false }
            usleep(pauseUSec)
            pauseUSec = min(pauseUSec * 2, 10_000)
        }
    }
}

func monotonicUSec() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
}
