import WardenCore

/// Carries out an `ExecDirectoryPlan`: makes a service's directories before its first
/// command and removes its runtime directories when it stops, as systemd's
/// setup_exec_directory() and exec_context_destroy_runtime_directory() do.
public enum ExecDirectoryMaker {
    /// Makes every planned directory: the parents with mode 0755 (left to whoever owns
    /// them, root for the ones made here), the innermost with the planned mode. An
    /// innermost directory given to the service that belongs to someone else is given to
    /// it with everything below (systemd's recursive chown; skipped when the owner is
    /// right already). Then the `:symlink` links. Stops at the first failure, which names
    /// the path and the errno.
    public static func make(_ plan: ExecDirectoryPlan, userID: UInt32?, groupID: UInt32?) throws(SystemCallError) {
        for directory in plan.directories {
            try FileIO.makeDirectoryWithParents(directory.base, mode: 0o755)
            for parent in directory.parents {
                try FileIO.makeDirectory(parent, mode: 0o755)
            }
            try FileIO.makeDirectory(directory.path, mode: directory.mode)
            if directory.ownedByService, userID != nil || groupID != nil {
                let current = try FileIO.ownerAndMode(directory.path)
                let wantedUser = userID ?? current.userID
                let wantedGroup = groupID ?? current.groupID
                if current.userID != wantedUser || current.groupID != wantedGroup {
                    try FileIO.changeOwnerRecursively(directory.path, userID: wantedUser, groupID: wantedGroup)
                }
            }
            // After the owner: chown clears set-user-ID and set-group-ID bits.
            try FileIO.changeMode(directory.path, to: directory.mode)
            for link in directory.symlinks {
                try FileIO.makeSymbolicLink(link, to: directory.path)
            }
        }
    }

    /// Removes the runtime directories and their links. Every path is tried; the
    /// failures are returned, each naming its path and errno.
    public static func removeRuntime(_ plan: ExecDirectoryPlan) -> [SystemCallError] {
        var failures: [SystemCallError] = []
        for path in plan.runtimePaths {
            do {
                try FileIO.removeTree(path)
            } catch {
                failures.append(error)
            }
        }
        return failures
    }
}
