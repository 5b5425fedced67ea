import Glibc

/// A signal file that could not be read or understood: the file, what was wrong, the errno.
public struct GovernorReadError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    /// The errno when the read itself failed; nil for a file in an unexpected format.
    public var errno: Int32?

    public init(path: String, reason: String, errno: Int32? = nil) {
        self.path = path
        self.reason = reason
        self.errno = errno
    }

    public var description: String { "reading \(path): \(reason)" }
}

/// A whole small file (kernel interface files are below a page, /proc/meminfo a few KiB).
func readSignalFile(_ path: String) -> Result<String, GovernorReadError> {
    FileIO.readText(path).mapError { GovernorReadError(path: path, reason: errnoDescription($0.errno), errno: $0.errno) }
}
