/// Reads the syntax of a unit file (systemd.syntax(7)) into sections and assignments,
/// without interpreting any value.
///
/// Rules, as systemd's `config_parse()` applies them:
/// - A line whose first non-whitespace character is `#` or `;` is a comment. This is
///   checked on each physical line, so comment lines inside a continuation are skipped.
/// - A line ending in an odd number of backslashes continues on the next line; the final
///   backslash becomes a space. An empty line ends a continuation. A continuation still
///   open at the end of the file is used as it is.
/// - `[Name]` starts a section; the same name may appear again (a new section follows).
/// - `Key=Value`: whitespace around the key and the value is removed; an empty value is
///   kept (it resets lists). Every assignment is kept, in order.
/// - CR LF line ends and a leading UTF-8 byte-order mark are accepted.
///
/// Where systemd warns and ignores a line (assignment outside a section, missing `=`),
/// Warden reports an error: a supervisor should not start from a half-read file. Keys
/// must look like keys (`[A-Za-z][A-Za-z0-9_.-]*`) so that stray text is caught.
public enum UnitFileParser {
    public static func parse(text: String, file: String) -> (sections: [UnitSection], diagnostics: [Diagnostic]) {
        var parser = LineParser(file: file)
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }

        var continuation: [UInt8]?
        var continuationLine = 0
        var lineNumber = 0
        var start = 0
        let count = bytes.count
        while start < count {
            lineNumber += 1
            var end = start
            while end < count, bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[start..<lineEnd]
            start = end + 1

            var first = line.startIndex
            while first < line.endIndex, isWhitespace(line[first]) { first += 1 }
            if first < line.endIndex, line[first] == UInt8(ascii: "#") || line[first] == UInt8(ascii: ";") {
                continue
            }

            var logical: [UInt8]
            let logicalLine: Int
            if var pending = continuation {
                pending.append(contentsOf: line)
                logical = pending
                logicalLine = continuationLine
            } else {
                logical = Array(line)
                logicalLine = lineNumber
            }

            var trailingBackslashes = 0
            var i = logical.count
            while i > 0, logical[i - 1] == UInt8(ascii: "\\") {
                trailingBackslashes += 1
                i -= 1
            }
            if trailingBackslashes % 2 == 1 {
                logical[logical.count - 1] = 0x20
                continuation = logical
                continuationLine = logicalLine
                continue
            }
            continuation = nil
            parser.parseLine(logical[...], line: logicalLine)
        }
        if let pending = continuation {
            parser.parseLine(pending[...], line: continuationLine)
        }
        parser.finishSection()
        return (parser.sections, parser.diagnostics)
    }

    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// True for `[A-Za-z][A-Za-z0-9_.-]*`.
    public static func isValidKey(_ key: some Collection<UInt8>) -> Bool {
        guard let first = key.first, isLetter(first) else { return false }
        for byte in key.dropFirst() {
            guard isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            else { return false }
        }
        return true
    }

    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    }

    /// The per-logical-line state: the section being filled and what was found so far.
    struct LineParser {
        let file: String
        var sections: [UnitSection] = []
        var diagnostics: [Diagnostic] = []
        /// The section being filled; kept outside an Optional so that appending an entry
        /// mutates in place instead of copying the entry array.
        var current = UnitSection(name: "", location: SourceLocation(file: "", line: 0))
        var inSection = false
        /// After a broken header, assignments belong to no usable section; they are
        /// skipped without repeating the error for each line.
        var inBrokenSection = false

        init(file: String) { self.file = file }

        mutating func finishSection() {
            if inSection { sections.append(current) }
            inSection = false
        }

        mutating func parseLine(_ raw: ArraySlice<UInt8>, line: Int) {
            var lower = raw.startIndex
            var upper = raw.endIndex
            while lower < upper, isWhitespace(raw[lower]) { lower += 1 }
            while upper > lower, isWhitespace(raw[upper - 1]) { upper -= 1 }
            let text = raw[lower..<upper]
            guard !text.isEmpty else { return }
            let location = SourceLocation(file: file, line: line)

            if text.first == UInt8(ascii: "[") {
                finishSection()
                let shown = String(decoding: text, as: UTF8.self)
                guard text.count >= 2, text.last == UInt8(ascii: "]") else {
                    inBrokenSection = true
                    diagnostics.append(.error(
                        location, key: shown, "invalid section header: expected it to end with ']' and nothing after it"))
                    return
                }
                let name = text.dropFirst().dropLast()
                if name.isEmpty {
                    inBrokenSection = true
                    diagnostics.append(.error(location, key: shown, "empty section header: expected a name such as [Service]"))
                    return
                }
                if let bad = name.first(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\")
                    || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "[")
                    || $0 == UInt8(ascii: "]") })
                {
                    inBrokenSection = true
                    let character = bad < 0x20 || bad == 0x7F ? "a control character" : "'\(Character(Unicode.Scalar(bad)))'"
                    diagnostics.append(.error(location, key: shown, "bad character in section header: \(character)"))
                    return
                }
                inBrokenSection = false
                inSection = true
                current = UnitSection(name: String(decoding: name, as: UTF8.self), location: location)
                return
            }

            guard inSection else {
                if !inBrokenSection {
                    diagnostics.append(.error(
                        location, key: nil,
                        "assignment outside any section: expected a section header such as [Service] before \"\(String(decoding: text, as: UTF8.self))\""))
                }
                return
            }
            guard let equals = text.firstIndex(of: UInt8(ascii: "=")) else {
                diagnostics.append(.error(
                    location, key: nil,
                    "missing '=' in \"\(String(decoding: text, as: UTF8.self))\": expected Key=Value"))
                return
            }
            var keyEnd = equals
            while keyEnd > text.startIndex, isWhitespace(text[keyEnd - 1]) { keyEnd -= 1 }
            let key = text[text.startIndex..<keyEnd]
            if key.isEmpty {
                diagnostics.append(.error(location, key: nil, "missing key name before '='"))
                return
            }
            let keyString = String(decoding: key, as: UTF8.self)
            guard isValidKey(key) else {
                diagnostics.append(.error(
                    location, key: keyString,
                    "invalid key name: expected letters, digits, '-', '_' or '.', starting with a letter"))
                return
            }
            var valueStart = equals + 1
            while valueStart < text.endIndex, isWhitespace(text[valueStart]) { valueStart += 1 }
            let value = String(decoding: text[valueStart...], as: UTF8.self)
            current.entries.append(UnitEntry(key: keyString, value: value, location: location))
        }
    }
}
