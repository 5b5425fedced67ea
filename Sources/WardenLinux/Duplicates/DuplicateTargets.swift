import Glibc
import WardenCore

/// Turns the configured components into what duplicate detection compares: the
/// executable resolved as the runtime resolves it, with symlinks resolved as
/// `/proc/PID/exe` shows them, and the PID of a `pidfile:`.
public enum DuplicateTargets {
    public static func resolve(_ configuration: Configuration, searchPath: [String]) -> [DuplicateTarget] {
        let fs = LocalFileSystem()
        return configuration.services.compactMap { service in
            guard let command = service.execStart.first?.command else { return nil }
            let found = ExecutableSearch.resolve(command.path, in: searchPath, fileSystem: fs) ?? command.path
            var pidFilePID: Int32?
            if case .pidFile(let path) = service.duplicateMatch {
                pidFilePID = readPIDFile(path)
            }
            return DuplicateTarget(
                component: service.name.description, executablePath: canonicalPath(found), arguments: command.arguments,
                match: service.duplicateMatch, policy: service.duplicates, pidFilePID: pidFilePID)
        }
    }

    /// `realpath(3)`, or the path unchanged when it does not resolve.
    public static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The first line of a PID file as a positive PID.
    public static func readPIDFile(_ path: String) -> Int32? {
        guard let text = try? LocalFileSystem().readFile(path),
            let line = text.split(separator: "\n").first,
            let pid = Int32(String(line).trimmingCharacters()), pid > 0
        else { return nil }
        return pid
    }

    /// The processes of Warden seen from a separate command: the command itself and, when
    /// a daemon holds the lock of `stateDirectory`, the daemon (with its descendants).
    public static func wardenProcesses(stateDirectory: String?, procRoot: String = "/proc") -> WardenProcesses {
        var pids: Set<Int32> = [getpid()]
        if let stateDirectory, let daemon = StateLock.holder(stateDirectory: stateDirectory, procRoot: procRoot) {
            pids.insert(daemon)
        }
        return WardenProcesses(pids: pids)
    }

    /// The login shells of `/etc/shells` (comments and blank lines skipped), each with
    /// its symlinks resolved as `/proc/PID/exe` shows it (`/bin/bash` is `/usr/bin/bash`).
    public static func loginShells(file: String = "/etc/shells") -> Set<String> {
        guard let text = try? LocalFileSystem().readFile(file) else { return [] }
        var shells: Set<String> = []
        for line in text.split(separator: "\n") {
            let path = String(line).trimmingCharacters()
            guard path.hasPrefix("/") else { continue }
            shells.insert(path)
            shells.insert(canonicalPath(path))
        }
        return shells
    }
}
