/// The little of a file system that loading configuration needs. The core does no
/// I/O: the effects layer passes the real file system, tests pass `InMemoryFileSystem`.
public protocol ConfigFileSystem: Sendable {
    /// The file's contents as UTF-8 text.
    func readFile(_ path: String) throws(ConfigFileError) -> String
    /// Names (not paths) of the entries of a directory, or nil when it is not a directory.
    func listDirectory(_ path: String) -> [String]?
    /// True when `path` names a regular file that the current user may execute.
    func isExecutableFile(_ path: String) -> Bool
    /// The text of the symbolic link `path` (as `readlink` gives it: relative or
    /// absolute), or nil when `path` is no symbolic link. Aliases and enabled template
    /// instances are links in a unit directory.
    func symbolicLinkTarget(_ path: String) -> String?
}

extension ConfigFileSystem {
    public func symbolicLinkTarget(_ path: String) -> String? { nil }
}

public struct ConfigFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure: the unit loader treats a device as a masked unit, as systemd
    /// does, and skips what is no regular file or too large to be one.
    public enum Kind: Hashable, Sendable {
        /// Missing, unreadable, not UTF-8.
        case unreadable
        /// A character or block device (`/dev/null`: a masked unit).
        case device
        /// A FIFO, socket or directory: reading it could block or never end.
        case notRegular
        /// Larger than the reader's cap.
        case tooLarge
    }

    public var path: String
    /// What went wrong, in words (`No such file or directory`, `not valid UTF-8`).
    public var reason: String
    public var kind: Kind

    public init(path: String, reason: String, kind: Kind = .unreadable) {
        self.path = path
        self.reason = reason
        self.kind = kind
    }

    public var description: String { "\(path): \(reason)" }
}

/// A file system held in a dictionary, for tests and for the embedded demo stack.
public struct InMemoryFileSystem: ConfigFileSystem {
    public var files: [String: String]
    public var executables: Set<String>
    /// Symbolic links: path → target as written (relative to the link's directory, or
    /// absolute). `/dev/null` reads as a device, the way a masked unit does.
    public var links: [String: String]

    public init(files: [String: String] = [:], executables: Set<String> = [], links: [String: String] = [:]) {
        self.files = files
        self.executables = executables
        self.links = links
    }

    public func readFile(_ path: String) throws(ConfigFileError) -> String {
        var current = path
        var hops = 0
        while let target = links[current] {
            hops += 1
            if hops > 40 { throw ConfigFileError(path: path, reason: "Too many levels of symbolic links") }
            current = normalizedPath(target.hasPrefix("/") ? target : joinPath(directoryName(of: current), target))
        }
        if current == "/dev/null" { throw ConfigFileError(path: path, reason: "a device, not a regular file", kind: .device) }
        guard let text = files[current] else {
            throw ConfigFileError(path: path, reason: "No such file or directory")
        }
        return text
    }

    public func symbolicLinkTarget(_ path: String) -> String? { links[path] }

    public func listDirectory(_ path: String) -> [String]? {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        var names = Set<String>()
        for key in Array(files.keys) + Array(links.keys) where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            if let name = rest.split(separator: "/", omittingEmptySubsequences: true).first {
                names.insert(String(name))
            }
        }
        return names.isEmpty ? nil : names.sorted()
    }

    public func isExecutableFile(_ path: String) -> Bool { executables.contains(path) }
}
