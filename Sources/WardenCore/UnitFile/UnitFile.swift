/// A unit file as written: sections and assignments in file order, after comments,
/// continuations and drop-ins have been applied, before any value is interpreted.
///
/// Keys keep every assignment (systemd lists are built from repeated keys, and an
/// empty assignment resets the list), so interpretation happens later, key by key.
public struct UnitFile: Hashable, Sendable {
    /// The unit's full name, e.g. `order-executor.service` or `feed@2.service`.
    public var name: UnitName
    /// The main file; drop-ins are recorded on each entry's location.
    public var path: String
    public var sections: [UnitSection]
    /// Keys with an assignment left out because a `%` specifier in it could not be
    /// expanded; an error already says so, and checks that the key is missing stay quiet.
    public var unresolvedKeys: Set<String>

    public init(name: UnitName, path: String, sections: [UnitSection], unresolvedKeys: Set<String> = []) {
        self.name = name
        self.path = path
        self.sections = sections
        self.unresolvedKeys = unresolvedKeys
    }

    /// All sections with this name, in order (a name may appear more than once, and
    /// drop-ins add further sections).
    public func sections(named name: String) -> [UnitSection] {
        sections.filter { $0.name == name }
    }
}

public struct UnitSection: Hashable, Sendable {
    /// Name without brackets: `Service`, `X-Warden`.
    public var name: String
    public var location: SourceLocation
    public var entries: [UnitEntry]

    public init(name: String, location: SourceLocation, entries: [UnitEntry] = []) {
        self.name = name
        self.location = location
        self.entries = entries
    }
}

public struct UnitEntry: Hashable, Sendable {
    public var key: String
    /// The value with leading and trailing whitespace removed, continuations joined
    /// and specifiers (`%n`, `%i`, …) already expanded.
    public var value: String
    public var location: SourceLocation

    public init(key: String, value: String, location: SourceLocation) {
        self.key = key
        self.value = value
        self.location = location
    }
}

/// A unit's name split the way systemd splits it: `prefix@instance.type`.
public struct UnitName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case service, slice, target, socket, timer, mount, scope, path, device, swap, automount
    }

    /// `feed` in `feed@2.service`, `order-executor` in `order-executor.service`.
    public var prefix: String
    /// `2` in `feed@2.service`; empty for a template (`feed@.service`); nil when the
    /// unit is not templated at all.
    public var instance: String?
    public var kind: Kind

    public init(prefix: String, instance: String? = nil, kind: Kind) {
        self.prefix = prefix
        self.instance = instance
        self.kind = kind
    }

    public var isTemplate: Bool { instance == "" }

    public var description: String {
        if let instance { return "\(prefix)@\(instance).\(kind.rawValue)" }
        return "\(prefix).\(kind.rawValue)"
    }

    public static func < (a: UnitName, b: UnitName) -> Bool { a.description < b.description }
}
