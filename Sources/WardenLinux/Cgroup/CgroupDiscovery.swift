import CWardenShims
import Glibc
import WardenCore

/// What Warden finds about cgroup v2 on this host: where it is mounted, which group
/// Warden runs in, whether that group is writable, and which controllers it may use.
public struct CgroupDiscovery: Hashable, Sendable {
    /// `CGROUP2_SUPER_MAGIC` from `<linux/magic.h>`.
    public static let cgroup2SuperMagic: Int = 0x6367_7270

    /// The cgroup2 mount, `/sys/fs/cgroup` unless given.
    public var mountPath: String
    /// Warden's own group inside the hierarchy, `/system.slice/warden.service` (from
    /// `/proc/self/cgroup`); nil when the process has no v2 group.
    public var ownGroup: String?
    /// `mountPath` + `ownGroup`: the subtree Warden manages.
    public var groupPath: String?
    public var availability: CgroupAvailability
    /// Warden was started inside the supervisor leaf a previous Warden of this group
    /// left (it was killed and restarted from there: cgroup v2 refuses a process in the
    /// parent, which has controllers enabled for its children). `ownGroup` and
    /// `groupPath` then name the parent, the subtree the previous Warden managed.
    public var startedInSupervisorLeaf = false

    /// The leaf Warden moves itself into (`CgroupManager.Options.supervisorGroup`).
    public static let supervisorLeafName = "warden.supervisor"

    /// Probes `mountPath` and `procRoot/self/cgroup`. Never writes: writability is judged
    /// from the mount flags and `faccessat(W_OK)` on the files that delegation hands over
    /// (`cgroup.procs`, `cgroup.subtree_control`, the directory itself), as systemd's
    /// delegation documentation describes.
    public static func discover(mountPath: String = "/sys/fs/cgroup", procRoot: String = "/proc") -> CgroupDiscovery {
        var result = CgroupDiscovery(mountPath: mountPath, ownGroup: nil, groupPath: nil, availability: CgroupAvailability(hierarchy: .unusable(reason: "not probed")))
        let type: Int
        do {
            type = try fileSystemType(of: CgroupDirectory(openingPath: mountPath))
        } catch {
            result.availability.hierarchy = .unusable(reason: "\(mountPath): \(errnoDescription(error.errno))")
            return result
        }
        guard type == cgroup2SuperMagic else {
            result.availability.hierarchy = .unusable(reason: "\(mountPath) is not a cgroup2 file system (a cgroup v1 or hybrid host)")
            return result
        }
        guard let text = try? LocalFileSystem().readFile(procRoot + "/self/cgroup"), let own = ProcessCgroup.unifiedPath(text) else {
            result.availability.hierarchy = .unusable(reason: "\(procRoot)/self/cgroup has no cgroup v2 entry")
            return result
        }
        var managed = own
        if own.hasSuffix("/" + supervisorLeafName) {
            managed = String(own.dropLast(supervisorLeafName.count + 1))
            if managed.isEmpty { managed = "/" }
            result.startedInSupervisorLeaf = true
        }
        result.ownGroup = managed
        let groupPath = managed == "/" ? mountPath : mountPath + managed
        result.groupPath = groupPath
        result.availability = availability(groupPath: groupPath, mountPath: mountPath)
        return result
    }

    /// Controllers and writability of `groupPath` (also used by tests on a seeded tree).
    public static func availability(groupPath: String, mountPath: String) -> CgroupAvailability {
        guard let group = try? CgroupDirectory(openingPath: groupPath) else {
            return CgroupAvailability(hierarchy: .unusable(reason: "\(groupPath): \(errnoDescription(errno))"))
        }
        var vfs = statvfs()
        if fstatvfs(group.fd, &vfs) == 0, vfs.f_flag & UInt(ST_RDONLY) != 0 {
            return CgroupAvailability(hierarchy: .unusable(reason: "\(mountPath) is mounted read-only"))
        }
        for file in [".", "cgroup.procs", "cgroup.subtree_control"] where faccessat(group.fd, file, W_OK, 0) != 0 {
            let name = file == "." ? groupPath : "\(groupPath)/\(file)"
            return CgroupAvailability(hierarchy: .unusable(reason: "\(name) is not writable (\(errnoDescription(errno))): the group is not delegated to Warden"))
        }
        if let owner = undelegatedSystemdUnit(group, path: groupPath) {
            return CgroupAvailability(hierarchy: .unusable(reason: owner))
        }
        let available = Set(CgroupControllerList.parse((try? group.read("cgroup.controllers")) ?? ""))
        let inKernel = Set(CgroupControllerList.parse((try? CgroupDirectory(openingPath: mountPath).read("cgroup.controllers")) ?? ""))
        var notes: [String: String] = [:]
        for controller in ResourceKeys.controllers where !available.contains(controller) {
            notes[controller] =
                inKernel.contains(controller)
                ? "not delegated to \(groupPath): enable it in the parent's cgroup.subtree_control (systemd: Delegate=yes)"
                : "not in this kernel's \(mountPath)/cgroup.controllers"
        }
        return CgroupAvailability(hierarchy: .usable, availableControllers: available, missingControllerNotes: notes)
    }
}

extension CgroupDiscovery {
    /// Root may write into any group, but a systemd unit's group is systemd's unless the
    /// unit delegates it: systemd rewrites its controllers, and an OOM kill anywhere below
    /// it stops the whole unit (`OOMPolicy=`), Warden with it. systemd tags a unit's group
    /// with `trusted.invocation_id` and a delegated one with `trusted.delegate=1` (251+);
    /// without that tag systemd is asked for the unit's `Delegate=`. The reason, or nil
    /// when the group is not a unit's, is delegated, or systemd cannot be asked.
    static func undelegatedSystemdUnit(_ group: CgroupDirectory, path: String) -> String? {
        func attribute(_ name: String) -> String? {
            var buffer = [UInt8](repeating: 0, count: 64)
            let length = warden_fgetxattr(group.fd, name, &buffer, UInt(buffer.count))
            return length < 0 ? nil : String(decoding: buffer.prefix(Int(length)), as: UTF8.self)
        }
        guard attribute("trusted.invocation_id") != nil || attribute("user.invocation_id") != nil else { return nil }
        if attribute("trusted.delegate") == "1" || attribute("user.delegate") == "1" { return nil }
        let unit = String(path.split(separator: "/").last ?? "")
        let interface: String
        switch unit.split(separator: ".").last {
        case "service": interface = "org.freedesktop.systemd1.Service"
        case "scope": interface = "org.freedesktop.systemd1.Scope"
        default: return nil
        }
        guard let bus = try? SystemdBus(), let delegated = try? bus.unitBoolProperty(unit, property: "Delegate", interface: interface),
            !delegated
        else { return nil }
        return "\(path) is the group of systemd's \(unit), which does not delegate it (Delegate=yes): "
            + "systemd owns its controllers, and an OOM kill below it would stop the whole unit"
    }
}

/// `statfs.f_type` of an open directory (the file system's magic number).
func fileSystemType(of directory: CgroupDirectory) throws(CgroupError) -> Int {
    var type = 0
    guard SystemCall.retryingInterrupts({ warden_fstatfs_type(directory.fd, &type) }) == 0 else {
        throw CgroupError(operation: "statfs", path: directory.path, errno: errno)
    }
    return type
}
