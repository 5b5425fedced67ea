import CWardenShims
import Glibc

/// Descriptors the runtime hands to children as standard output and error.
public enum RuntimeDescriptors {
    /// A connected `AF_UNIX` stream pair, both ends close-on-exec from birth (Swift's
    /// Glibc module has no `pipe2`, and a `pipe`+`fcntl` pair could leak into a child
    /// spawned concurrently by another thread). `read` is the supervisor's end, `write`
    /// the child's; each is shut down in the direction it does not use. A stream socket
    /// is what systemd gives services for the journal, too.
    public static func outputChannel() throws(ProcessControlError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
            throw ProcessControlError(operation: "socketpair (output channel)", errno: errno)
        }
        _ = shutdown(fds[0], Int32(SHUT_WR))
        _ = shutdown(fds[1], Int32(SHUT_RD))
        return (fds[0], fds[1])
    }

    /// How `StandardOutput=file:/append:/truncate:` open their file.
    public enum FileMode: Sendable {
        case write, append, truncate
    }

    /// Opens an output file for a child (created 0644 if missing), close-on-exec.
    public static func openOutputFile(_ path: String, mode: FileMode) throws(ProcessControlError) -> Int32 {
        var flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY
        switch mode {
        case .write: break
        case .append: flags |= O_APPEND
        case .truncate: flags |= O_TRUNC
        }
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw ProcessControlError(operation: "open \(path) for output", errno: errno) }
        return fd
    }

    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// True when `path` exists and is a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// `mkdir -p path` with mode 0755 for created directories.
    public static func makeDirectories(_ path: String) throws(ProcessControlError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw ProcessControlError(operation: "mkdir \(current)", errno: errno)
            }
        }
        guard isDirectory(path) else { throw ProcessControlError(operation: "mkdir \(path) (not a directory)", errno: ENOTDIR) }
    }
}
