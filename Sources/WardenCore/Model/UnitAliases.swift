/// The other names of the loaded units, and the conflicts between names: from the alias
/// links of the unit directories and the `Alias=` of the `[Install]` sections.
struct UnitAliases {
    /// Alias → the name it stands for (which may itself be an alias;
    /// `Configuration.canonicalName` follows the chain).
    private(set) var table: [String: String] = [:]
    private(set) var diagnostics: [Diagnostic] = []

    /// - Parameters:
    ///   - unitFiles: every loaded unit, name → file.
    ///   - masked: masked units, name → file.
    ///   - templates: the templates found (`getty@.service`), which an alias may name.
    init(
        links: [UnitDirectoryContents.AliasLink], installs: [String: InstallSection], unitFiles: [String: String],
        masked: [String: String], templates: Set<String>
    ) {
        var origin: [String: String] = [:]
        let linked = Set(links.map(\.alias.description))
        for link in links {
            table[link.alias.description] = link.target.description
            origin[link.alias.description] = link.path
        }
        for name in installs.keys.sorted() {
            for alias in installs[name]!.aliases where alias.name.description != name {
                let aliasName = alias.name.description
                if let other = unitFiles[aliasName] {
                    diagnostics.append(.error(
                        alias.location, key: "Alias",
                        "\(aliasName) is the name of the unit file \(other); an alias of \(name) may not name another unit"))
                } else if let path = masked[aliasName] {
                    diagnostics.append(.error(
                        alias.location, key: "Alias",
                        "\(aliasName) is masked by \(path); an alias of \(name) may not name another unit"))
                } else if linked.contains(aliasName) {
                    // A link decides: several units may offer one alias (exit.target,
                    // halt.target, … all say Alias=ctrl-alt-del.target) and the link in
                    // the directory is the one that was enabled.
                    continue
                } else if let existing = table[aliasName], Configuration.canonicalName(existing, aliases: table) != name {
                    diagnostics.append(.error(
                        alias.location, key: "Alias",
                        "\(aliasName) is already a name of \(existing) (\(origin[aliasName] ?? "")); one name cannot belong to two units"))
                } else {
                    table[aliasName] = name
                    origin[aliasName] = alias.location.file
                }
            }
        }
        for alias in table.keys.sorted() {
            let own = Configuration.canonicalName(alias, aliases: table)
            let location = SourceLocation(file: origin[alias] ?? alias, line: 0)
            if own == alias || table[own] != nil {
                diagnostics.append(.error(
                    location, key: nil, "\(alias) is an alias in a cycle of aliases; expected a chain of links that ends at a unit file"))
                table[alias] = nil
            } else if unitFiles[own] == nil && masked[own] == nil && !templates.contains(own)
                && !WellKnownUnits.names.contains(own) && !(UnitName(parsing: own)?.isInstance ?? false)
            {
                diagnostics.append(.warning(
                    location, key: nil, "\(alias) is an alias of \(own), which is in no unit directory; the alias is ignored"))
                table[alias] = nil
            }
        }
    }
}
