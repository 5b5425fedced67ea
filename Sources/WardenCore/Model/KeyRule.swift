/// One configuration key: where it may appear, how its value is parsed into the model,
/// and what it means. The whole configuration surface is a few tables of these, so a
/// setting has one name from the unit file to the model field to the kernel file, and
/// the reference documentation is generated from the same table (`warden keys`).
public struct KeyRule<Model>: Sendable {
    public var key: String
    public var sections: Set<String>
    public var doc: KeyDoc
    let apply: @Sendable (inout Model, UnitEntry, inout [Diagnostic]) -> Void

    init(
        _ key: String, in sections: Set<String>, _ doc: KeyDoc,
        apply: @escaping @Sendable (inout Model, UnitEntry, inout [Diagnostic]) -> Void
    ) {
        self.key = key
        self.sections = sections
        self.doc = doc
        self.apply = apply
    }
}

/// What the reference says about a key.
public struct KeyDoc: Hashable, Sendable {
    /// What the setting does, in one or two sentences.
    public var meaning: String
    /// The accepted syntax, e.g. `percentage (150% = 1.5 CPUs)`.
    public var syntax: String
    /// The value when unset.
    public var defaultValue: String
    /// The kernel file, syscall or mechanism it maps to.
    public var mapsTo: String
    /// How it relates to systemd's key of the same name.
    public var systemd: SystemdParity

    public init(
        _ meaning: String, syntax: String, default defaultValue: String, mapsTo: String,
        systemd: SystemdParity = .same
    ) {
        self.meaning = meaning
        self.syntax = syntax
        self.defaultValue = defaultValue
        self.mapsTo = mapsTo
        self.systemd = systemd
    }
}

public enum SystemdParity: Hashable, Sendable {
    /// Same syntax and meaning as systemd.
    case same
    /// Same key, with a difference worth stating.
    case differs(String)
    /// Warden-only (an `[X-Warden]` key or a `warden.conf` key); systemd ignores it.
    case wardenOnly
}

// MARK: - Rule builders
//
// Each builder turns "parse the text, store the result in this field" into a rule. An
// empty assignment resets the field to unset, as in systemd; for list fields it empties
// the list.

extension KeyRule {
    /// A single-valued setting: the last assignment wins.
    static func value<T: Sendable>(
        _ key: String, in sections: Set<String>, _ field: WritableKeyPath<Model, T?> & Sendable,
        _ doc: KeyDoc, parse: @escaping @Sendable (String) -> Result<T, ValueError>
    ) -> KeyRule {
        KeyRule(key, in: sections, doc) { model, entry, diagnostics in
            if entry.value.isEmpty {
                model[keyPath: field] = nil
                return
            }
            switch parse(entry.value) {
            case .success(let value): model[keyPath: field] = value
            case .failure(let error):
                diagnostics.append(.error(entry.location, key: entry.key, error.message))
            }
        }
    }

    /// A list setting: each assignment appends its words, an empty one resets.
    static func list(
        _ key: String, in sections: Set<String>, _ field: WritableKeyPath<Model, [String]> & Sendable,
        _ doc: KeyDoc, validate: (@Sendable (String) -> ValueError?)? = nil
    ) -> KeyRule {
        KeyRule(key, in: sections, doc) { model, entry, diagnostics in
            if entry.value.isEmpty {
                model[keyPath: field] = []
                return
            }
            switch SystemdWords.split(entry.value) {
            case .success(let words):
                for word in words {
                    if let problem = validate?(word) {
                        diagnostics.append(.error(entry.location, key: entry.key, problem.message))
                    } else {
                        model[keyPath: field].append(word)
                    }
                }
            case .failure(let error):
                diagnostics.append(.error(entry.location, key: entry.key, "\(error)"))
            }
        }
    }

    /// An `Exec*=` setting: each assignment appends one command, an empty one resets.
    static func commands(
        _ key: String, _ field: WritableKeyPath<Model, [ConfiguredCommand]> & Sendable, _ doc: KeyDoc
    ) -> KeyRule {
        KeyRule(key, in: ["Service"], doc) { model, entry, diagnostics in
            if entry.value.isEmpty {
                model[keyPath: field] = []
                return
            }
            var warnings: [String] = []
            switch ExecCommand.parseSequence(entry.value, warnings: &warnings) {
            case .success(let commands):
                for command in commands {
                    model[keyPath: field].append(ConfiguredCommand(command: command, location: entry.location))
                }
                for warning in warnings {
                    diagnostics.append(.warning(entry.location, key: entry.key, warning))
                }
            case .failure(let error):
                diagnostics.append(.error(entry.location, key: entry.key, "\(error)"))
            }
        }
    }

    /// A setting whose value is one of an enumeration's spellings.
    static func choice<T: RawRepresentable & CaseIterable & Sendable>(
        _ key: String, in sections: Set<String>, _ field: WritableKeyPath<Model, T?> & Sendable,
        _ doc: KeyDoc
    ) -> KeyRule where T.RawValue == String {
        value(key, in: sections, field, doc) { text in
            if let value = T(rawValue: text) { return .success(value) }
            let spellings = T.allCases.map(\.rawValue)
            var message = "'\(text)' is not valid; expected one of \(spellings.joined(separator: ", "))"
            if let close = Suggestion.closest(to: text, in: spellings) {
                message += " (did you mean \(close)?)"
            }
            return .failure(ValueError(message))
        }
    }
}

/// Parsers for the few plain syntaxes that have no value type of their own.
enum PlainValue {
    static func integer<T: FixedWidthInteger & Sendable>(
        _ range: ClosedRange<T>, what: String
    ) -> @Sendable (String) -> Result<T, ValueError> {
        { text in
            guard let value = T(text.trimmingWhitespace()), range.contains(value) else {
                return .failure(
                    ValueError("'\(text)' is not valid; expected \(what), an integer in \(range.lowerBound)…\(range.upperBound)"))
            }
            return .success(value)
        }
    }

    static func string(_ text: String) -> Result<String, ValueError> { .success(text) }

    static func absolutePath(_ text: String) -> Result<String, ValueError> {
        guard text.hasPrefix("/") else {
            return .failure(ValueError("'\(text)' is not an absolute path; expected a path starting with /"))
        }
        return .success(text)
    }

    /// `70%` → 70. Used for host-wide thresholds.
    static func percent(_ text: String) -> Result<Int, ValueError> {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.hasSuffix("%"), let value = Int(trimmed.dropLast()), (0...100).contains(value) else {
            return .failure(ValueError("'\(text)' is not a percentage; expected 0% to 100%, e.g. 85%"))
        }
        return .success(value)
    }

    /// `1.5` → 150 (hundredths), for load-per-CPU thresholds.
    static func hundredths(_ text: String) -> Result<Int, ValueError> {
        let trimmed = text.trimmingWhitespace()
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        let failure = ValueError("'\(text)' is not a decimal number; expected e.g. 1.0 or 2.5 (at most two decimals)")
        guard (1...2).contains(parts.count), let whole = Int(parts[0]), whole >= 0, whole < 10_000 else {
            return .failure(failure)
        }
        var fraction = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...2).contains(digits.count), let f = Int(digits), f >= 0 else { return .failure(failure) }
            fraction = digits.count == 1 ? f * 10 : f
        }
        return .success(whole * 100 + fraction)
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (no Foundation in the core).
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(self[first...last])
    }

    /// Whether `text` occurs in the string, byte for byte (UTF-8), as the kernel reads a
    /// path. The standard library's `contains(_:)` for a string goes through
    /// _StringProcessing's generic search, which showed up in profiles of loading unit
    /// files (the `ExecStart=` path checks).
    func containsBytes(_ text: String) -> Bool {
        var haystack = self, needle = text
        return haystack.withUTF8 { hay in
            needle.withUTF8 { pin in
                guard pin.count <= hay.count else { return false }
                guard let first = pin.first else { return true }
                var start = 0
                while start + pin.count <= hay.count {
                    if hay[start] == first, (1..<pin.count).allSatisfy({ hay[start + $0] == pin[$0] }) { return true }
                    start += 1
                }
                return false
            }
        }
    }
}
