import WardenCore

/// Reads what the governor needs from Warden's cgroups: the protected group's pressure,
/// and the current values of the files it may write (read-only; writing is the cgroup
/// manager's).
public struct GovernorCgroupReader: Sendable {
    /// Warden's cgroup root (its delegated subtree).
    public var cgroupRoot: String

    public init(cgroupRoot: String) { self.cgroupRoot = cgroupRoot }

    /// `PATH/RESOURCE.pressure` of a group below the root.
    public func pressure(_ resource: PressureResource, ofGroup path: String) -> Result<PressureReading, GovernorReadError> {
        PressureFile.read(groupDirectory(path) + "/" + resource.rawValue + ".pressure")
    }

    /// Fills `current` (every `GovernorTarget.observedFiles` that can be read) and
    /// `memoryCurrentBytes` of the group targets; systemd slices are left to the D-Bus client.
    /// A file that cannot be read stays out of `current`, which makes the governor leave it
    /// alone (it could not restore it exactly) or, at restore, treat it as gone.
    public func observe(_ targets: [GovernorTarget]) -> [GovernorTarget] {
        targets.map { target in
            guard target.kind == .group else { return target }
            var observed = target
            observed.current = [:]
            let directory = groupDirectory(target.path)
            for file in GovernorTarget.observedFiles {
                if case .success(let text) = readSignalFile(directory + "/" + file) { observed.current[file] = text }
            }
            // The directory's inode tells a group created again (the component restarted)
            // from the one the governor wrote to.
            observed.identity = observed.current.isEmpty ? nil : FileIO.inode(directory)
            if case .success(let text) = readSignalFile(directory + "/memory.current"),
                let bytes = UInt64(text.filter { $0 != "\n" })
            {
                observed.memoryCurrentBytes = bytes
            } else {
                observed.memoryCurrentBytes = nil
            }
            return observed
        }
    }

    /// Whether every group target is still the group `observe` found: the same directory
    /// inode, or still missing. One `stat` per group tells a group created again (a
    /// component restarted) or created at all from nothing new.
    public func sameGroups(as observed: [GovernorTarget]) -> Bool {
        observed.allSatisfy { target in
            target.kind != .group || FileIO.inode(groupDirectory(target.path)) == target.identity
        }
    }

    func groupDirectory(_ path: String) -> String { path.isEmpty ? cgroupRoot : cgroupRoot + "/" + path }
}
