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

    public func service(named name: String) -> ServiceConfig? {
        services.first { $0.name.description == name || $0.name.prefix == name && $0.name.instance == nil }
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

/// Unit names systemd always has. Ordering against them is accepted silently, so unit
/// files written for systemd pass unchanged (Warden itself starts once it runs).
public enum WellKnownUnits {
    public static let names: Set<String> = [
        "basic.target", "default.target", "multi-user.target", "graphical.target", "network.target",
        "network-online.target", "network-pre.target", "nss-lookup.target", "nss-user-lookup.target",
        "local-fs.target", "remote-fs.target", "sysinit.target", "sockets.target", "timers.target",
        "paths.target", "time-sync.target", "time-set.target", "shutdown.target", "umount.target",
        "swap.target", "emergency.target", "rescue.target", "syslog.socket", "dbus.socket",
        "dbus.service", "systemd-journald.socket", "systemd-journald.service",
        "-.slice", "system.slice", "user.slice", "machine.slice",
    ]
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
        var masked: [String: MaskedUnit] = [:]
        var templateDirectory: [String: String] = [:]
        for directory in directories {
            guard fileSystem.listDirectory(directory) != nil else {
                diagnostics.append(
                    .error(SourceLocation(file: directory, line: 0), key: nil, "unit directory does not exist or is not a directory"))
                continue
            }
            let loaded = UnitLoader(fileSystem: fileSystem, specifiers: specifiers).loadDirectory(directory)
            diagnostics += loaded.diagnostics
            // The first directory holding a name wins, whether its file is a unit or a mask.
            for unit in loaded.units where units[unit.name.description] == nil && masked[unit.name.description] == nil {
                units[unit.name.description] = unit
            }
            for unit in loaded.masked where units[unit.name] == nil && masked[unit.name] == nil {
                masked[unit.name] = unit
            }
            for name in fileSystem.listDirectory(directory) ?? [] where name.containsBytes("@.") {
                if templateDirectory[name] == nil { templateDirectory[name] = directory }
            }
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

        var services: [String: ServiceConfig] = [:]
        var slices: [String: SliceConfig] = [:]
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
                // Template instances named in Requires=/Wants=/BindsTo= are pulled in, as systemd does.
                for reference in service.requires + service.wants + service.bindsTo where !seen.contains(reference) {
                    guard let name = UnitName(parsing: reference), let instance = name.instance, !instance.isEmpty,
                        let directory = templateDirectory[UnitName(prefix: name.prefix, instance: "", kind: name.kind).description]
                    else { continue }
                    let (instantiated, instanceDiagnostics) = UnitLoader(fileSystem: fileSystem, specifiers: specifiers)
                        .load(unit: name, from: directory)
                    diagnostics += instanceDiagnostics
                    if let instantiated {
                        seen.insert(reference)
                        pending.append(instantiated)
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
            default:
                break
            }
        }

        diagnostics += Self.aggregatingNotEnforced(notEnforced)
        addImplicitSlices(services: services, slices: &slices, &diagnostics)
        let configuration = Configuration(
            settings: settings, configPath: configPath,
            // By key, which is the name's text: comparing names builds their text, and
            // sorting the values moves whole configurations.
            services: services.keys.sorted().map { services[$0]! },
            slices: slices.keys.sorted().map { slices[$0]! })
        diagnostics += Validator(
            configuration: configuration, host: host, fileSystem: fileSystem, searchPath: executableSearchPath,
            masked: Set(masked.keys),
            conditionFacts: conditionFacts
        ).crossCheck()
        diagnostics.sort { ($0.location.file, $0.location.line, $0.severity) < ($1.location.file, $1.location.line, $1.severity) }
        return Result(
            configuration: diagnostics.hasErrors ? nil : configuration, diagnostics: diagnostics,
            masked: masked.keys.sorted().map { masked[$0]! })
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

extension DependencyGraph {
    /// The graph of the configured components. Slices and systemd's well-known units
    /// take part in nothing Warden starts, so references to them are left out.
    public init(configuration: Configuration) {
        let components = Set(configuration.services.map(\.name.description))
        func keep(_ names: [String]) -> [String] { names.filter(components.contains) }
        var units: [String: UnitDependencies] = [:]
        for service in configuration.services {
            units[service.name.description] = UnitDependencies(
                requires: keep(service.requires), wants: keep(service.wants), bindsTo: keep(service.bindsTo),
                after: keep(service.after), before: keep(service.before))
        }
        self.init(units)
    }
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
