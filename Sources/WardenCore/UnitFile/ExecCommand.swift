/// One command line of `ExecStart=`, `ExecStartPre=`, `ExecStop=`, … as systemd.service(5)
/// ("Command lines") defines it: optional prefixes, then the executable, then arguments.
public struct ExecCommand: Hashable, Sendable {
    /// How `!` / `!!` relax privileges.
    public enum UnprivilegedMode: Hashable, Sendable {
        /// `!`: run with elevated privileges by not applying `User=`, `Group=` and
        /// `SupplementaryGroups=` (the process keeps the manager's credentials), while the
        /// rest of the sandbox applies.
        case skipCredentials
        /// `!!`: like `!`, but only on systems without ambient capabilities; where ambient
        /// capabilities exist the prefix has no effect.
        case skipCredentialsWithoutAmbientCapabilities
    }

    /// `-`: a failing exit status is recorded but treated as success.
    public var ignoreFailure: Bool
    /// `@`: the second word is passed as argv[0] instead of the executable path.
    public var argv0Override: Bool
    /// `+`: run with full privileges, ignoring `User=`, sandboxing and capability limits.
    public var fullPrivileges: Bool
    /// `!` or `!!`, nil when neither was given.
    public var ambientUnprivileged: UnprivilegedMode?
    /// `:`: `$VAR` and `${VAR}` are passed through literally.
    public var noEnvironmentExpansion: Bool
    /// The executable as written: an absolute path, or a plain file name that is looked up
    /// in `ExecCommand.searchPath` when the unit is validated.
    public var path: String
    /// The full argv, argv[0] included: the path as written, or with `@` the given name.
    public var arguments: [String]

    public init(
        path: String, arguments: [String], ignoreFailure: Bool = false, argv0Override: Bool = false,
        fullPrivileges: Bool = false, ambientUnprivileged: UnprivilegedMode? = nil,
        noEnvironmentExpansion: Bool = false
    ) {
        self.path = path
        self.arguments = arguments
        self.ignoreFailure = ignoreFailure
        self.argv0Override = argv0Override
        self.fullPrivileges = fullPrivileges
        self.ambientUnprivileged = ambientUnprivileged
        self.noEnvironmentExpansion = noEnvironmentExpansion
    }

    /// systemd looks a plain executable name up in this fixed list, in order (its
    /// compiled-in default search path on merged-/usr and split-/usr systems alike).
    public static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// True when `path` is a plain name to be found through `searchPath`.
    public var needsPathSearch: Bool { !path.hasPrefix("/") }
}

/// A command line that cannot be used: the value and what was expected (the same shape as
/// a value that cannot be split into words).
public typealias ExecCommandError = SystemdWords.SplitError

extension ExecCommand {
    /// Parses one command line. A lone `;` separating several commands is refused here:
    /// use `parseSequence` where systemd accepts several (`ExecStartPre=` and friends), or
    /// write one command per line. `\;` as a word of its own is a literal `;` argument.
    public static func parse(_ value: String) -> Result<ExecCommand, ExecCommandError> {
        var warnings: [String] = []
        return parse(value, warnings: &warnings)
    }

    /// `parse`, also returning warnings about unknown escape sequences that were kept verbatim.
    public static func parse(_ value: String, warnings: inout [String]) -> Result<ExecCommand, ExecCommandError> {
        switch parseSequence(value, warnings: &warnings) {
        case .failure(let error):
            return .failure(error)
        case .success(let commands):
            guard commands.count == 1 else {
                return .failure(ExecCommandError(
                    value: value,
                    message: commands.isEmpty
                        ? "expected a command line, found nothing"
                        : "expected one command, found \(commands.count) separated by ';' (write one command per line, or '\\;' for a literal ';' argument)"))
            }
            return .success(commands[0])
        }
    }

    /// Parses a value holding one or more command lines separated by `;` words, as
    /// systemd's `config_parse_exec()` does. An empty value yields no commands (for
    /// `ExecStartPre=` that resets the list; the caller decides).
    public static func parseSequence(_ value: String, warnings: inout [String]) -> Result<[ExecCommand], ExecCommandError> {
        let bytes = Array(value.utf8)
        var index = 0
        var commands: [ExecCommand] = []
        func fail(_ message: String) -> Result<[ExecCommand], ExecCommandError> {
            .failure(ExecCommandError(value: value, message: message))
        }

        while true {
            while index < bytes.count, SystemdWords.isWhitespace(bytes[index]) { index += 1 }
            if index == bytes.count { return .success(commands) }
            if isLoneWord(bytes, index, UInt8(ascii: ";")) {
                return fail("empty command before ';': expected an executable path")
            }
            let first: [UInt8]
            switch SystemdWords.extractWordAndWarn(bytes, &index, rules: .commandLine, warnings: &warnings) {
            case .word(let word): first = word
            case .end: return .success(commands)
            case .invalid: return fail(SystemdWords.unbalancedQuoting(value).message)
            }

            var command = ExecCommand(path: "", arguments: [])
            var position = 0
            prefixes: while position < first.count {
                switch first[position] {
                case UInt8(ascii: "-"):
                    if command.ignoreFailure { return fail("the prefix '-' is given twice") }
                    command.ignoreFailure = true
                case UInt8(ascii: "@"):
                    if command.argv0Override { return fail("the prefix '@' is given twice") }
                    command.argv0Override = true
                case UInt8(ascii: ":"):
                    if command.noEnvironmentExpansion { return fail("the prefix ':' is given twice") }
                    command.noEnvironmentExpansion = true
                case UInt8(ascii: "+"):
                    if command.fullPrivileges || command.ambientUnprivileged != nil {
                        return fail("only one of the prefixes '+', '!' and '!!' may be used")
                    }
                    command.fullPrivileges = true
                case UInt8(ascii: "!"):
                    switch command.ambientUnprivileged {
                    case nil where !command.fullPrivileges:
                        command.ambientUnprivileged = .skipCredentials
                    case .skipCredentials?:
                        command.ambientUnprivileged = .skipCredentialsWithoutAmbientCapabilities
                    default:
                        return fail("only one of the prefixes '+', '!' and '!!' may be used")
                    }
                case UInt8(ascii: "|"):
                    return fail("the prefix '|' (run through a shell) is not supported: write the shell explicitly, e.g. /bin/sh -c '…'")
                default:
                    break prefixes
                }
                position += 1
            }
            let path = String(decoding: first[position...], as: UTF8.self)
            if path.isEmpty {
                return fail("expected an executable path after the prefixes")
            }
            if case .failure(let problem) = checkExecutable(path) { return fail(problem.message) }
            command.path = normalizedPath(path)

            var arguments: [String] = command.argv0Override ? [] : [path]
            var separated = false
            words: while true {
                while index < bytes.count, SystemdWords.isWhitespace(bytes[index]) { index += 1 }
                if index == bytes.count { break words }
                // The separator and its escape are recognised on the raw text, because
                // ";", "\;" and "';'" all unescape to the same word.
                if isLoneWord(bytes, index, UInt8(ascii: ";")) {
                    index += 1
                    separated = true
                    break words
                }
                if bytes[index] == UInt8(ascii: "\\"), isLoneWord(bytes, index + 1, UInt8(ascii: ";")) {
                    index += 2
                    arguments.append(";")
                    continue
                }
                switch SystemdWords.extractWordAndWarn(bytes, &index, rules: .commandLine, warnings: &warnings) {
                case .word(let word): arguments.append(String(decoding: word, as: UTF8.self))
                case .end: break words
                case .invalid: return fail(SystemdWords.unbalancedQuoting(value).message)
                }
            }
            if command.argv0Override, arguments.isEmpty {
                return fail("the prefix '@' needs a second word to pass as argv[0] (e.g. @/usr/bin/foo foo-name)")
            }
            command.arguments = arguments
            commands.append(command)
            if !separated { return .success(commands) }
        }
    }

    /// True when `bytes[index]` is `character` followed by whitespace or the end.
    private static func isLoneWord(_ bytes: [UInt8], _ index: Int, _ character: UInt8) -> Bool {
        index < bytes.count && bytes[index] == character
            && (index + 1 == bytes.count || SystemdWords.isWhitespace(bytes[index + 1]))
    }

    /// An absolute path, or a plain file name (`filename_or_absolute_path_is_valid()`).
    private static func checkExecutable(_ path: String) -> Result<Void, ExecutableProblem> {
        if path.hasPrefix("/") {
            if path.hasSuffix("/") {
                return .failure(ExecutableProblem(message: "the executable path \"\(path)\" names a directory: expected a file"))
            }
            if path.containsBytes(".."), path.split(separator: "/").contains("..") {
                return .failure(ExecutableProblem(message: "the executable path \"\(path)\" contains '..': expected a normalized absolute path"))
            }
            return .success(())
        }
        if path.contains("/") {
            return .failure(ExecutableProblem(message: "the executable \"\(path)\" is a relative path: expected an absolute path or a plain name looked up in \(searchPath.joined(separator: ":"))"))
        }
        if path == "." || path == ".." || path.utf8.count > 255 {
            return .failure(ExecutableProblem(message: "\"\(path)\" is not a valid executable name"))
        }
        return .success(())
    }

    private struct ExecutableProblem: Error {
        var message: String
    }

    /// Collapses `//` and `/./`, as systemd's `path_simplify()` does.
    private static func normalizedPath(_ path: String) -> String {
        guard path.hasPrefix("/"), path.containsBytes("//") || path.containsBytes("/./") || path.hasSuffix("/.") else { return path }
        let components = path.split(separator: "/").filter { $0 != "." }
        return "/" + components.joined(separator: "/")
    }
}

// MARK: - Environment expansion

extension ExecCommand {
    /// The argv with environment variables substituted, as systemd does just before exec
    /// (`replace_env_argv()`), unless the command has the `:` prefix:
    ///
    /// - A word that is exactly `$NAME` becomes the variable's value split at whitespace
    ///   (quotes in the value group words), so zero or more words; an unset variable
    ///   removes the word. Because systemd looks up everything after `$`, a word such as
    ///   `$HOME/x` names a variable `HOME/x` and is removed too: write `${HOME}/x`.
    /// - `${NAME}` anywhere in a word is replaced by the value as is (one word; unset is
    ///   empty). `$$` is a literal `$`; any other `$` stays.
    public func expandingEnvironment(_ environment: [String: String]) -> [String] {
        if noEnvironmentExpansion { return arguments }
        var result: [String] = []
        result.reserveCapacity(arguments.count)
        for word in arguments {
            let bytes = Array(word.utf8)
            if bytes.count >= 1, bytes[0] == UInt8(ascii: "$"),
                bytes.count == 1 || (bytes[1] != UInt8(ascii: "{") && bytes[1] != UInt8(ascii: "$"))
            {
                let name = String(decoding: bytes[1...], as: UTF8.self)
                if let value = environment[name] {
                    result.append(contentsOf: ExecCommand.splitVariableValue(value))
                }
                continue
            }
            result.append(ExecCommand.replaceVariables(in: bytes, environment))
        }
        return result
    }

    /// `strv_split_full(…, EXTRACT_RELAX|EXTRACT_UNQUOTE)`: quotes group, a backslash
    /// keeps the next character, unterminated quotes are closed at the end.
    static func splitVariableValue(_ value: String) -> [String] {
        let bytes = Array(value.utf8)
        var index = 0
        var words: [String] = []
        while case .word(let word) = SystemdWords.extractFirstWord(bytes, &index, flags: [.unquote, .relax]) {
            words.append(String(decoding: word, as: UTF8.self))
        }
        return words
    }

    /// `${NAME}` → value, `$$` → `$`; an unterminated `${` is kept verbatim.
    static func replaceVariables(in bytes: [UInt8], _ environment: [String: String]) -> String {
        guard bytes.contains(UInt8(ascii: "$")) else { return String(decoding: bytes, as: UTF8.self) }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "$"), i + 1 < bytes.count else {
                output.append(byte)
                i += 1
                continue
            }
            let next = bytes[i + 1]
            if next == UInt8(ascii: "$") {
                output.append(byte)
                i += 2
            } else if next == UInt8(ascii: "{") {
                guard let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "}")) else {
                    output.append(contentsOf: bytes[i...])
                    break
                }
                let name = String(decoding: bytes[(i + 2)..<close], as: UTF8.self)
                if let value = environment[name] { output.append(contentsOf: value.utf8) }
                i = close + 1
            } else {
                output.append(byte)
                i += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
