/// os-release(5): `KEY=VALUE` lines, values optionally in single or double quotes with
/// shell-style backslash escapes in double quotes; comments and blank lines skipped.
public enum OSReleaseFile {
    public static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = String(raw).trimmingWhitespace()
            guard !line.isEmpty, !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals]).trimmingWhitespace()
            guard !key.isEmpty else { continue }
            var value = String(line[line.index(after: equals)...])
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
                if first == "\"" {
                    var unescaped = ""
                    var escape = false
                    for c in value {
                        if escape {
                            unescaped.append(c)
                            escape = false
                        } else if c == "\\" {
                            escape = true
                        } else {
                            unescaped.append(c)
                        }
                    }
                    value = unescaped
                }
            }
            fields[key] = value
        }
        return fields
    }
}
