import Glibc

/// A failed process-control call: what was done and the errno.
public struct ProcessControlError: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public init(operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(errnoDescription(errno)) (errno \(errno))" }
}

/// `strerror` text for an errno value (`No such file or directory`).
public func errnoDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}
