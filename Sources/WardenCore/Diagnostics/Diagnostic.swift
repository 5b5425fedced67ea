/// Where a configuration value came from: the file and the 1-based line of the key.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { line > 0 ? "\(file):\(line)" : file }
}

/// One problem found in the configuration. Rendered as `FILE:LINE: KEY: message`
/// so editors and operators can jump straight to it.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable, Comparable {
        case error, warning, note

        private var rank: Int {
            switch self {
            case .error: 0
            case .warning: 1
            case .note: 2
            }
        }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var severity: Severity
    public var location: SourceLocation
    /// The key the problem is about (`CPUQuota`), or a section header (`[Service]`),
    /// or nil for a problem with the file or unit as a whole.
    public var key: String?
    public var message: String

    public init(_ severity: Severity, _ location: SourceLocation, key: String?, _ message: String) {
        self.severity = severity
        self.location = location
        self.key = key
        self.message = message
    }

    public static func error(_ location: SourceLocation, key: String?, _ message: String) -> Diagnostic {
        Diagnostic(.error, location, key: key, message)
    }

    public static func warning(_ location: SourceLocation, key: String?, _ message: String) -> Diagnostic {
        Diagnostic(.warning, location, key: key, message)
    }

    public static func note(_ location: SourceLocation, key: String?, _ message: String) -> Diagnostic {
        Diagnostic(.note, location, key: key, message)
    }

    public var description: String {
        let prefix = severity == .error ? "" : "\(severity.rawValue): "
        if let key {
            return "\(location): \(prefix)\(key): \(message)"
        }
        return "\(location): \(prefix)\(message)"
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
}
