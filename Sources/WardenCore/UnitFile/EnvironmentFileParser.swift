/// Reads the contents of an `EnvironmentFile=` with systemd's rules (systemd.exec(5),
/// "EnvironmentFile="), which are shell-like but not a shell:
///
/// - `NAME=VALUE` lines; empty lines, lines starting with `#` or `;`, and lines without
///   `=` are ignored (the last are reported as warnings, since they are usually typos).
/// - Unquoted values: leading and trailing whitespace is dropped, interior whitespace and
///   quotes after the first character are kept, `\` keeps the next character, and a
///   backslash at the end of a line continues the value on the next line.
/// - `'…'` values are verbatim and may span lines; `"…"` values may span lines and
///   unescape only `\"`, `\\`, `` \` `` and `\$` (other backslashes stay). Text directly
///   after a closing quote is appended (`A="x"y` is `xy`).
/// - There is no `export` keyword: `export A=1` names a variable `export A`, which is
///   invalid and reported.
/// - A later assignment of the same name wins when the list is turned into an environment.
public enum EnvironmentFileParser {
    /// Assignments in file order, and diagnostics for invalid names, lines without `=`,
    /// and unterminated quotes, each at the line where its key starts.
    public static func parse(_ text: String, file: String) -> (
        assignments: [EnvironmentAssignment], diagnostics: [Diagnostic]
    ) {
        enum State {
            case preKey, key, preValue, value, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape,
                comment, commentEscape
        }
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }

        var assignments: [EnvironmentAssignment] = []
        var diagnostics: [Diagnostic] = []
        var state = State.preKey
        var line = 1
        var keyLine = 1
        var key: [UInt8] = []
        var value: [UInt8] = []
        // Where trailing whitespace of the key / unquoted value begins, if it does.
        var keyWhitespaceStart: Int?
        var valueWhitespaceStart: Int?

        func push() {
            if let start = keyWhitespaceStart { key.removeSubrange(start...) }
            if let start = valueWhitespaceStart { value.removeSubrange(start...) }
            let name = String(decoding: key, as: UTF8.self)
            let location = SourceLocation(file: file, line: keyLine)
            if EnvironmentAssignment.isValidName(name) {
                assignments.append(EnvironmentAssignment(name: name, value: String(decoding: value, as: UTF8.self)))
            } else {
                var message = "invalid variable name \"\(name)\": expected letters, digits and '_', not starting with a digit"
                if name.hasPrefix("export ") { message += " (environment files have no 'export' keyword)" }
                diagnostics.append(.error(location, key: nil, message))
            }
            key.removeAll(keepingCapacity: true)
            value.removeAll(keepingCapacity: true)
            keyWhitespaceStart = nil
            valueWhitespaceStart = nil
        }

        var index = 0
        let count = bytes.count
        while index < count {
            let c = bytes[index]
            index += 1
            // A CR LF pair is one line end; a lone CR also ends a line, as in systemd.
            let isNewline = c == 0x0A || c == 0x0D
            let endsLine = c == 0x0A || (c == 0x0D && (index == count || bytes[index] != 0x0A))
            let isSpace = c == 0x20 || c == 0x09 || isNewline

            switch state {
            case .preKey:
                if c == UInt8(ascii: "#") || c == UInt8(ascii: ";") {
                    state = .comment
                } else if !isSpace {
                    state = .key
                    keyLine = line
                    keyWhitespaceStart = nil
                    key.append(c)
                }
            case .key:
                if isNewline {
                    if endsLine {
                        let text = String(decoding: key, as: UTF8.self)
                        diagnostics.append(.warning(
                            SourceLocation(file: file, line: keyLine), key: nil,
                            "ignoring line \"\(text)\": expected NAME=VALUE"))
                        key.removeAll(keepingCapacity: true)
                        state = .preKey
                    }
                } else if c == UInt8(ascii: "=") {
                    state = .preValue
                    valueWhitespaceStart = nil
                } else {
                    if !isSpace {
                        keyWhitespaceStart = nil
                    } else if keyWhitespaceStart == nil {
                        keyWhitespaceStart = key.count
                    }
                    key.append(c)
                }
            case .preValue:
                if isNewline {
                    if endsLine {
                        push()
                        state = .preKey
                    }
                } else if c == UInt8(ascii: "'") {
                    state = .singleQuote
                } else if c == UInt8(ascii: "\"") {
                    state = .doubleQuote
                } else if c == UInt8(ascii: "\\") {
                    state = .valueEscape
                } else if !isSpace {
                    state = .value
                    value.append(c)
                }
            case .value:
                if isNewline {
                    if endsLine {
                        push()
                        state = .preKey
                    }
                } else if c == UInt8(ascii: "\\") {
                    state = .valueEscape
                    valueWhitespaceStart = nil
                } else {
                    if !isSpace {
                        valueWhitespaceStart = nil
                    } else if valueWhitespaceStart == nil {
                        valueWhitespaceStart = value.count
                    }
                    value.append(c)
                }
            case .valueEscape:
                // An escaped newline is eaten entirely; in CR LF files, wait for the LF.
                if !isNewline {
                    value.append(c)
                    state = .value
                } else if endsLine {
                    state = .value
                }
            case .singleQuote:
                if c == UInt8(ascii: "'") {
                    state = .preValue
                } else {
                    value.append(c)
                }
            case .doubleQuote:
                if c == UInt8(ascii: "\"") {
                    state = .preValue
                } else if c == UInt8(ascii: "\\") {
                    state = .doubleQuoteEscape
                } else {
                    value.append(c)
                }
            case .doubleQuoteEscape:
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c == UInt8(ascii: "`")
                    || c == UInt8(ascii: "$")
                {
                    value.append(c)
                    state = .doubleQuote
                } else if isNewline {
                    if endsLine { state = .doubleQuote }
                } else {
                    value.append(UInt8(ascii: "\\"))
                    value.append(c)
                    state = .doubleQuote
                }
            case .comment:
                if c == UInt8(ascii: "\\") {
                    state = .commentEscape
                } else if endsLine {
                    state = .preKey
                }
            case .commentEscape:
                // Since systemd v254 a backslash does not continue a comment line.
                if endsLine {
                    state = .preKey
                } else if !isNewline {
                    state = .comment
                }
            }
            if endsLine { line += 1 }
        }

        switch state {
        case .preValue, .value, .valueEscape:
            push()
        case .singleQuote, .doubleQuote, .doubleQuoteEscape:
            let name = String(decoding: key, as: UTF8.self)
            diagnostics.append(.warning(
                SourceLocation(file: file, line: keyLine), key: nil,
                "the quoted value of \(name) is not closed before the end of the file; using the rest of the file"))
            push()
        case .key:
            diagnostics.append(.warning(
                SourceLocation(file: file, line: keyLine), key: nil,
                "ignoring line \"\(String(decoding: key, as: UTF8.self))\": expected NAME=VALUE"))
        case .preKey, .comment, .commentEscape:
            break
        }
        return (assignments, diagnostics)
    }
}
