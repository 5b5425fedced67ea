/// A usage error: the message for stderr, exit status 2 (systemd's and LSB's
/// "invalid argument"), which a unit's `RestartPreventExitStatus=` can name.
struct UsageError: Error {
    var message: String
}

/// `--name value` options after the role name. Every role declares what it accepts,
/// so a misspelt option is an error naming the valid ones instead of being ignored.
struct RoleArguments {
    private var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>, role: String, accepted: [String]) throws(UsageError) {
        var remaining = arguments
        while let argument = remaining.popFirst() {
            guard argument.hasPrefix("--") else {
                throw UsageError(message: "\(role): unexpected argument '\(argument)'")
            }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard accepted.contains(name) else {
                let valid = accepted.isEmpty ? "none" : accepted.map { "--" + $0 }.joined(separator: ", ")
                throw UsageError(message: "\(role): unknown option '--\(name)' (valid: \(valid))")
            }
            if value == nil { value = remaining.popFirst() }
            guard let value else {
                throw UsageError(message: "\(role): option '--\(name)' needs a value")
            }
            values[name] = value
        }
    }

    func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError(message: "--\(name) \(text): expected an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func number(_ name: String, default fallback: Double, in range: ClosedRange<Double>) throws(UsageError) -> Double {
        guard let text = values[name] else { return fallback }
        guard let value = Double(text), range.contains(value) else {
            throw UsageError(message: "--\(name) \(text): expected a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func text(_ name: String, default fallback: String) -> String {
        values[name] ?? fallback
    }
}
