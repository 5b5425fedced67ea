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
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        let code = errno
        return .failure(GovernorReadError(path: path, reason: errnoDescription(code), errno: code))
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 8192)
    while true {
        let n = SystemCall.retryingInterrupts { buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
        if n < 0 {
            let code = errno
            return .failure(GovernorReadError(path: path, reason: errnoDescription(code), errno: code))
        }
        if n == 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
    }
    return .success(String(decoding: bytes, as: UTF8.self))
}
