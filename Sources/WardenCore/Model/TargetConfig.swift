/// A `.target` unit: a named point in the start order that groups other units
/// (systemd.target(5)). It runs nothing; Warden reads its `[Unit]` dependencies and its
/// `[Install]` section. A target that no file defines but that units name
/// (`WantedBy=multi-user.target`, a `multi-user.target.wants/` directory) exists
/// implicitly with no settings of its own.
///
/// A target is reached when every configured unit ordered before it has started (see
/// `DependencyGraph.init(configuration:)`); units ordered after it wait for that.
public struct TargetConfig: Hashable, Sendable, KeyLocating {
    public var name: UnitName
    public var location: SourceLocation
    public var keyLocations: [String: SourceLocation] = [:]
    public var description: String?
    public var wants: [String] = []
    public var requires: [String] = []
    public var bindsTo: [String] = []
    public var after: [String] = []
    public var before: [String] = []
    /// `DefaultDependencies=no`: no implicit `After=` on the units it wants.
    public var defaultDependencies = true
    /// No file defines it; units name it.
    public var isImplicit = false

    public init(name: UnitName, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    private static let unitSection: Set<String> = ["Unit"]

    private static func names(_ word: String) -> ValueError? {
        UnitName(parsing: word) == nil ? ValueError("'\(word)' is not a valid unit name; expected e.g. network-online.target") : nil
    }

    /// The keys a target takes: `[Unit]` only (its `[Install]` is read by `InstallSection`).
    public static let rules: [KeyRule<TargetConfig>] = [
        .value(
            "Description", in: unitSection, \.description,
            KeyDoc("Human-readable name.", syntax: "text", default: "none", mapsTo: "check-config output"),
            parse: PlainValue.string),
        .list(
            "Wants", in: unitSection, \.wants,
            KeyDoc(
                "Units the target groups; each is ordered before the target unless it says otherwise.",
                syntax: "space-separated unit names", default: "none", mapsTo: "dependency graph"),
            validate: names),
        .list(
            "Requires", in: unitSection, \.requires,
            KeyDoc(
                "Like Wants=; a unit requiring this target requires these too.", syntax: "space-separated unit names",
                default: "none", mapsTo: "dependency graph"),
            validate: names),
        .list(
            "BindsTo", in: unitSection, \.bindsTo,
            KeyDoc("Like Requires=.", syntax: "space-separated unit names", default: "none", mapsTo: "dependency graph"),
            validate: names),
        .list(
            "After", in: unitSection, \.after,
            KeyDoc("The target is reached only after these units.", syntax: "space-separated unit names", default: "none", mapsTo: "start order"),
            validate: names),
        .list(
            "Before", in: unitSection, \.before,
            KeyDoc("These units start after the target is reached.", syntax: "space-separated unit names", default: "none", mapsTo: "start order"),
            validate: names),
        .value(
            "DefaultDependencies", in: unitSection, \.defaultDependenciesSetting,
            KeyDoc(
                "no: the units the target wants are not ordered before it implicitly.", syntax: "boolean",
                default: "yes", mapsTo: "start order"),
            parse: parseBoolean),
    ]

    var defaultDependenciesSetting: Bool? {
        get { defaultDependencies }
        set { defaultDependencies = newValue ?? true }
    }
}
