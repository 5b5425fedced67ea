/// Splitting a configuration value into words the way systemd's `extract_first_word()`
/// does, and parsing the two environment syntaxes built on it (`Environment=` and the
/// contents of an `EnvironmentFile=`).
///
/// Different systemd keys split with different rules (`ExecStart=` and `Environment=`
/// unquote and C-unescape, list keys such as `ReadWritePaths=` only unquote, dependency
/// keys such as `After=` keep backslashes), so the rules are a parameter.
public enum SystemdWords {
    /// Which of systemd's `EXTRACT_*` behaviours a split uses.
    public struct Rules: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// `EXTRACT_UNQUOTE`: `'…'` and `"…"` group words and are removed.
        public static let unquote = Rules(rawValue: 1 << 0)
        /// `EXTRACT_CUNESCAPE`: `\n`, `\t`, `\x41`, `\101`, `\u00e9`, … are decoded.
        public static let cUnescape = Rules(rawValue: 1 << 1)
        /// `EXTRACT_RETAIN_ESCAPE`: a backslash is an ordinary character.
        public static let retainEscape = Rules(rawValue: 1 << 2)

        /// `ExecStart=`, `Environment=`, `PassEnvironment=`: quotes and C escapes.
        public static let commandLine: Rules = [.unquote, .cUnescape]
        /// Plain string lists (`ReadWritePaths=`, `SupplementaryGroups=`): quotes only; a
        /// backslash protects the next character.
        public static let list: Rules = [.unquote]
        /// Unit-name lists (`After=`, `Wants=`, `Slice=`): split at whitespace only, so
        /// escaped unit names such as `dev-disk-by\x2dlabel.device` stay intact.
        public static let unitNames: Rules = [.retainEscape]
    }

    /// A value that cannot be split: unbalanced quotes, or a trailing backslash inside quotes.
    public struct SplitError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The value that was being split.
        public var value: String
        public var message: String

        public init(value: String, message: String) {
            self.value = value
            self.message = message
        }

        public var description: String { message }
    }

    /// Splits `value` into words. Unknown escape sequences (`\;`, `\d`) are kept verbatim
    /// and reported in `warnings`, as systemd does ("Ignoring unknown escape sequences");
    /// unbalanced quoting is an error.
    public static func split(
        _ value: String, rules: Rules = .commandLine, warnings: inout [String]
    ) -> Result<[String], SplitError> {
        let bytes = Array(value.utf8)
        var index = 0
        var words: [String] = []
        while true {
            switch extractWordAndWarn(bytes, &index, rules: rules, warnings: &warnings) {
            case .word(let word): words.append(String(decoding: word, as: UTF8.self))
            case .end: return .success(words)
            case .invalid: return .failure(unbalancedQuoting(value))
            }
        }
    }

    /// Splits `value` into words, dropping warnings about unknown escape sequences.
    public static func split(_ value: String, rules: Rules = .commandLine) -> Result<[String], SplitError> {
        var warnings: [String] = []
        return split(value, rules: rules, warnings: &warnings)
    }

    static func unbalancedQuoting(_ value: String) -> SplitError {
        SplitError(
            value: value,
            message: "unbalanced quoting in \"\(value)\": expected every ' and \" to be closed, and no backslash at the end of a quoted word")
    }

    // MARK: - extract_first_word

    enum Extracted: Equatable {
        case word([UInt8])
        case end
        /// Bad escape or unbalanced quote (`-EINVAL` in systemd).
        case invalid
    }

    /// The extraction flags, including the two that only the retry path and the
    /// `$VAR` splitter use.
    struct Flags: OptionSet {
        let rawValue: UInt8
        static let unquote = Flags(rawValue: 1 << 0)
        static let cUnescape = Flags(rawValue: 1 << 1)
        static let retainEscape = Flags(rawValue: 1 << 2)
        /// `EXTRACT_UNESCAPE_RELAX`: keep an unknown escape (and a trailing backslash) verbatim.
        static let unescapeRelax = Flags(rawValue: 1 << 3)
        /// `EXTRACT_RELAX`: accept an unterminated quote or trailing backslash at the end.
        static let relax = Flags(rawValue: 1 << 4)

        init(rawValue: UInt8) { self.rawValue = rawValue }
        init(_ rules: Rules) { self.init(rawValue: rules.rawValue) }
    }

    /// `extract_first_word_and_warn()`: try strictly, and on failure retry keeping unknown
    /// escapes verbatim (with a warning); failing again means unbalanced quoting.
    static func extractWordAndWarn(
        _ bytes: [UInt8], _ index: inout Int, rules: Rules, warnings: inout [String]
    ) -> Extracted {
        var strict = index
        let first = extractFirstWord(bytes, &strict, flags: Flags(rules))
        if first != .invalid {
            index = strict
            return first
        }
        var relaxed = index
        let second = extractFirstWord(bytes, &relaxed, flags: Flags(rules).union(.unescapeRelax))
        if case .word(let word) = second {
            warnings.append("ignoring unknown escape sequences in \"\(String(decoding: word, as: UTF8.self))\"")
            index = relaxed
            return second
        }
        return .invalid
    }

    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// One word from `bytes[index...]`, advancing `index` past the word and the separators
    /// after it. Separators are whitespace; runs of them count as one.
    static func extractFirstWord(_ bytes: [UInt8], _ index: inout Int, flags: Flags) -> Extracted {
        let count = bytes.count
        var i = index
        while i < count, isWhitespace(bytes[i]) { i += 1 }
        if i == count {
            index = count
            return .end
        }
        var word: [UInt8] = []
        var quote: UInt8 = 0
        let backslashIsEscape = !flags.contains(.retainEscape)

        // One loop for both modes: outside quotes whitespace ends the word and a quote
        // (with `.unquote`) opens one; inside, only the same quote closes it, and the end
        // of the value is an error unless `.relax`.
        while true {
            if i == count {
                if quote != 0 && !flags.contains(.relax) { return .invalid }
                index = count
                return .word(word)
            }
            let c = bytes[i]
            if quote != 0, c == quote {
                quote = 0
                i += 1
                continue
            }
            if quote == 0, flags.contains(.unquote), c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                quote = c
                i += 1
                continue
            }
            if c == UInt8(ascii: "\\"), backslashIsEscape {
                switch unescapeAfterBackslash(bytes, &i, into: &word, inQuote: quote != 0, flags: flags) {
                case nil: return .invalid
                case false?: index = count; return .word(word)
                case true?: continue
                }
            }
            if quote == 0, isWhitespace(c) {
                while i < count, isWhitespace(bytes[i]) { i += 1 }
                index = i
                return .word(word)
            }
            word.append(c)
            i += 1
        }
    }

    /// Steps over the backslash at `bytes[i]` and appends the character it escapes; nil for
    /// `-EINVAL`, false when the value ended with the backslash (the word ends there).
    @inline(__always)
    static func unescapeAfterBackslash(
        _ bytes: [UInt8], _ i: inout Int, into word: inout [UInt8], inQuote: Bool, flags: Flags
    ) -> Bool? {
        i += 1
        var finished = false
        guard unescape(bytes, &i, into: &word, inQuote: inQuote, flags: flags, finished: &finished) else { return nil }
        return !finished
    }

    /// The character after a backslash at `bytes[i]`, appended to `word`; false for
    /// `-EINVAL`. A backslash at the very end sets `finished`.
    @inline(__always)
    static func unescape(
        _ bytes: [UInt8], _ i: inout Int, into word: inout [UInt8], inQuote: Bool, flags: Flags, finished: inout Bool
    ) -> Bool {
        if i == bytes.count {
            if flags.contains(.unescapeRelax), !inQuote || flags.contains(.relax) {
                word.append(UInt8(ascii: "\\"))
                finished = true
                return true
            }
            if flags.contains(.relax) {
                finished = true
                return true
            }
            return false
        }
        if flags.contains(.cUnescape) {
            if let (decoded, length) = cUnescapeOne(bytes, at: i) {
                word.append(contentsOf: decoded)
                i += length
                return true
            }
            if flags.contains(.unescapeRelax) {
                word.append(UInt8(ascii: "\\"))
                word.append(bytes[i])
                i += 1
                return true
            }
            return false
        }
        word.append(bytes[i])
        i += 1
        return true
    }

    /// systemd's `cunescape_one()`: the escape starting at `bytes[index]` (just after the
    /// backslash), as UTF-8 bytes and the number of input bytes it used, or nil when it
    /// is not a valid escape. NUL is refused in every form, as systemd refuses it.
    static func cUnescapeOne(_ bytes: [UInt8], at index: Int) -> ([UInt8], Int)? {
        let c = bytes[index]
        switch c {
        case UInt8(ascii: "a"): return ([0x07], 1)
        case UInt8(ascii: "b"): return ([0x08], 1)
        case UInt8(ascii: "f"): return ([0x0C], 1)
        case UInt8(ascii: "n"): return ([0x0A], 1)
        case UInt8(ascii: "r"): return ([0x0D], 1)
        case UInt8(ascii: "t"): return ([0x09], 1)
        case UInt8(ascii: "v"): return ([0x0B], 1)
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): return ([c], 1)
        case UInt8(ascii: "s"): return ([0x20], 1)
        case UInt8(ascii: "x"):
            guard let value = hexValue(bytes, from: index + 1, digits: 2), value != 0 else { return nil }
            return ([UInt8(value)], 3)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let digits = c == UInt8(ascii: "u") ? 4 : 8
            guard let value = hexValue(bytes, from: index + 1, digits: digits), value != 0,
                let scalar = Unicode.Scalar(value)
            else { return nil }
            return (Array(String(Character(scalar)).utf8), digits + 1)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            guard index + 2 < bytes.count else { return nil }
            var value: UInt32 = 0
            for offset in 0..<3 {
                let digit = bytes[index + offset]
                guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
                value = value << 3 | UInt32(digit - UInt8(ascii: "0"))
            }
            guard value != 0, value <= 255 else { return nil }
            return ([UInt8(value)], 3)
        default:
            return nil
        }
    }

    static func hexValue(_ bytes: [UInt8], from start: Int, digits: Int) -> UInt32? {
        guard start + digits <= bytes.count else { return nil }
        var value: UInt32 = 0
        for i in start..<(start + digits) {
            guard let digit = hexDigit(bytes[i]) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    @inline(__always) static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

// MARK: - Environment variables

/// One `NAME=value` environment assignment.
public struct EnvironmentAssignment: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name)=\(value)" }

    /// systemd's `env_name_is_valid()`, which follows bash: `[A-Za-z_][A-Za-z0-9_]*`.
    public static func isValidName(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "_"):
                break
            case UInt8(ascii: "0")...UInt8(ascii: "9") where !first:
                break
            default:
                return false
            }
            first = false
        }
        return !first
    }
}

extension SystemdWords {
    /// The result of parsing one `Environment=` value.
    public struct EnvironmentParse: Hashable, Sendable {
        /// Valid assignments, in the order written (a later one for the same name wins).
        public var assignments: [EnvironmentAssignment]
        /// One message per word that was skipped, and per unknown escape sequence.
        public var problems: [String]
    }

    /// Parses an `Environment=` value: words split with quotes and C escapes, each of which
    /// must be `NAME=VALUE` with a valid name (`"A=1 2" B=3` → `A`=`1 2`, `B`=`3`).
    /// Invalid words are skipped and reported, as systemd does; unbalanced quoting makes
    /// the whole value invalid.
    public static func parseEnvironment(_ value: String) -> Result<EnvironmentParse, SplitError> {
        var warnings: [String] = []
        let words: [String]
        switch split(value, rules: .commandLine, warnings: &warnings) {
        case .success(let w): words = w
        case .failure(let error): return .failure(error)
        }
        var result = EnvironmentParse(assignments: [], problems: warnings)
        for word in words {
            guard let equals = word.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                result.problems.append("invalid environment assignment \"\(word)\": expected NAME=VALUE")
                continue
            }
            let name = String(word[..<equals])
            let assigned = String(word[word.index(after: equals)...])
            guard EnvironmentAssignment.isValidName(name) else {
                result.problems.append(
                    "invalid environment assignment \"\(word)\": the name must be letters, digits and '_', not starting with a digit")
                continue
            }
            result.assignments.append(EnvironmentAssignment(name: name, value: assigned))
        }
        return .success(result)
    }
}
