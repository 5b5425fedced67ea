/// Reads unit files and their drop-ins from a `ConfigFileSystem`, expanding `%`
/// specifiers per unit. Pure: all I/O goes through the injected file system.
///
/// Drop-ins (systemd.unit(5), "Description"): for `a-b-c.service` the `*.conf` files of
/// these directories apply, listed from most to least specific:
///
///     a-b-c.service.d/   (for an instance feed@2.service: feed@2.service.d/,
///     feed@.service.d/   then its template's directory)
///     a-b-.service.d/    (one directory per '-'-truncated prefix)
///     a-.service.d/
///     service.d/         (every unit of the type)
///
/// All files are applied in lexical order of their file name, whichever directory holds
/// them; when two directories hold the same file name, the most specific one wins and the
/// other is not read. Each drop-in adds its sections after the main file's, so a later
/// assignment overrides an earlier one (or, for list keys, appends to it).
public struct UnitLoader: Sendable {
    public var fileSystem: any ConfigFileSystem
    public var specifiers: SpecifierContext
    /// Keys whose values are used without specifier expansion.
    public var verbatimKeys: Set<String>

    /// Keys that systemd parses without `%` specifiers, as its own table says
    /// (`SystemdKeyTable.verbatim`), and Warden's resource keys that take percentages: a
    /// `%` in `CPUQuota=150%` or `Restart=` is not a specifier, as under systemd.
    public static let defaultVerbatimKeys: Set<String> = ResourceKeys.verbatimKeys.union(SystemdOnlyKeys.verbatimKeys)
        .union(ConditionKind.verbatimKeys)

    public init(
        fileSystem: some ConfigFileSystem, specifiers: SpecifierContext,
        verbatimKeys: Set<String> = UnitLoader.defaultVerbatimKeys
    ) {
        self.fileSystem = fileSystem
        self.specifiers = specifiers
        self.verbatimKeys = verbatimKeys
    }

    /// The unit types Warden loads: the services it supervises, the slices they run in,
    /// and the targets that group them.
    public static let supportedKinds: Set<UnitName.Kind> = [.service, .slice, .target]

    /// Loads every `*.service`, `*.slice` and `*.target` file in `directory`, in name
    /// order, with drop-ins and specifiers applied.
    /// Masked units are listed apart, with a note each.
    public func loadDirectory(_ directory: String) -> (units: [UnitFile], diagnostics: [Diagnostic], masked: [MaskedUnit]) {
        let contents = scanDirectory(directory)
        let masked = contents.masked.keys.sorted(by: byteOrder).map { MaskedUnit(name: $0, path: contents.masked[$0]!) }
        return (contents.units, contents.diagnostics, masked)
    }

    /// Reads a unit directory the way systemd builds its name map:
    ///
    /// - a regular file (or a link whose target has the same base name, a linked unit
    ///   file) is a unit;
    /// - a link to `/dev/null`, or an empty file, is a masked unit;
    /// - a link to a unit file of the same type under another name is an alias of that
    ///   unit (`udev.service → systemd-udevd.service`), not a second unit; a link
    ///   `name@instance.service → name@.service` enables that instance instead;
    /// - `UNIT.wants/` and `UNIT.requires/` hold the links `systemctl enable` leaves: each
    ///   adds a dependency of UNIT, and an instance linked there
    ///   (`multi-user.target.wants/getty@tty1.service`) is loaded as a unit;
    /// - templates (`feed@.service`) are no units by themselves; instances are loaded when
    ///   something enables or names them.
    ///
    /// Files of other unit types (`.socket`, `.timer`, …) get a note saying they are
    /// ignored; files that are not unit files at all (`warden.conf`, `README`, `*.d`) are
    /// skipped silently. A unit file with an invalid unit name is an error.
    public func scanDirectory(_ directory: String) -> UnitDirectoryContents {
        var contents = UnitDirectoryContents()
        guard let names = fileSystem.listDirectory(directory) else {
            contents.diagnostics.append(.error(SourceLocation(file: directory, line: 0), key: nil, "cannot list the unit directory: not a directory or not readable"))
            return contents
        }
        var loaded = Set<String>()
        var dependencyDirectories: [(unit: String, name: String, requires: Bool)] = []
        for fileName in names.sorted(by: byteOrder) {
            if fileName.hasSuffix(".d") { continue }
            for (suffix, requires) in [(".wants", false), (".requires", true)] where fileName.hasSuffix(suffix) {
                let unit = String(fileName.dropLast(suffix.count))
                if UnitName(parsing: unit) != nil { dependencyDirectories.append((unit, fileName, requires)) }
            }
            guard let dot = fileName.lastIndex(of: "."),
                let kind = UnitName.Kind(rawValue: String(fileName[fileName.index(after: dot)...]))
            else { continue }
            let path = joinPath(directory, fileName)
            guard UnitLoader.supportedKinds.contains(kind) else {
                contents.diagnostics.append(.note(
                    SourceLocation(file: path, line: 0), key: nil,
                    "ignored: Warden loads only .service, .slice and .target units, not .\(kind.rawValue)"))
                continue
            }
            let name: UnitName
            switch UnitName.validate(fileName) {
            case .success(let parsed): name = parsed
            case .failure(let error):
                contents.diagnostics.append(.error(SourceLocation(file: path, line: 0), key: nil, error.description))
                continue
            }
            if let target = fileSystem.symbolicLinkTarget(path) {
                let targetBase = baseName(of: target)
                if target == "/dev/null" {
                    contents.masked[fileName] = path
                    contents.diagnostics.append(.note(SourceLocation(file: path, line: 0), key: nil, Self.maskedNote(name)))
                    continue
                }
                if targetBase != fileName, let targetName = UnitName(parsing: targetBase),
                    !(name.isInstance && targetName == name.template)
                {
                    guard targetName.kind == name.kind else {
                        contents.diagnostics.append(.warning(
                            SourceLocation(file: path, line: 0), key: nil,
                            "a link to \(target), a unit of another type: an alias must name a unit of the same type; ignored"))
                        continue
                    }
                    contents.aliases.append(.init(alias: name, target: targetName, path: path))
                    continue
                }
            }
            if name.isTemplate {
                contents.templates[fileName] = path
                continue
            }
            // An instance linked to its template is read from the template of this
            // directory, wherever the link points (an absolute target may not exist
            // in a copy of the directory).
            var mainPath = path
            if name.isInstance, fileSystem.symbolicLinkTarget(path) != nil, let template = name.template,
                names.contains(template.description)
            {
                mainPath = joinPath(directory, template.description)
            }
            let outcome = loadUnitOutcome(
                mainPath: mainPath, name: name, dropInDirectories: dropInDirectories(for: name, in: directory))
            contents.diagnostics += outcome.diagnostics
            if outcome.masked { contents.masked[fileName] = path }
            if let unit = outcome.unit {
                contents.units.append(unit)
                loaded.insert(fileName)
            }
        }
        for (unit, subdirectory, requires) in dependencyDirectories {
            let linkDirectory = joinPath(directory, subdirectory)
            guard let entries = fileSystem.listDirectory(linkDirectory) else { continue }
            for entry in entries.sorted(by: byteOrder) {
                guard let name = UnitName(parsing: entry), UnitLoader.supportedKinds.contains(name.kind) else { continue }
                let path = joinPath(linkDirectory, entry)
                contents.dependencyLinks.append(.init(from: unit, to: name, requires: requires, path: path))
                // An enabled instance of a template of this directory; the instances of
                // templates elsewhere are the caller's (it knows every directory).
                guard name.isInstance, !loaded.contains(entry), let template = name.template,
                    names.contains(template.description)
                else { continue }
                let outcome = loadUnitOutcome(
                    mainPath: joinPath(directory, template.description), name: name,
                    dropInDirectories: dropInDirectories(for: name, in: directory))
                contents.diagnostics += outcome.diagnostics
                if outcome.masked { contents.masked[entry] = path }
                if let instance = outcome.unit {
                    contents.units.append(instance)
                    loaded.insert(entry)
                }
            }
        }
        return contents
    }

    /// Loads one unit from `directory`. For an instance (`feed@2.service`) the file
    /// `feed@2.service` is used if it exists, otherwise the template `feed@.service`, with
    /// `%i` and friends expanded for the instance. A template itself cannot be loaded.
    public func load(unit name: UnitName, from directory: String) -> (UnitFile?, [Diagnostic]) {
        let ownPath = joinPath(directory, name.description)
        if name.isTemplate {
            return (nil, [.error(
                SourceLocation(file: ownPath, line: 0), key: nil,
                "\(name) is a template: expected an instance such as \(name.instantiated(with: "1"))")])
        }
        var mainPath = ownPath
        if let template = name.template, !exists(ownPath) {
            mainPath = joinPath(directory, template.description)
            if !exists(mainPath) {
                return (nil, [.error(
                    SourceLocation(file: ownPath, line: 0), key: nil,
                    "unit \(name) not found: neither \(ownPath) nor its template \(mainPath) exists")])
            }
        }
        return loadUnit(mainPath: mainPath, name: name, dropInDirectories: dropInDirectories(for: name, in: directory))
    }

    /// Loads a single file as the unit `name` (used for warden.conf too). Drop-ins come
    /// only from `PATH.d/*.conf`, in lexical order.
    public func loadFile(path: String, as name: UnitName) -> (UnitFile?, [Diagnostic]) {
        loadUnit(mainPath: path, name: name, dropInDirectories: [path + ".d"], maskable: false)
    }

    /// The drop-in directories for `name` in `directory`, most specific first.
    public func dropInDirectories(for name: UnitName, in directory: String) -> [String] {
        let suffix = "." + name.kind.rawValue
        var names = [name.description]
        if let template = name.template { names.append(template.description) }
        // Truncate the prefix after each '-', longest first: a-b-c → a-b-, a-.
        let prefix = Array(name.prefix.utf8)
        var cut = prefix.count - 1
        while cut >= 0 {
            if prefix[cut] == UInt8(ascii: "-") {
                names.append(String(decoding: prefix[...cut], as: UTF8.self) + suffix)
            }
            cut -= 1
        }
        names.append(name.kind.rawValue)
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }.map { joinPath(directory, $0 + ".d") }
    }

    /// systemd's reading of a unit file that is a device (a symlink to `/dev/null`) or
    /// empty: the unit is masked and cannot be started.
    static func maskedNote(_ name: UnitName) -> String {
        "\(name) is masked (its file is empty or a link to /dev/null): not loaded, as under systemd"
    }

    private func exists(_ path: String) -> Bool {
        (try? fileSystem.readFile(path)) != nil
    }

    private func loadUnit(
        mainPath: String, name: UnitName, dropInDirectories: [String], maskable: Bool = true
    ) -> (UnitFile?, [Diagnostic]) {
        let outcome = loadUnitOutcome(mainPath: mainPath, name: name, dropInDirectories: dropInDirectories, maskable: maskable)
        return (outcome.unit, outcome.diagnostics)
    }

    private func loadUnitOutcome(
        mainPath: String, name: UnitName, dropInDirectories: [String], maskable: Bool = true
    ) -> (unit: UnitFile?, diagnostics: [Diagnostic], masked: Bool) {
        let text: String
        let location = SourceLocation(file: mainPath, line: 0)
        do {
            text = try fileSystem.readFile(mainPath)
        } catch {
            switch error.kind {
            case .device where maskable:
                return (nil, [.note(location, key: nil, Self.maskedNote(name))], true)
            case .notRegular, .tooLarge:
                return (nil, [.warning(location, key: nil, "skipped: \(error.reason); a unit file must be a regular file")], false)
            case .unreadable, .device:
                return (nil, [.error(location, key: nil, "cannot read the unit file: \(error.reason)")], false)
            }
        }
        if maskable && text.isEmpty {
            return (nil, [.note(location, key: nil, Self.maskedNote(name))], true)
        }
        var (sections, diagnostics) = UnitFileParser.parse(text: text, file: mainPath)

        // Collect drop-ins: the first (most specific) directory holding a file name wins.
        var chosen: [String: String] = [:]
        for dropInDirectory in dropInDirectories {
            guard let entries = fileSystem.listDirectory(dropInDirectory) else { continue }
            for entry in entries where entry.hasSuffix(".conf") && chosen[entry] == nil {
                chosen[entry] = joinPath(dropInDirectory, entry)
            }
        }
        for fileName in chosen.keys.sorted(by: byteOrder) {
            let path = chosen[fileName]!
            do {
                let dropIn = try fileSystem.readFile(path)
                let (dropInSections, dropInDiagnostics) = UnitFileParser.parse(text: dropIn, file: path)
                sections += dropInSections
                diagnostics += dropInDiagnostics
            } catch {
                let location = SourceLocation(file: path, line: 0)
                switch error.kind {
                case .device:
                    // A drop-in linked to /dev/null masks that drop-in alone (systemd).
                    continue
                case .notRegular, .tooLarge:
                    diagnostics.append(.warning(location, key: nil, "skipped: \(error.reason); a drop-in must be a regular file"))
                case .unreadable:
                    diagnostics.append(.error(location, key: nil, "cannot read the drop-in: \(error.reason)"))
                }
            }
        }

        var unresolvedKeys: Set<String> = []
        for s in sections.indices {
            var kept: [UnitEntry] = []
            kept.reserveCapacity(sections[s].entries.count)
            for var entry in sections[s].entries {
                if verbatimKeys.contains(entry.key) {
                    kept.append(entry)
                    continue
                }
                switch specifiers.expand(entry.value, for: name, fragmentPath: mainPath) {
                case .success(let expanded):
                    entry.value = expanded
                    kept.append(entry)
                case .failure(let error):
                    diagnostics.append(.error(entry.location, key: entry.key, "\(error.message); the assignment is ignored"))
                    unresolvedKeys.insert(entry.key)
                }
            }
            sections[s].entries = kept
        }
        return (UnitFile(name: name, path: mainPath, sections: sections, unresolvedKeys: unresolvedKeys), diagnostics, false)
    }
}

/// The last component of a path: `../x/udev.service` → `udev.service`.
func baseName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}

/// Byte-wise order of file names, as `strcmp` sorts them (Swift's `<` on `String`
/// compares by Unicode canonical ordering, which differs for some non-ASCII names).
func byteOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
