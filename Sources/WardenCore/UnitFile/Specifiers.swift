/// What `%` specifiers (systemd.unit(5), "Specifiers") expand to that does not come from
/// the unit's name. The effects layer fills it from the host; tests write it out.
///
/// Values for the system manager: `%u`/`%U`/`%h`/`%s`/`%g`/`%G` describe the user Warden
/// itself runs as (as systemd's `%u` is the manager's user, not `User=`). A nil field
/// makes its specifier an error rather than an empty string, so a unit never silently
/// gets a path such as `/var/lib//data`.
public struct SpecifierContext: Hashable, Sendable {
    /// `%H`; `%l` is the part before the first dot.
    public var hostname: String
    /// `%q`: `PRETTY_HOSTNAME=` of /etc/machine-info; nil resolves to the short host
    /// name (`%l`), as in systemd.
    public var prettyHostname: String?
    /// `%m`: /etc/machine-id, 32 hex digits.
    public var machineID: String?
    /// `%b`: /proc/sys/kernel/random/boot_id without dashes.
    public var bootID: String?
    /// `%v`: `uname -r`.
    public var kernelRelease: String?
    /// `%a`: systemd's architecture name (`x86-64`, `arm64`).
    public var architecture: String?
    /// `%o`, `%w`, `%W`, `%B`, `%M`, `%A`: fields of /etc/os-release, empty when the file
    /// lacks the field (systemd's reading); nil when there is no os-release to read.
    public var osID: String?
    public var osVersionID: String?
    public var osVariantID: String?
    public var osBuildID: String?
    public var osImageID: String?
    public var osImageVersion: String?
    /// `%u`, `%U`, `%g`, `%G`, `%h`, `%s`.
    public var userName: String?
    public var userID: UInt32?
    public var groupName: String?
    public var groupID: UInt32?
    public var homeDirectory: String?
    public var shell: String?
    /// `%t`, `%S`, `%C`, `%L`, `%E`, `%T`, `%V`: the system manager's directories. `%d`,
    /// the credentials directory, is `%t/credentials/UNIT`, where systemd places a unit's
    /// `$CREDENTIALS_DIRECTORY`.
    public var runtimeDirectory: String
    public var stateDirectory: String
    public var cacheDirectory: String
    public var logsDirectory: String
    public var configurationDirectory: String
    public var temporaryDirectory: String
    public var persistentTemporaryDirectory: String

    public init(
        hostname: String, prettyHostname: String? = nil, machineID: String? = nil, bootID: String? = nil, kernelRelease: String? = nil,
        architecture: String? = nil, osID: String? = nil, osVersionID: String? = nil,
        osVariantID: String? = nil, osBuildID: String? = nil, osImageID: String? = nil,
        osImageVersion: String? = nil, userName: String? = nil, userID: UInt32? = nil,
        groupName: String? = nil, groupID: UInt32? = nil, homeDirectory: String? = nil,
        shell: String? = nil, runtimeDirectory: String = "/run", stateDirectory: String = "/var/lib",
        cacheDirectory: String = "/var/cache", logsDirectory: String = "/var/log",
        configurationDirectory: String = "/etc", temporaryDirectory: String = "/tmp",
        persistentTemporaryDirectory: String = "/var/tmp"
    ) {
        self.hostname = hostname
        self.prettyHostname = prettyHostname
        self.machineID = machineID
        self.bootID = bootID
        self.kernelRelease = kernelRelease
        self.architecture = architecture
        self.osID = osID
        self.osVersionID = osVersionID
        self.osVariantID = osVariantID
        self.osBuildID = osBuildID
        self.osImageID = osImageID
        self.osImageVersion = osImageVersion
        self.userName = userName
        self.userID = userID
        self.groupName = groupName
        self.groupID = groupID
        self.homeDirectory = homeDirectory
        self.shell = shell
        self.runtimeDirectory = runtimeDirectory
        self.stateDirectory = stateDirectory
        self.cacheDirectory = cacheDirectory
        self.logsDirectory = logsDirectory
        self.configurationDirectory = configurationDirectory
        self.temporaryDirectory = temporaryDirectory
        self.persistentTemporaryDirectory = persistentTemporaryDirectory
    }
}

/// A `%` specifier that could not be expanded.
public struct SpecifierError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The character after `%`.
    public var specifier: Character
    public var message: String

    public init(specifier: Character, message: String) {
        self.specifier = specifier
        self.message = message
    }

    public var description: String { message }
}

extension SpecifierContext {
    /// Every specifier `expand` knows, for messages and documentation.
    public static let knownSpecifiers: String = "aAbBCdEfgGhHiIjJlLmMnNopPqsStTuUvVwWyY%"

    /// Replaces the `%` specifiers in `text` for `unit`, whose main file is `fragmentPath`
    /// (`%y`, `%Y`). `%%` is a literal `%`; a `%` at the very end is kept, as in systemd;
    /// any other unknown specifier is an error.
    ///
    /// Name specifiers: `%n` full name, `%N` without the type suffix, `%p` prefix, `%i`
    /// instance (empty when none), `%j` the prefix after its last `-`, `%f` the instance
    /// (or the prefix) as a path; `%P %I %J` are `%p %i %j` unescaped (`-` → `/`,
    /// `\xNN` → byte).
    public func expand(_ text: String, for unit: UnitName, fragmentPath: String? = nil) -> Result<String, SpecifierError> {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return .success(text) }
        var output = ""
        output.reserveCapacity(text.utf8.count + 16)
        var iterator = text.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            guard scalar == "%" else {
                output.unicodeScalars.append(scalar)
                continue
            }
            guard let next = iterator.next() else {
                output.append("%")
                break
            }
            switch resolve(next, unit: unit, fragmentPath: fragmentPath) {
            case .success(let value): output += value
            case .failure(let error): return .failure(error)
            }
        }
        return .success(output)
    }

    /// The host name up to its first dot.
    var shortHostname: String {
        hostname.split(separator: ".", maxSplits: 1).first.map(String.init) ?? hostname
    }

    private func resolve(_ specifier: Unicode.Scalar, unit: UnitName, fragmentPath: String?) -> Result<String, SpecifierError> {
        let character = Character(specifier)
        func missing(_ what: String) -> Result<String, SpecifierError> {
            .failure(SpecifierError(specifier: character, message: "%\(character) (\(what)) is not known on this host"))
        }
        func unescaped(_ text: String, _ what: String) -> Result<String, SpecifierError> {
            guard let value = UnitName.unescape(text) else {
                return .failure(SpecifierError(
                    specifier: character,
                    message: "%\(character): the \(what) \"\(text)\" has an invalid escape; expected \\xNN"))
            }
            return .success(value)
        }
        func optional(_ value: String?, _ what: String) -> Result<String, SpecifierError> {
            value.map { .success($0) } ?? missing(what)
        }
        let instance = unit.instance ?? ""
        let lastComponent = unit.prefix.split(separator: "-", omittingEmptySubsequences: false).last.map(String.init) ?? unit.prefix

        switch specifier {
        case "%": return .success("%")
        case "n": return .success(unit.description)
        case "N": return .success(unit.instance.map { "\(unit.prefix)@\($0)" } ?? unit.prefix)
        case "p": return .success(unit.prefix)
        case "P": return unescaped(unit.prefix, "prefix")
        case "i": return .success(instance)
        case "I": return unescaped(instance, "instance")
        case "j": return .success(lastComponent)
        case "J": return unescaped(lastComponent, "prefix component")
        case "f":
            let source = unit.isInstance ? instance : unit.prefix
            guard let path = UnitName.unescapePath(source) else {
                return .failure(SpecifierError(
                    specifier: character, message: "%f: \"\(source)\" is not an escaped path"))
            }
            return .success(path)
        case "y": return optional(fragmentPath, "unit file path")
        case "Y":
            guard let path = fragmentPath else { return missing("unit file directory") }
            return .success(directoryName(of: path))
        case "H": return .success(hostname)
        case "l": return .success(shortHostname)
        case "q": return .success(prettyHostname ?? shortHostname)
        case "d": return .success(joinPath(joinPath(runtimeDirectory, "credentials"), unit.description))
        case "m": return optional(machineID, "machine ID")
        case "b": return optional(bootID, "boot ID")
        case "v": return optional(kernelRelease, "kernel release")
        case "a": return optional(architecture, "architecture")
        case "o": return optional(osID, "operating system ID")
        case "w": return optional(osVersionID, "operating system version ID")
        case "W": return optional(osVariantID, "operating system variant ID")
        case "B": return optional(osBuildID, "operating system build ID")
        case "M": return optional(osImageID, "operating system image ID")
        case "A": return optional(osImageVersion, "operating system image version")
        case "u": return optional(userName, "user name")
        case "U": return optional(userID.map { String($0) }, "user ID")
        case "g": return optional(groupName, "group name")
        case "G": return optional(groupID.map { String($0) }, "group ID")
        case "h": return optional(homeDirectory, "home directory")
        case "s": return optional(shell, "user shell")
        case "t": return .success(runtimeDirectory)
        case "S": return .success(stateDirectory)
        case "C": return .success(cacheDirectory)
        case "L": return .success(logsDirectory)
        case "E": return .success(configurationDirectory)
        case "T": return .success(temporaryDirectory)
        case "V": return .success(persistentTemporaryDirectory)
        default:
            return .failure(SpecifierError(
                specifier: character,
                message: "unknown specifier %\(character); write %% for a literal '%' (known: \(Self.knownSpecifiers.map { "%\($0)" }.joined(separator: " ")))"))
        }
    }
}

/// `/a/b/c` → `/a/b`; `c` → `.`; `/c` → `/`.
func directoryName(of path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    if slash == trimmed.startIndex { return "/" }
    return String(trimmed[..<slash])
}

/// `dir` + `/` + `name`, without doubling the slash.
func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
