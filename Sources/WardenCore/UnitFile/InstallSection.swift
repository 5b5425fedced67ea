/// A unit's `[Install]` section (systemd.unit(5), "[Install] Section Options"). systemd
/// reads it only when `systemctl enable` makes links; Warden has no enable step, so it
/// honours the keys directly: `Alias=` names are names of the unit, `WantedBy=` and
/// `RequiredBy=` add the dependency the link would, and a template's `DefaultInstance=`
/// is an instance to run.
public struct InstallSection: Hashable, Sendable {
    public struct Name: Hashable, Sendable {
        public var name: UnitName
        public var location: SourceLocation
    }

    public var aliases: [Name] = []
    public var wantedBy: [Name] = []
    public var requiredBy: [Name] = []
    /// `Also=`: units systemd enables together with this one. Warden loads every unit of
    /// its directories anyway.
    public var also: [Name] = []
    /// A template's `DefaultInstance=`, the instance string (`tty1`).
    public var defaultInstance: String?
    public var defaultInstanceLocation: SourceLocation?

    public init() {}

    /// Reads the `[Install]` sections of `unit`. Each key takes space-separated unit
    /// names and may be repeated; an empty assignment resets the list.
    public static func parse(_ unit: UnitFile) -> (InstallSection, [Diagnostic]) {
        var install = InstallSection()
        var diagnostics: [Diagnostic] = []
        let listKeys: [String: WritableKeyPath<InstallSection, [Name]>] = [
            "Alias": \.aliases, "WantedBy": \.wantedBy, "RequiredBy": \.requiredBy, "Also": \.also,
        ]
        for section in unit.sections(named: "Install") {
            for entry in section.entries {
                if entry.key == "DefaultInstance" {
                    install.defaultInstance = nil
                    install.defaultInstanceLocation = nil
                    if entry.value.isEmpty { continue }
                    guard unit.name.isTemplate else {
                        diagnostics.append(.warning(
                            entry.location, key: entry.key, "only a template (name@.\(unit.name.kind.rawValue)) has a default instance; ignored"))
                        continue
                    }
                    let instanced = unit.name.instantiated(with: entry.value)
                    guard UnitName(parsing: instanced.description) != nil else {
                        diagnostics.append(.error(
                            entry.location, key: entry.key, "'\(entry.value)' does not make a valid unit name (\(instanced)); expected an escaped instance string"))
                        continue
                    }
                    install.defaultInstance = entry.value
                    install.defaultInstanceLocation = entry.location
                    continue
                }
                // Other keys are checked against systemd's table with the rest of the unit.
                guard let field = listKeys[entry.key] else { continue }
                if entry.value.isEmpty {
                    install[keyPath: field] = []
                    continue
                }
                let words: [String]
                switch SystemdWords.split(entry.value) {
                case .success(let split): words = split
                case .failure(let error):
                    diagnostics.append(.error(entry.location, key: entry.key, "\(error)"))
                    continue
                }
                for word in words {
                    switch UnitName.validate(word) {
                    case .failure(let error):
                        diagnostics.append(.error(entry.location, key: entry.key, error.description))
                    case .success(let name):
                        if entry.key == "Alias", let problem = aliasProblem(name, of: unit.name) {
                            diagnostics.append(.error(entry.location, key: entry.key, problem))
                            continue
                        }
                        install[keyPath: field].append(Name(name: name, location: entry.location))
                    }
                }
            }
        }
        return (install, diagnostics)
    }

    /// systemd's rule (`unit_validate_alias_symlink_or_warn()`): an alias has the unit's
    /// type, and a template's alias is a template, an instance's alias an instance.
    static func aliasProblem(_ alias: UnitName, of unit: UnitName) -> String? {
        if alias.kind != unit.kind {
            return "\(alias) is a .\(alias.kind.rawValue) name; an alias of \(unit) must end in .\(unit.kind.rawValue)"
        }
        if unit.isTemplate != alias.isTemplate || (unit.instance == nil) != (alias.instance == nil) {
            return "\(alias) cannot name \(unit): an alias of a template must be a template, of a plain unit a plain unit"
        }
        return nil
    }
}
