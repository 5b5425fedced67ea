// The governor's state file: a small versioned text format, one fact per line, so that an
// operator can read it (`cat /run/warden/governor.state`) and a restarted Warden knows
// every value to restore. Written whole at every change (the runtime writes a temporary
// file and renames it over the old one).
//
//   warden-governor-state 1
//   tier critical
//   mode automatic
//   since 1200000
//   change group "backtest.service" "trading.slice/backtest.service" "cpu.max" "50000 100000" "max 100000" 4711 "max 100000"
//   change systemd-slice "user.slice" "user.slice" "CPUQuotaPerSecUSec" "500000" "infinity"
//   change systemd-slice "user.slice" "user.slice" "CPUWeight" "1" "[not set]"
//
// A change's last three words are optional: the group's identity (its directory's inode,
// `-` when unknown), the value the configuration set in the file (`-` when unknown), and
// `yielded` when someone else changed the value since the governor wrote it.
//
// Each value changed is a line of its own, so a file holds only what was changed: a
// systemd slice whose `CPUWeight` line is missing (a file written by a Warden that set the
// quota alone, or a weight already at or below the emergency one) keeps its weight.
//
// Strings are double-quoted with `\\`, `\"`, `\n` and `\t` escapes; numbers are bare.

/// A state file that cannot be read, with the line and column where reading stopped.
public struct GovernorStateDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 1-based; the line after the last for "missing" errors.
    public var line: Int
    /// 1-based column of the offending word.
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(line):\(column): \(message)" }

    /// `PATH:LINE:COLUMN: message`, for the log.
    public func located(in path: String) -> String { "\(path):\(description)" }
}

extension GovernorState {
    /// The format version this Warden writes and reads.
    public static let encodingVersion = 1
    static let magic = "warden-governor-state"

    /// The state as the text of the state file.
    public func encoded() -> String {
        var lines = [
            "# Warden governor state: what the governor changed and the values to restore.",
            "# Written at every change; read when Warden starts. Do not edit while Warden runs.",
            "\(Self.magic) \(Self.encodingVersion)",
            "tier \(tier.rawValue)",
        ]
        switch mode {
        case .automatic:
            lines.append("mode automatic")
        case .manual(let request, let until):
            lines.append("mode manual")
            if let until { lines.append("manual-until \(until.usec)") }
            if let quota = request.cpuQuota { lines.append("manual-cpu-quota-per-sec-usec \(quota.perSecondUSec)") }
            if request.freezeBatch { lines.append("manual-freeze-batch yes") }
            if let duration = request.duration { lines.append("manual-duration-usec \(duration.usec)") }
            for target in request.targets { lines.append("manual-target \(Self.quote(target))") }
        }
        lines.append("since \(since.usec)")
        if let calmSince { lines.append("calm-since \(calmSince.usec)") }
        if let criticalSince { lines.append("critical-since \(criticalSince.usec)") }
        if let bootID { lines.append("boot-id \(Self.quote(bootID))") }
        for (rule, at) in lastAlertAt.sorted(by: { $0.key < $1.key }) {
            lines.append("alert \(Self.quote(rule)) \(at.usec)")
        }
        for change in changes {
            var line = "change \(change.kind.rawValue) "
                + [change.target, change.path, change.file, change.written, change.previous].map(Self.quote).joined(separator: " ")
            if change.identity != nil || change.configured != nil || change.yielded {
                line += " " + (change.identity.map(String.init) ?? "-")
                line += " " + (change.configured.map(Self.quote) ?? "-")
            }
            if change.yielded { line += " yielded" }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    /// Reads a state file's text. Rejects unknown keys, versions and values with the
    /// position of the offending word, rather than guessing: a wrong guess would restore
    /// wrong values into live cgroups.
    public static func decode(_ text: String) -> Result<GovernorState, GovernorStateDecodingError> {
        do throws(GovernorStateDecodingError) {
            return .success(try decodeOrThrow(text))
        } catch {
            return .failure(error)
        }
    }

    private struct Word {
        var text: String
        var column: Int
        /// The column just after the word as written (quotes and escapes included).
        var end: Int
    }

    private static func words(_ line: Substring, number: Int) throws(GovernorStateDecodingError) -> [Word] {
        var words: [Word] = []
        let scalars = Array(line.unicodeScalars)
        var i = 0
        while i < scalars.count {
            if scalars[i] == " " || scalars[i] == "\t" {
                i += 1
                continue
            }
            let start = i
            var text = ""
            if scalars[i] == "\"" {
                i += 1
                var closed = false
                while i < scalars.count {
                    let c = scalars[i]
                    if c == "\"" {
                        closed = true
                        i += 1
                        break
                    }
                    if c == "\\" {
                        guard i + 1 < scalars.count else { break }
                        switch scalars[i + 1] {
                        case "\\": text += "\\"
                        case "\"": text += "\""
                        case "n": text += "\n"
                        case "t": text += "\t"
                        default:
                            throw GovernorStateDecodingError(
                                line: number, column: i + 1, message: "unknown escape '\\\(scalars[i + 1])' in a quoted string")
                        }
                        i += 2
                        continue
                    }
                    text.unicodeScalars.append(c)
                    i += 1
                }
                guard closed else {
                    throw GovernorStateDecodingError(line: number, column: start + 1, message: "a quoted string is not closed")
                }
                if i < scalars.count, scalars[i] != " " && scalars[i] != "\t" {
                    throw GovernorStateDecodingError(line: number, column: i + 1, message: "expected a space after a quoted string")
                }
            } else {
                while i < scalars.count, scalars[i] != " " && scalars[i] != "\t" {
                    if scalars[i] == "\"" {
                        throw GovernorStateDecodingError(line: number, column: i + 1, message: "a quote inside a bare word")
                    }
                    text.unicodeScalars.append(scalars[i])
                    i += 1
                }
            }
            words.append(Word(text: text, column: start + 1, end: i + 1))
        }
        return words
    }

    private static func decodeOrThrow(_ text: String) throws(GovernorStateDecodingError) -> GovernorState {
        var state = GovernorState()
        var sawVersion = false
        var tier: GovernorTier?
        var modeName: String?
        var since: MonotonicInstant?
        var manualUntil: MonotonicInstant?
        var request = ManualEmergencyRequest()
        var seen: [String: Int] = [:]
        var manualKeyLine: (line: Int, key: String)?
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // A file ends in a newline: the empty piece after it is not a line.
        let count = lines.last?.isEmpty == true ? lines.count - 1 : lines.count

        for index in 0..<count {
            let number = index + 1
            let words = try words(lines[index], number: number)
            guard let first = words.first, !first.text.hasPrefix("#") else { continue }
            func fail(_ column: Int, _ message: String) -> GovernorStateDecodingError {
                GovernorStateDecodingError(line: number, column: column, message: message)
            }
            func arguments(_ n: Int) throws(GovernorStateDecodingError) -> [Word] {
                let args = Array(words.dropFirst())
                guard args.count == n else {
                    let column = args.count > n ? args[n].column : words.last!.end + 1
                    throw fail(column, "'\(first.text)' takes \(n) value\(n == 1 ? "" : "s"), found \(args.count)")
                }
                return args
            }
            func number64(_ word: Word, _ what: String) throws(GovernorStateDecodingError) -> UInt64 {
                guard let value = UInt64(word.text) else { throw fail(word.column, "'\(word.text)' is not \(what)") }
                return value
            }
            func instant(_ word: Word) throws(GovernorStateDecodingError) -> MonotonicInstant {
                MonotonicInstant(usec: try number64(word, "a monotonic time in microseconds"))
            }

            if !sawVersion {
                guard first.text == magic else {
                    throw fail(first.column, "not a governor state file: expected '\(magic) \(encodingVersion)' first")
                }
                let args = try arguments(1)
                guard let version = Int(args[0].text) else {
                    throw fail(args[0].column, "'\(args[0].text)' is not a format version")
                }
                guard version == encodingVersion else {
                    throw fail(
                        args[0].column,
                        "format version \(version) is not the one this Warden reads (\(encodingVersion))")
                }
                sawVersion = true
                continue
            }
            let repeatable: Set<String> = ["alert", "change", "manual-target"]
            if !repeatable.contains(first.text) {
                if let earlier = seen[first.text] {
                    throw fail(first.column, "'\(first.text)' appears twice (first on line \(earlier))")
                }
                seen[first.text] = number
            }
            if first.text.hasPrefix("manual-") && manualKeyLine == nil { manualKeyLine = (number, first.text) }
            switch first.text {
            case "tier":
                let args = try arguments(1)
                guard let value = GovernorTier(rawValue: args[0].text) else {
                    throw fail(args[0].column, "'\(args[0].text)' is not a tier; expected normal, warning, critical or severe")
                }
                tier = value
            case "mode":
                let args = try arguments(1)
                guard ["automatic", "manual"].contains(args[0].text) else {
                    throw fail(args[0].column, "'\(args[0].text)' is not a mode; expected automatic or manual")
                }
                modeName = args[0].text
            case "since": since = try instant(arguments(1)[0])
            case "calm-since": state.calmSince = try instant(arguments(1)[0])
            case "critical-since": state.criticalSince = try instant(arguments(1)[0])
            case "boot-id": state.bootID = try arguments(1)[0].text
            case "manual-until": manualUntil = try instant(arguments(1)[0])
            case "manual-cpu-quota-per-sec-usec":
                let word = try arguments(1)[0]
                let value = try number64(word, "a CPU quota in microseconds per second")
                guard value > 0 else { throw fail(word.column, "a CPU quota must be above 0") }
                request.cpuQuota = CPUQuota(perSecondUSec: value)
            case "manual-freeze-batch":
                let word = try arguments(1)[0]
                guard word.text == "yes" else { throw fail(word.column, "'\(word.text)' is not 'yes'") }
                request.freezeBatch = true
            case "manual-duration-usec":
                request.duration = TimeSpan(usec: try number64(arguments(1)[0], "a duration in microseconds"))
            case "manual-target": request.targets.append(try arguments(1)[0].text)
            case "alert":
                let args = try arguments(2)
                state.lastAlertAt[args[0].text] = try instant(args[1])
            case "change":
                let args = Array(words.dropFirst())
                if args.count < 6 || args.count == 7 || args.count > 9 {
                    let column = args.count > 9 ? args[9].column : words.last!.end + 1
                    throw fail(column, "'change' takes 6, 8 or 9 values, found \(args.count)")
                }
                if args.count == 9, args[8].text != "yielded" {
                    throw fail(args[8].column, "'\(args[8].text)' is not 'yielded'")
                }
                guard let kind = GovernorTarget.Kind(rawValue: args[0].text) else {
                    throw fail(args[0].column, "'\(args[0].text)' is not a target kind; expected group or systemd-slice")
                }
                for word in args[1...4] where word.text.isEmpty {
                    throw fail(word.column, "an empty target, path or file name")
                }
                var identity: UInt64?
                if args.count > 6, args[6].text != "-" {
                    identity = try number64(args[6], "a group identity (an inode number, or -)")
                }
                let change = GovernorChange(
                    target: args[1].text, kind: kind, path: args[2].text, file: args[3].text, written: args[4].text,
                    previous: args[5].text, identity: identity,
                    configured: args.count > 7 && args[7].text != "-" ? args[7].text : nil, yielded: args.count == 9)
                if state.changes.contains(where: { $0.target == change.target && $0.kind == kind && $0.file == change.file }) {
                    throw fail(args[1].column, "a second change of \(change.target) \(change.file)")
                }
                state.changes.append(change)
            default:
                throw fail(first.column, "unknown key '\(first.text)'")
            }
        }
        let end = count + 1
        guard sawVersion else {
            throw GovernorStateDecodingError(line: end, column: 1, message: "empty: no '\(magic) \(encodingVersion)' line")
        }
        guard let tier else { throw GovernorStateDecodingError(line: end, column: 1, message: "no 'tier' line") }
        guard let modeName else { throw GovernorStateDecodingError(line: end, column: 1, message: "no 'mode' line") }
        guard let since else { throw GovernorStateDecodingError(line: end, column: 1, message: "no 'since' line") }
        state.tier = tier
        state.since = since
        if modeName == "manual" {
            state.mode = .manual(request, until: manualUntil)
        } else if let manualKeyLine {
            throw GovernorStateDecodingError(
                line: manualKeyLine.line, column: 1, message: "'\(manualKeyLine.key)' in automatic mode")
        }
        return state
    }
}
