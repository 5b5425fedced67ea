/// What one unit directory holds, as systemd reads it: unit files, the links that give
/// units extra names (aliases), the links that enable template instances or add
/// dependencies (`*.wants/`, `*.requires/`), and masked units.
public struct UnitDirectoryContents: Sendable {
    /// A link `alias → target` of the same unit type: `udev.service → systemd-udevd.service`.
    public struct AliasLink: Hashable, Sendable {
        public var alias: UnitName
        /// The unit the link names: the base name of its target.
        public var target: UnitName
        /// The link itself.
        public var path: String
    }

    /// A link in `UNIT.wants/` or `UNIT.requires/`: `systemctl enable` leaves one for each
    /// `WantedBy=`/`RequiredBy=`.
    public struct DependencyLink: Hashable, Sendable {
        /// The unit whose directory holds the link (`multi-user.target`).
        public var from: String
        /// The unit the link enables (`getty@tty1.service`).
        public var to: UnitName
        /// True for `*.requires/`.
        public var requires: Bool
        public var path: String
    }

    /// Loaded units: services, slices, targets, and the template instances the links enable.
    public var units: [UnitFile] = []
    public var aliases: [AliasLink] = []
    public var dependencyLinks: [DependencyLink] = []
    /// Units whose file is empty or a link to /dev/null: name → file.
    public var masked: [String: String] = [:]
    /// Templates (`getty@.service`) found, name → file, for `DefaultInstance=` and for
    /// instances named elsewhere.
    public var templates: [String: String] = [:]
    public var diagnostics: [Diagnostic] = []

    public init() {}
}
