import Glibc

/// A system call that failed: what was being done, to which path, and the errno. Its
/// description reads as a log line: `rename /var/lib/warden/governor.json.tmp to
/// /var/lib/warden/governor.json: No space left on device (errno 28)`.
public struct SystemCallError: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(_ operation: String, _ path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The error of the call that just failed on this thread.
    public static func last(_ operation: String, _ path: String) -> SystemCallError {
        SystemCallError(operation, path, errno: Glibc.errno)
    }

    public var description: String { "\(operation) \(path): \(errnoDescription(errno)) (errno \(errno))" }

    /// The file or directory does not exist (`ENOENT`).
    public var isMissing: Bool { errno == ENOENT }
}
