/// What validation may check against the machine, when checking against the host.
/// Injected, so the core stays pure and tests can describe any machine.
public struct HostFacts: Hashable, Sendable {
    public var onlineCPUs: CPUSet?
    public var physicalMemoryBytes: UInt64?
    /// `/proc/sys/kernel/pid_max`, the base of `TasksMax=N%`.
    public var pidMax: UInt64?
    /// The page size: the kernel keeps memory limits in whole pages.
    public var pageSizeBytes: UInt64
    /// Whether the D-Bus system bus socket exists (what `Type=dbus` needs); nil: not looked at.
    public var systemBusPresent: Bool?

    /// The page size of x86-64 and of most arm64 kernels.
    public static let defaultPageSizeBytes: UInt64 = 4096

    public init(
        onlineCPUs: CPUSet? = nil, physicalMemoryBytes: UInt64? = nil, pidMax: UInt64? = nil,
        pageSizeBytes: UInt64 = HostFacts.defaultPageSizeBytes
    ) {
        self.onlineCPUs = onlineCPUs
        self.physicalMemoryBytes = physicalMemoryBytes
        self.pidMax = pidMax
        self.pageSizeBytes = pageSizeBytes
    }
}

/// Warden's whole configuration: its own settings, the components and the slices,
/// validated. Only a configuration without errors exists as a value; a reload with an
/// invalid configuration therefore has nothing to apply.
public struct Configuration: Hashable, Sendable {
    public var settings: WardenSettings
    /// The `warden.conf` it was read from, nil when none was given.
    public var configPath: String?
    /// Components, sorted by name.
    public var services: [ServiceConfig]
    /// Every slice a component runs in, with all its ancestors, sorted by name.
    public var slices: [SliceConfig]
    /// Targets: the `.target` files and the targets units name without a file, sorted
    /// by name.
    public var targets: [TargetConfig] = []
    /// Other names of units: alias → the unit's own name (links in a unit directory and
    /// `Alias=`). Dependencies are stored with the own names already.
    public var aliases: [String: String] = [:]
    /// Masked units (an empty file or a link to /dev/null): name → file. They are not
    /// started; a `Requires=` of one fails the requiring unit's start.
    public var masked: [String: String] = [:]

    /// The component `name` names: its own name or an alias, with or without `.service`.
    public func service(named name: String) -> ServiceConfig? {
        let own = canonicalName(name)
        let ownWithSuffix = name.contains(".") ? own : canonicalName(name + ".service")
        return services.first {
            $0.name.description == own || $0.name.description == ownWithSuffix
                || $0.name.prefix == name && $0.name.instance == nil
        }
    }

    /// The unit's own name for `name`, which may be an alias (`redis.service` →
    /// `redis-server.service`); `name` itself when it is no alias.
    public func canonicalName(_ name: String) -> String {
        Self.canonicalName(name, aliases: aliases)
    }

    /// Follows aliases (a chain of at most a few links), and the alias of an instance's
    /// template: with `foo@.service → bar@.service`, `foo@1.service` is `bar@1.service`.
    public static func canonicalName(_ name: String, aliases: [String: String]) -> String {
        var current = name
        for _ in 0..<8 {
            if let next = aliases[current] {
                current = next
                continue
            }
            if let unit = UnitName(parsing: current), let instance = unit.instance, !instance.isEmpty,
                let template = unit.template, let next = aliases[template.description],
                let aliased = UnitName(parsing: next)
            {
                current = aliased.instantiated(with: instance).description
                continue
            }
            break
        }
        return current
    }

    public func slice(named name: String) -> SliceConfig? {
        slices.first { $0.name.description == name }
    }

    /// The component's own `Priority=`, else the nearest slice's, else normal.
    public func effectivePriority(of service: ServiceConfig) -> Priority {
        if let own = service.priority { return own }
        var current: String? = service.effectiveSlice
        while let name = current {
            if let priority = slice(named: name)?.priority { return priority }
            current = SliceConfig.parent(of: name)
        }
        return .normal
    }

    /// The slices from the root's child down to `name` (`trading.slice`, `trading-critical.slice`).
    public func sliceChain(to name: String) -> [String] {
        var chain: [String] = []
        var current: String? = name
        while let slice = current, slice != "-.slice" {
            chain.insert(slice, at: 0)
            current = SliceConfig.parent(of: slice)
        }
        return chain
    }
}

/// Loads and validates `warden.conf` and the unit directories.
public struct ConfigurationLoader: Sendable {
    public var fileSystem: any ConfigFileSystem
    public var specifiers: SpecifierContext
    /// When set, limits are checked against this machine (CPUs that exist, memory size).
    public var host: HostFacts?
    /// Where a plain command name (`ExecStart=warden-demo feed`) is looked up: systemd's
    /// fixed list, to which the caller adds the directory of the warden binary.
    public var executableSearchPath: [String]
    /// When set, each unit's `Condition…=`/`Assert…=` lines are tested against this
    /// machine, so a command a unit would never run here (its conditions are unmet) is
    /// not an error.
    public var conditionFacts: (any ConditionFacts)?

    public static let systemdExecutableSearchPath = [
        "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
    ]

    public init(
        fileSystem: any ConfigFileSystem, specifiers: SpecifierContext, host: HostFacts? = nil,
        executableSearchPath: [String] = ConfigurationLoader.systemdExecutableSearchPath,
        conditionFacts: (any ConditionFacts)? = nil
    ) {
        self.conditionFacts = conditionFacts
        self.fileSystem = fileSystem
        self.specifiers = specifiers
        self.host = host
        self.executableSearchPath = executableSearchPath
    }

    public struct Result: Sendable {
        /// Nil when any diagnostic is an error.
        public var configuration: Configuration?
        /// Sorted by file and line; errors, warnings and notes.
        public var diagnostics: [Diagnostic]
        /// Units whose file masks them, by name; not loaded.
        public var masked: [MaskedUnit]

        public init(configuration: Configuration?, diagnostics: [Diagnostic], masked: [MaskedUnit] = []) {
            self.configuration = configuration
            self.diagnostics = diagnostics
            self.masked = masked
        }
    }

    /// Reads `configPath` (when given) and the unit directories it names, or
    /// `unitDirectories` when given (they take precedence over the file's). `extraUnits`
    /// (file name → text) are units given on the command line (`warden run -- CMD`), read
    /// as if from a directory named `(command line)`; one may not share a name with a
    /// unit file.
    public func load(configPath: String?, unitDirectories override: [String]? = nil, extraUnits: [String: String] = [:]) -> Result {
        var diagnostics: [Diagnostic] = []
        var settings = WardenSettings(location: SourceLocation(file: configPath ?? "(defaults)", line: 0))
        if let configPath {
            loadSettings(path: configPath, into: &settings, &diagnostics)
        }
        let baseDirectory = configPath.map({ directoryName(of: $0) }) ?? "."
        let directories = (override ?? settings.effectiveUnitDirectories).map {
            normalizedPath($0.hasPrefix("/") ? $0 : joinPath(baseDirectory, $0))
        }

        var units: [String: UnitFile] = [:]
        var templateDirectory: [String: String] = [:]
        var templatePaths: [String: String] = [:]
        var aliasLinks: [UnitDirectoryContents.AliasLink] = []
        var dependencyLinks: [UnitDirectoryContents.DependencyLink] = []
        var masked: [String: String] = [:]
        // A name belongs to the first directory that has it (a file, a mask or a link),
        // as in systemd's search path: /etc/systemd/system masks /lib/systemd/system.
        var claimed: Set<String> = []
        let loader = UnitLoader(fileSystem: fileSystem, specifiers: specifiers)
        for directory in directories {
            guard fileSystem.listDirectory(directory) != nil else {
                diagnostics.append(
                    .error(SourceLocation(file: directory, line: 0), key: nil, "unit directory does not exist or is not a directory"))
                continue
            }
            let contents = loader.scanDirectory(directory)
            diagnostics += contents.diagnostics
            var claimedHere: Set<String> = []
            for unit in contents.units where !claimed.contains(unit.name.description) && units[unit.name.description] == nil {
                units[unit.name.description] = unit
                claimedHere.insert(unit.name.description)
            }
            for (name, path) in contents.masked where !claimed.contains(name) {
                masked[name] = path
                units[name] = nil
                claimedHere.insert(name)
            }
            for link in contents.aliases where !claimed.contains(link.alias.description) && !claimedHere.contains(link.alias.description) {
                aliasLinks.append(link)
                claimedHere.insert(link.alias.description)
            }
            dependencyLinks += contents.dependencyLinks
            for (name, path) in contents.templates where templateDirectory[name] == nil {
                templateDirectory[name] = directory
                templatePaths[name] = path
            }
            for name in fileSystem.listDirectory(directory) ?? [] where name.containsBytes("@.") {
                if templateDirectory[name] == nil { templateDirectory[name] = directory }
            }
            claimed.formUnion(claimedHere)
        }
        if !extraUnits.isEmpty {
            let directory = "(command line)"
            let files = Dictionary(uniqueKeysWithValues: extraUnits.map { (joinPath(directory, $0.key), $0.value) })
            let loaded = UnitLoader(fileSystem: InMemoryFileSystem(files: files), specifiers: specifiers).loadDirectory(directory)
            diagnostics += loaded.diagnostics
            for unit in loaded.units {
                if let clash = units[unit.name.description] {
                    diagnostics.append(
                        .error(
                            SourceLocation(file: unit.path, line: 0), key: nil,
                            "\(unit.name) is also the unit file \(clash.path): name the command line's program otherwise (--main-name)"))
                } else {
                    units[unit.name.description] = unit
                }
            }
        }

        // Instances enabled by a link whose template is in another directory.
        for link in dependencyLinks where link.to.isInstance && units[link.to.description] == nil && masked[link.to.description] == nil {
            guard let template = link.to.template, let directory = templateDirectory[template.description] else { continue }
            let (unit, instanceDiagnostics) = loader.load(unit: link.to, from: directory)
            diagnostics += instanceDiagnostics
            if let unit { units[link.to.description] = unit }
        }

        // A template's DefaultInstance= is an instance to run, as `systemctl enable` of
        // the template would link it.
        for name in templatePaths.keys.sorted() {
            guard let templateName = UnitName(parsing: name), let path = templatePaths[name],
                let text = try? fileSystem.readFile(path)
            else { continue }
            let template = UnitFile(name: templateName, path: path, sections: UnitFileParser.parse(text: text, file: path).sections)
            let (install, _) = InstallSection.parse(template)
            guard let instance = install.defaultInstance else { continue }
            let instanceName = templateName.instantiated(with: instance)
            guard units[instanceName.description] == nil, masked[instanceName.description] == nil,
                let directory = templateDirectory[name]
            else { continue }
            let (unit, instanceDiagnostics) = loader.load(unit: instanceName, from: directory)
            diagnostics += instanceDiagnostics
            if let unit { units[instanceName.description] = unit }
        }

        // Names: alias links, then Alias= of the [Install] sections.
        var installs: [String: InstallSection] = [:]
        for name in units.keys.sorted() {
            let (install, installDiagnostics) = InstallSection.parse(units[name]!)
            installs[name] = install
            diagnostics += installDiagnostics
        }
        let names = UnitAliases(
            links: aliasLinks, installs: installs, unitFiles: units.mapValues(\.path), masked: masked,
            templates: Set(templatePaths.keys))
        diagnostics += names.diagnostics
        let aliases = names.table
        for alias in aliases.keys where masked[Configuration.canonicalName(alias, aliases: aliases)] != nil {
            masked[alias] = masked[Configuration.canonicalName(alias, aliases: aliases)]
        }
        func canonical(_ names: [String]) -> [String] {
            names.map { Configuration.canonicalName($0, aliases: aliases) }
        }

        var services: [String: ServiceConfig] = [:]
        var slices: [String: SliceConfig] = [:]
        var targets: [String: TargetConfig] = [:]
        var notEnforced: [(diagnostic: Diagnostic, unit: String)] = []
        var pending = units.keys.sorted().map { units[$0]! }
        var seen = Set(pending.map(\.name.description))
        while !pending.isEmpty {
            let unit = pending.removeFirst()
            switch unit.name.kind {
            case .service:
                // Whole-unit problems (a missing ExecStart=) point at the [Service] header.
                let header = unit.sections(named: "Service").first?.location.line ?? 0
                var service = ServiceConfig(name: unit.name, location: SourceLocation(file: unit.path, line: header))
                let found = Self.interpret(unit, rules: ServiceConfig.ruleIndex, into: &service, sections: ["Unit", "Service", "X-Warden"])
                diagnostics += found.filter { !Self.isNotEnforced($0) }
                notEnforced += found.filter(Self.isNotEnforced).map { ($0, unit.name.description) }
                diagnostics += Self.checkRequisite(unit)
                service.requires = canonical(service.requires)
                service.wants = canonical(service.wants)
                service.bindsTo = canonical(service.bindsTo)
                service.after = canonical(service.after)
                service.before = canonical(service.before)
                // Template instances named in Requires=/Wants=/BindsTo= are pulled in, as systemd does.
                for reference in service.requires + service.wants + service.bindsTo where !seen.contains(reference) {
                    guard let name = UnitName(parsing: reference), let instance = name.instance, !instance.isEmpty,
                        let directory = templateDirectory[UnitName(prefix: name.prefix, instance: "", kind: name.kind).description]
                    else { continue }
                    let (instantiated, instanceDiagnostics) = loader.load(unit: name, from: directory)
                    diagnostics += instanceDiagnostics
                    if let instantiated {
                        seen.insert(reference)
                        pending.append(instantiated)
                        let (install, installDiagnostics) = InstallSection.parse(instantiated)
                        installs[reference] = install
                        diagnostics += installDiagnostics
                    }
                }
                service.hasSuccessAction = Self.hasSuccessAction(unit)
                service.unresolvedKeys = unit.unresolvedKeys
                services[unit.name.description] = service
            case .slice:
                var slice = SliceConfig(name: unit.name, location: SourceLocation(file: unit.path, line: 0))
                let found = Self.interpret(unit, rules: SliceConfig.ruleIndex, into: &slice, sections: ["Unit", "Slice", "X-Warden"])
                diagnostics += found.filter { !Self.isNotEnforced($0) }
                notEnforced += found.filter(Self.isNotEnforced).map { ($0, unit.name.description) }
                slices[unit.name.description] = slice
            case .target:
                var target = TargetConfig(name: unit.name, location: SourceLocation(file: unit.path, line: 0))
                let found = Self.interpret(unit, rules: TargetConfig.ruleIndex, into: &target, sections: ["Unit"])
                diagnostics += found.filter { !Self.isNotEnforced($0) }
                notEnforced += found.filter(Self.isNotEnforced).map { ($0, unit.name.description) }
                diagnostics += Self.checkRequisite(unit)
                target.wants = canonical(target.wants)
                target.requires = canonical(target.requires)
                target.bindsTo = canonical(target.bindsTo)
                target.after = canonical(target.after)
                target.before = canonical(target.before)
                targets[unit.name.description] = target
            default:
                break
            }
        }

        // WantedBy=/RequiredBy= and the *.wants/ and *.requires/ links: a dependency of
        // the unit they name. A target named this way exists even without a file.
        func addDependency(from: String, to: String, requires: Bool) {
            let from = Configuration.canonicalName(from, aliases: aliases)
            let to = Configuration.canonicalName(to, aliases: aliases)
            if services[from] != nil {
                if requires { services[from]!.requires.append(to) } else { services[from]!.wants.append(to) }
                return
            }
            guard let fromName = UnitName(parsing: from), fromName.kind == .target else { return }
            if targets[from] == nil {
                var implicit = TargetConfig(name: fromName, location: SourceLocation(file: "(implicit)", line: 0))
                implicit.isImplicit = true
                targets[from] = implicit
            }
            if requires { targets[from]!.requires.append(to) } else { targets[from]!.wants.append(to) }
        }
        for name in installs.keys.sorted() where services[name] != nil || targets[name] != nil || slices[name] != nil {
            for wanting in installs[name]!.wantedBy { addDependency(from: wanting.name.description, to: name, requires: false) }
            for requiring in installs[name]!.requiredBy { addDependency(from: requiring.name.description, to: name, requires: true) }
        }
        for link in dependencyLinks {
            let to = Configuration.canonicalName(link.to.description, aliases: aliases)
            guard services[to] != nil || targets[to] != nil || masked[to] != nil else { continue }
            addDependency(from: link.from, to: to, requires: link.requires)
        }
        // Special targets that units order against or pull in exist implicitly too.
        var named: Set<String> = []
        for service in services.values {
            for list in [service.after, service.before, service.wants, service.requires, service.bindsTo] { named.formUnion(list) }
        }
        for target in targets.values {
            for list in [target.after, target.before, target.wants, target.requires, target.bindsTo] { named.formUnion(list) }
        }
        for name in named where targets[name] == nil && WellKnownUnits.targets.contains(name) {
            guard let unitName = UnitName(parsing: name) else { continue }
            var implicit = TargetConfig(name: unitName, location: SourceLocation(file: "(implicit)", line: 0))
            implicit.isImplicit = true
            targets[name] = implicit
        }
        for name in targets.keys {
            for key in [\TargetConfig.wants, \TargetConfig.requires] {
                var seenMembers = Set<String>()
                targets[name]![keyPath: key] = targets[name]![keyPath: key].filter { seenMembers.insert($0).inserted }
            }
        }

        diagnostics += Self.aggregatingNotEnforced(notEnforced)
        addImplicitSlices(services: services, slices: &slices, &diagnostics)
        var configuration = Configuration(
            settings: settings, configPath: configPath,
            // By key, which is the name's text: comparing names builds their text, and
            // sorting the values moves whole configurations.
            services: services.keys.sorted().map { services[$0]! },
            slices: slices.keys.sorted().map { slices[$0]! })
        configuration.targets = targets.keys.sorted().map { targets[$0]! }
        configuration.aliases = aliases
        configuration.masked = masked
        diagnostics += Validator(
            configuration: configuration, host: host, fileSystem: fileSystem, searchPath: executableSearchPath,
            conditionFacts: conditionFacts
        ).crossCheck()
        diagnostics.sort { ($0.location.file, $0.location.line, $0.severity) < ($1.location.file, $1.location.line, $1.severity) }
        return Result(
            configuration: diagnostics.hasErrors ? nil : configuration, diagnostics: diagnostics,
            masked: masked.keys.sorted().filter { aliases[$0] == nil }.map { MaskedUnit(name: $0, path: masked[$0]!) })
    }

    private func loadSettings(path: String, into settings: inout WardenSettings, _ diagnostics: inout [Diagnostic]) {
        let text: String
        do {
            text = try fileSystem.readFile(path)
        } catch {
            diagnostics.append(.error(SourceLocation(file: path, line: 0), key: nil, "cannot read configuration: \(error.reason)"))
            return
        }
        let parsed = UnitFileParser.parse(text: text, file: path)
        diagnostics += parsed.diagnostics
        let file = UnitFile(name: UnitName(prefix: "warden", kind: .service), path: path, sections: parsed.sections)
        diagnostics += Self.interpret(file, rules: KeyRuleIndex(WardenSettings.rules), into: &settings, sections: ["Warden", "Governor"])
    }

    /// Slices that components name but no file defines are created with defaults, as
    /// systemd does; so are the ancestors of every slice.
    private func addImplicitSlices(
        services: [String: ServiceConfig], slices: inout [String: SliceConfig], _ diagnostics: inout [Diagnostic]
    ) {
        var wanted: [(String, SourceLocation?)] = []
        // By key: sorting the configurations themselves moved every one of them around.
        for key in services.keys.sorted() {
            guard let service = services[key] else { continue }
            let location = service.slice == nil ? nil : service.location
            wanted.append((service.effectiveSlice, location))
        }
        for slice in slices.values { wanted.append((slice.name.description, nil)) }
        for (name, location) in wanted {
            var current: String? = name
            var isNamedByComponent = location != nil
            while let sliceName = current, sliceName != "-.slice" {
                if slices[sliceName] == nil, let unitName = UnitName(parsing: sliceName) {
                    var slice = SliceConfig(name: unitName, location: SourceLocation(file: "(implicit)", line: 0))
                    slice.isImplicit = true
                    slices[sliceName] = slice
                    if isNamedByComponent, let location, !WellKnownUnits.names.contains(sliceName) {
                        diagnostics.append(
                            .note(location, key: "Slice", "\(sliceName) has no unit file; it is created with default limits"))
                    }
                }
                isNamedByComponent = false
                current = SliceConfig.parent(of: sliceName)
            }
        }
    }

    /// Applies the rules to every assignment of the unit, reporting unknown sections and
    /// keys (with a close valid spelling), keys in the wrong section, and systemd keys that
    /// Warden does not enforce.
    static func interpret<Model: KeyLocating>(
        _ unit: UnitFile, rules index: KeyRuleIndex<Model>, into model: inout Model, sections: Set<String>
    ) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let rules = index.rules
        let byKey = index.byKey
        for section in unit.sections {
            if !sections.contains(section.name) {
                if section.name.hasPrefix("X-") && section.name != "X-Warden" { continue }
                if SystemdOnlyKeys.ignoredSections.contains(section.name) {
                    diagnostics += Self.unknownSystemdKeys(in: section)
                    continue
                }
                var message = "unknown section [\(section.name)] in a .\(unit.name.kind.rawValue) unit; expected \(sections.sorted().map { "[\($0)]" }.joined(separator: ", "))"
                if let close = Suggestion.closest(to: section.name, in: sections) {
                    message += " (did you mean [\(close)]?)"
                }
                diagnostics.append(.error(section.location, key: nil, message))
                continue
            }
            for entry in section.entries {
                if let rule = byKey[entry.key]?.first(where: { $0.sections.contains(section.name) }) {
                    rule.apply(&model, entry, &diagnostics)
                    model.keyLocations[entry.key] = entry.location
                } else if let elsewhere = byKey[entry.key]?.first {
                    let places = elsewhere.sections.sorted().map { "[\($0)]" }.joined(separator: " or ")
                    diagnostics.append(.error(entry.location, key: entry.key, "belongs in \(places), not [\(section.name)]"))
                } else if section.name == "Unit", SystemdOnlyKeys.informational.contains(entry.key) {
                    continue
                } else if SystemdOnlyKeys.isSystemdKey(entry.key, section: section.name) {
                    diagnostics.append(
                        SystemdOnlyKeys.isObsolete(entry.key, section: section.name)
                            ? .warning(entry.location, key: entry.key, "obsolete: systemd 252 itself ignores it")
                            : .warning(entry.location, key: entry.key, SystemdOnlyKeys.notEnforced))
                } else {
                    let candidates = rules.filter { $0.sections.contains(section.name) }.map(\.key)
                        + (section.name == "X-Warden" ? [] : SystemdOnlyKeys.keys(of: section.name).sorted())
                    var message = "unknown key in [\(section.name)]"
                    let systemdSections = ["Unit", "Service", "Slice", "Install"].filter {
                        section.name != "X-Warden" && SystemdOnlyKeys.isSystemdKey(entry.key, section: $0)
                    }
                    if !systemdSections.isEmpty {
                        message += "; systemd reads it in \(systemdSections.map { "[\($0)]" }.joined(separator: " or "))"
                    } else if let close = Suggestion.closest(to: entry.key, in: candidates) {
                        message += "; did you mean \(close)?"
                    }
                    diagnostics.append(.error(entry.location, key: entry.key, message))
                }
            }
        }
        return diagnostics
    }

    /// `Requisite=` is not enforced, but one naming a unit type Warden cannot have could
    /// never be met: that is an error, as for `Requires=`.
    static func checkRequisite(_ unit: UnitFile) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for section in unit.sections(named: "Unit") {
            for entry in section.entries where entry.key == "Requisite" {
                guard case .success(let words) = SystemdWords.split(entry.value) else { continue }
                for word in words {
                    guard let name = UnitName(parsing: word), let reason = UnsupportedUnitKinds.reason(for: name.kind) else { continue }
                    diagnostics.append(.error(
                        entry.location, key: entry.key, "\(word): \(reason); \(UnsupportedUnitKinds.advice(for: name, requiredBy: unit.name.description))"))
                }
            }
        }
        return diagnostics
    }

    /// Whether the unit's last `SuccessAction=` names an action: systemd lets such a
    /// service have no `ExecStart=`. An empty assignment resets it, `none` is no action.
    static func hasSuccessAction(_ unit: UnitFile) -> Bool {
        let last = unit.sections(named: "Unit").flatMap(\.entries).last { $0.key == "SuccessAction" }
        guard let value = last?.value else { return false }
        return !value.isEmpty && value != "none"
    }

    /// Errors for the keys of a section Warden reads nothing from (`[Install]`) that
    /// systemd does not know either.
    static func unknownSystemdKeys(in section: UnitSection) -> [Diagnostic] {
        let known = SystemdOnlyKeys.keys(of: section.name)
        return section.entries.filter { !known.contains($0.key) }.map { entry in
            var message = "unknown key in [\(section.name)]"
            if let close = Suggestion.closest(to: entry.key, in: known) {
                message += "; did you mean \(close)?"
            }
            return .error(entry.location, key: entry.key, message)
        }
    }

    /// One warning per systemd key that Warden does not enforce, for the whole
    /// configuration: at its first use, saying how many other units use it. A hundred
    /// units with `PrivateTmp=` are one line to read, not a hundred. `unit` is the unit
    /// whose files each diagnostic comes from.
    static func aggregatingNotEnforced(_ uses: [(diagnostic: Diagnostic, unit: String)]) -> [Diagnostic] {
        var byKey: [String: [(diagnostic: Diagnostic, unit: String)]] = [:]
        for use in uses { byKey[use.diagnostic.key ?? "", default: []].append(use) }
        return byKey.keys.sorted().map { key in
            let ordered = byKey[key]!.sorted {
                ($0.diagnostic.location.file, $0.diagnostic.location.line) < ($1.diagnostic.location.file, $1.diagnostic.location.line)
            }
            let first = ordered[0]
            let others = Set(ordered.map(\.unit)).subtracting([first.unit]).count
            var message = first.diagnostic.message
            if others > 0 { message += " (also in \(others) other unit\(others == 1 ? "" : "s"))" }
            return .warning(first.diagnostic.location, key: first.diagnostic.key, message)
        }
    }

    /// Whether `diagnostic` is the warning for a systemd key Warden does not enforce.
    static func isNotEnforced(_ diagnostic: Diagnostic) -> Bool {
        diagnostic.severity == .warning && diagnostic.message == SystemdOnlyKeys.notEnforced
    }
}

/// A kind of unit's rules grouped by key, built once for all its files (100 unit files
/// otherwise grouped the same rules 100 times).
struct KeyRuleIndex<Model> {
    let rules: [KeyRule<Model>]
    let byKey: [String: [KeyRule<Model>]]

    init(_ rules: [KeyRule<Model>]) {
        self.rules = rules
        var byKey: [String: [KeyRule<Model>]] = [:]
        for rule in rules { byKey[rule.key, default: []].append(rule) }
        self.byKey = byKey
    }
}

extension ServiceConfig {
    static let ruleIndex = KeyRuleIndex(rules)
}

extension SliceConfig {
    static let ruleIndex = KeyRuleIndex(rules)
}

extension TargetConfig {
    static let ruleIndex = KeyRuleIndex(rules)
}

/// `a/./b/../c` → `a/c`, so messages name files the way an operator would type them.
func normalizedPath(_ path: String) -> String {
    let absolute = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == "..", let last = parts.last, last != ".." {
            parts.removeLast()
        } else if part == "..", absolute {
            continue
        } else {
            parts.append(part)
        }
    }
    let joined = parts.joined(separator: "/")
    if absolute { return "/" + joined }
    return joined.isEmpty ? "." : joined
}
