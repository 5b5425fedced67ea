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
        self.key = key.map { Self.bounded($0, to: Self.longestKey) }
        self.message = Self.bounded(message, to: Self.longestMessage)
    }

    /// What a diagnostic quotes of the input is bounded: a 1 MiB "key" in a unit file
    /// must not become a 1 MiB line in the log or on the terminal.
    public static let longestKey = 96
    public static let longestMessage = 480

    static func bounded(_ text: String, to limit: Int) -> String {
        let bytes = text.utf8.count
        guard bytes > limit else { return text }
        let suffix = "… (\(bytes) bytes in all)"
        var kept = ""
        for character in text {
            if kept.utf8.count + character.utf8.count + suffix.utf8.count > limit { break }
            kept.append(character)
        }
        return kept + suffix
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
