import Logging
import WardenCore
import WardenLinux

// What the governor's decisions need from the world, shared by the daemon's
// `GovernorDriver` and `warden emergency` acting without a daemon: the state file, the
// targets with their current values, and the writes (cgroupfs, systemd D-Bus).

/// The state file could not be read or written.
public struct GovernorStateFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32?
    public var detail: String?

    public init(operation: String, path: String, errno: Int32? = nil, detail: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    init(_ error: SystemCallError) {
        self.init(operation: error.operation, path: error.path, errno: error.errno)
    }

    public var description: String {
        var text = "\(operation) \(path)"
        if let errno { text += ": \(errnoDescription(errno)) (errno \(errno))" }
        if let detail { text += ": \(detail)" }
        return text
    }
}

/// `STATE/governor.state` (`GovernorStateCoding`): read at start, written whole at every
/// change with a temporary file, `fsync` and `rename`, so a crash leaves either the old or
/// the new state and never half of one.
public struct GovernorStateFile: Sendable {
    public static let fileName = "governor.state"
    /// Where the daemon records how it reaches its groups (`GovernorGroupRecord`), for
    /// `warden emergency` without a daemon.
    public static let cgroupRootFileName = "governor.cgroup-root"

    public let stateDirectory: String
    public var path: String { stateDirectory + "/" + Self.fileName }
    public var cgroupRootPath: String { stateDirectory + "/" + Self.cgroupRootFileName }

    public init(stateDirectory: String) { self.stateDirectory = stateDirectory }

    /// The stored state; nil when there is no file (nothing was ever changed here).
    public func load() -> Result<GovernorState?, GovernorStateFileError> {
        switch FileIO.readText(path) {
        case .failure(let error) where error.isMissing: return .success(nil)
        case .failure(let error): return .failure(GovernorStateFileError(error))
        case .success(let text):
            switch GovernorState.decode(text) {
            case .success(let state): return .success(state)
            case .failure(let error):
                return .failure(
                    GovernorStateFileError(
                        operation: "read", path: path,
                        detail: "\(error.located(in: path)); the file is left as it is (it holds the values to restore)"))
            }
        }
    }

    /// Writes the state atomically: a temporary file in the same directory, `fsync`,
    /// `rename` over the old one, `fsync` of the directory.
    public func save(_ state: GovernorState) throws(GovernorStateFileError) {
        try Self.writeAtomically(state.encoded(), to: path)
    }

    /// How the daemon reaches its groups, for a later `warden emergency` without a daemon;
    /// nil (no groups) removes the record.
    public func recordGroups(_ record: GovernorGroupRecord?) throws(GovernorStateFileError) {
        if let record {
            try Self.writeAtomically(record.line + "\n", to: cgroupRootPath)
        } else {
            do throws(SystemCallError) { try FileIO.remove(cgroupRootPath) } catch { throw GovernorStateFileError(error) }
        }
    }

    /// The record of the last daemon, when the file and the directory it names both exist.
    public func recordedGroups() -> GovernorGroupRecord? {
        guard case .success(let text) = readWholeFile(cgroupRootPath), let record = GovernorGroupRecord.parse(trimmedText(text))
        else { return nil }
        switch record {
        case .cgroupfs(let root), .systemdUnits(let root): return FileIO.isDirectory(root) ? record : nil
        }
    }

    static func writeAtomically(_ text: String, to path: String) throws(GovernorStateFileError) {
        do throws(SystemCallError) { try FileIO.writeAtomically(Array(text.utf8), to: path) } catch { throw GovernorStateFileError(error) }
    }
}

func readWholeFile(_ path: String) -> Result<String, GovernorStateFileError> {
    FileIO.readText(path).mapError(GovernorStateFileError.init)
}

/// This boot's `/proc/sys/kernel/random/boot_id`: a state from another boot is stale.
public func currentBootID(procRoot: String = "/proc") -> String? {
    guard case .success(let text) = readWholeFile(procRoot + "/sys/kernel/random/boot_id") else { return nil }
    let id = trimmedText(text)
    return id.isEmpty ? nil : id
}

/// The systemd slices of `ThrottleSlices=`, through their runtime properties
/// (`GovernorSliceProperty`: `CPUQuotaPerSecUSec`, `CPUWeight`).
public protocol GovernorSliceControl: AnyObject {
    /// The slice's values of `GovernorTarget.systemdProperties` by property name, in the
    /// governor's notation (`GovernorSliceProperty.text`: `500000`, `infinity`, `[not set]`).
    func properties(of slice: String) -> Result<[String: String], SystemdBusError>
    /// Sets `properties` on the slice in one call.
    func set(_ properties: [SystemdProperty], of slice: String) -> Result<Void, SystemdBusError>
}

/// `GovernorSliceControl` over systemd's D-Bus API (`SetUnitProperties`, runtime: the
/// throttle is gone after a reboot, as an emergency measure must be).
public final class SystemdSliceControl: GovernorSliceControl {
    let bus: GovernorBus

    public init(bus: GovernorBus) { self.bus = bus }

    /// Connects with a short call timeout (the governor calls it on its loop, and only when
    /// throttling or restoring a slice); nil and the reason when systemd is not reachable.
    public static func connect(callTimeoutUSec: UInt64 = 2_000_000) -> (SystemdSliceControl?, String?) {
        do {
            return (SystemdSliceControl(bus: try GovernorBus(callTimeoutUSec: callTimeoutUSec)), nil)
        } catch {
            return (nil, error.errorMessage ?? error.description)
        }
    }

    public func properties(of slice: String) -> Result<[String: String], SystemdBusError> {
        do {
            let read = try bus.call { bus throws(SystemdBusError) in try bus.readUnitProperties(unit: slice) }
            var values: [String: String] = [:]
            for property in GovernorSliceProperty.allCases {
                guard case .uint64(let value)? = read.first(where: { $0.name == property.name })?.value else { continue }
                values[property.name] = property.text(value)
            }
            return .success(values)
        } catch {
            return .failure(error)
        }
    }

    public func set(_ properties: [SystemdProperty], of slice: String) -> Result<Void, SystemdBusError> {
        do {
            try bus.call { bus throws(SystemdBusError) in try bus.setProperties(properties, of: slice, runtime: true) }
            return .success(())
        } catch {
            return .failure(error)
        }
    }
}

/// The governor's hands and eyes: reads the targets' current values and carries out a
/// decision's actions. The groups are reached through `groups` (Warden's delegated
/// subtree, systemd's units, or a test's directory tree); nil when there are none, and
/// then group targets are left alone.
public final class GovernorEffects {
    public let groups: GovernorGroupControl?
    public var reader: GovernorCgroupReader? { groups?.reader }
    public let slices: GovernorSliceControl?
    /// Why systemd slices are not throttled (not a systemd host, no bus); nil when they are.
    public let slicesUnavailableReason: String?
    /// Why Warden's groups are not governed; nil when they are.
    public let groupsUnavailableReason: String?
    /// Called just before each action is carried out (tests check the state file there).
    public var beforeAction: ((GovernorAction) -> Void)?
    /// The daemon's own cgroup (`0::` of /proc/self/cgroup): a `ThrottleSlices=` slice that
    /// holds it is never throttled. Nil for `warden emergency` without a daemon, whose own
    /// process is the operator's shell, not the stack.
    public let wardenCgroup: String?
    /// The components are systemd's transient scopes (the daemon's cgroup backend): their
    /// groups are the scopes, and a `ThrottleSlices=` slice may hold them.
    public var componentsAreSystemdUnits = false
    /// Warden is in a cgroup namespace of its own (`/proc/self/ns/cgroup`): its `0::` path
    /// does not say where the host put it.
    public let privateCgroupNamespace: Bool

    public init(
        groups: GovernorGroupControl?, groupsUnavailableReason: String? = nil, slices: GovernorSliceControl?,
        slicesUnavailableReason: String?, wardenCgroup: String? = nil, privateCgroupNamespace: Bool = false
    ) {
        self.wardenCgroup = wardenCgroup
        self.privateCgroupNamespace = privateCgroupNamespace
        self.groups = groups
        self.groupsUnavailableReason = groups == nil ? (groupsUnavailableReason ?? "no cgroup subtree") : nil
        self.slices = slices
        self.slicesUnavailableReason = slices == nil ? (slicesUnavailableReason ?? "systemd is not reachable") : nil
    }

    /// Warden's delegated subtree through its cgroup manager.
    public convenience init(
        manager: CgroupManager?, groupsUnavailableReason: String? = nil, slices: GovernorSliceControl?,
        slicesUnavailableReason: String?, wardenCgroup: String? = nil, privateCgroupNamespace: Bool = false
    ) {
        self.init(
            groups: manager.map(CgroupfsGroupControl.init), groupsUnavailableReason: groupsUnavailableReason, slices: slices,
            slicesUnavailableReason: slicesUnavailableReason, wardenCgroup: wardenCgroup, privateCgroupNamespace: privateCgroupNamespace)
    }

    /// The targets of a configuration: its slices and components, and `ThrottleSlices=`
    /// when systemd can be reached.
    public func targets(for configuration: Configuration) -> [GovernorTarget] {
        var targets = GovernorTarget.targets(for: configuration, componentsAsScopes: componentsAreSystemdUnits)
        if componentsAreSystemdUnits, let own = wardenCgroup {
            // Warden's slices are systemd's then, and one may hold Warden itself.
            for i in targets.indices where !targets[i].isComponent && GovernorShelter.holds(slice: targets[i].name, cgroup: own) {
                targets[i].priority = .critical
                targets[i].sheltered =
                    "\(targets[i].name) is never throttled: it holds Warden itself (\(own)); give Warden a slice apart from its components' to throttle \(targets[i].name)"
            }
        }
        if slices != nil {
            targets += GovernorTarget.systemdSlices(
                configuration.settings.governor.effectiveThrottleSlices, configuration: configuration,
                componentsAreSystemdUnits: componentsAreSystemdUnits, wardenCgroup: wardenCgroup,
                privateCgroupNamespace: privateCgroupNamespace)
        }
        return targets
    }

    /// Fills in the current values. Groups are read from cgroupfs; systemd slices are read
    /// over D-Bus only when `readSlices` (the bus is slow next to a file read: only when a
    /// decision may throttle or restore them).
    public func observe(_ targets: [GovernorTarget], readSlices: Bool) -> (targets: [GovernorTarget], problems: [String]) {
        var problems: [String] = []
        var observed = reader?.observe(targets) ?? targets.map { target in
            var copy = target
            if copy.kind == .group { copy.current = [:] }
            return copy
        }
        for i in observed.indices where observed[i].kind == .systemdSlice {
            observed[i].current = [:]
            guard readSlices, let slices else { continue }
            switch slices.properties(of: observed[i].name) {
            case .success(let values): observed[i].current = values
            case .failure(let error):
                problems.append("reading \(observed[i].name) \(GovernorTarget.systemdProperties.joined(separator: ", ")): \(error)")
            }
        }
        return (observed, problems)
    }

    /// Whether the group targets of an earlier `observe` are still the same groups
    /// (`GovernorCgroupReader.sameGroups`); true without a cgroup subtree.
    public func sameGroups(as observed: [GovernorTarget]) -> Bool {
        reader?.sameGroups(as: observed) ?? true
    }

    /// Carries out the actions, cgroup writes first (the quickest relief), then the slower
    /// D-Bus calls. Alerts are not effects here: the caller posts them. Returns one line per
    /// failure; a failure never stops the other actions.
    public func perform(_ actions: [GovernorAction], skipTightening: Bool = false) -> [String] {
        var failures: [String] = []
        let ordered = actions.filter { !$0.isSystemd } + actions.filter(\.isSystemd)
        for action in ordered {
            if skipTightening && action.tightens {
                failures.append("not done because the state could not be saved first: \(action.summary)")
                continue
            }
            beforeAction?(action)
            switch action {
            case .apply(let target, let path, let writes), .restore(let target, let path, let writes):
                guard let groups else {
                    failures.append("\(target): \(groupsUnavailableReason ?? "no cgroup subtree")")
                    continue
                }
                failures += groups.write(writes, to: path, target: target)
            case .reclaimMemory(let target, let path, let bytes):
                guard let groups else { continue }
                failures += groups.reclaim(bytes, from: path, target: target)
            case .throttleSystemdSlice(let name, let properties), .restoreSystemdSlice(let name, let properties):
                failures += setSlice(name, properties)
            case .alert:
                continue
            }
        }
        return failures
    }

    private func setSlice(_ name: String, _ properties: [SystemdProperty]) -> [String] {
        guard let slices else { return ["\(name): \(slicesUnavailableReason ?? "systemd is not reachable")"] }
        if case .failure(let error) = slices.set(properties, of: name) { return ["\(name): \(error)"] }
        return []
    }

    /// The changes whose value someone else has changed since (found now, not restored
    /// by anyone yet): what `status` reports as conflicts.
    public static func liveConflicts(_ state: GovernorState, targets: [GovernorTarget]) -> [GovernorConflict] {
        GovernorRestore.plan(GovernorRestore.follow(state.changes, targets: targets).changes, targets: targets).compactMap {
            if case .conflict(let conflict) = $0 { return conflict }
            return nil
        }
    }
}

extension GovernorAction {
    var isSystemd: Bool {
        switch self {
        case .throttleSystemdSlice, .restoreSystemdSlice: true
        default: false
        }
    }

    /// Makes a group give way (rather than undoing that).
    var tightens: Bool {
        switch self {
        case .apply, .reclaimMemory, .throttleSystemdSlice: true
        default: false
        }
    }

    var summary: String {
        switch self {
        case .apply(let target, _, let writes): "\(target) " + writes.map { "\($0.file)=\($0.value)" }.joined(separator: " ")
        case .restore(let target, _, let writes): "restore \(target) " + writes.map { "\($0.file)=\($0.value)" }.joined(separator: " ")
        case .reclaimMemory(let target, _, let bytes): "\(target) memory.reclaim \(bytes)"
        case .throttleSystemdSlice(let name, let properties):
            "\(name) " + properties.map(GovernorSliceProperty.describe).joined(separator: " ")
        case .restoreSystemdSlice(let name, let properties):
            "restore \(name) " + properties.map(GovernorSliceProperty.describe).joined(separator: " ")
        case .alert(let alert): "alert \(alert.rule)"
        }
    }
}

/// Without surrounding white space and newlines.
func trimmedText(_ text: String) -> String {
    var t = Substring(text)
    while let c = t.first, c == " " || c == "\n" || c == "\t" { t.removeFirst() }
    while let c = t.last, c == " " || c == "\n" || c == "\t" { t.removeLast() }
    return String(t)
}
