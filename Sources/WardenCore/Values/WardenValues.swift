// Values of Warden's own `[X-Warden]` keys. `EmergencyCPUQuota=` has the
// `CPUQuota=` syntax: parse it with `CPUQuota.parse`.

/// `[X-Warden] HealthCheck=`: how Warden probes a running component.
public enum HealthCheckTarget: Hashable, Sendable, CustomStringConvertible {
    /// `exec:/path args…`: healthy when the command exits 0.
    case exec(path: String, arguments: [String])
    /// `tcp:HOST:PORT`: healthy when a TCP connection is accepted.
    case tcp(host: String, port: UInt16)
    /// `http://HOST[:PORT][/PATH]`: healthy on a 2xx answer to `GET PATH`.
    case http(host: String, port: UInt16, path: String)

    static let expectation =
        "exec:/ABSOLUTE/PATH [ARGS…], tcp:HOST:PORT, or http://HOST[:PORT][/PATH] (plain http; port 1-65535)"

    public static func parse(_ text: String) -> Result<HealthCheckTarget, ValueError> {
        func bad(_ why: String) -> Result<HealthCheckTarget, ValueError> {
            .failure(ValueError("'\(text)' is not a health check: \(why); expected \(expectation)"))
        }
        if text.hasPrefix("exec:") {
            let words: [String]
            // Split exactly as ExecStart= is, so a probe command reads like a unit's command.
            switch SystemdWords.split(String(text.dropFirst(5)), rules: .commandLine) {
            case .success(let w): words = w
            case .failure(let why): return bad(why.message)
            }
            guard let path = words.first else { return bad("the command is missing") }
            guard path.hasPrefix("/") else { return bad("'\(path)' is not an absolute path") }
            return .success(.exec(path: path, arguments: Array(words.dropFirst())))
        }
        if text.hasPrefix("tcp:") {
            let rest = String(text.dropFirst(4))
            switch HostPort.parse(rest, defaultPort: nil) {
            case .success(let hp): return .success(.tcp(host: hp.host, port: hp.port))
            case .failure(let why): return bad(why.reason)
            }
        }
        if text.hasPrefix("https://") { return bad("https is not supported") }
        if text.hasPrefix("http://") {
            let rest = text.dropFirst(7)
            let slash = rest.firstIndex(of: "/")
            let authority = String(rest[..<(slash ?? rest.endIndex)])
            let path = slash.map { String(rest[$0...]) } ?? "/"
            if path.contains(where: { $0 == " " || $0 == "\t" || $0 == "#" }) {
                return bad("the path '\(path)' contains a space or '#'")
            }
            switch HostPort.parse(authority, defaultPort: 80) {
            case .success(let hp): return .success(.http(host: hp.host, port: hp.port, path: path))
            case .failure(let why): return bad(why.reason)
            }
        }
        return bad("unknown kind")
    }

    public var description: String {
        switch self {
        case .exec(let path, let arguments): "exec:" + CommandWords.join([path] + arguments)
        case .tcp(let host, let port): "tcp:\(HostPort.format(host)):\(port)"
        case .http(let host, let port, let path): "http://\(HostPort.format(host)):\(port)\(path)"
        }
    }
}

/// `HOST:PORT` with `[v6]` brackets for IPv6 literals.
enum HostPort {
    static func parse(_ text: String, defaultPort: UInt16?) -> Result<(host: String, port: UInt16), Refusal> {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(Refusal("the '[' of an IPv6 address is not closed")) }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { return .failure(Refusal("unexpected text after ']'")) }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return .failure(Refusal("an IPv6 address must be written in brackets, such as [::1]:8080")) }
        } else {
            host = Substring(text)
        }
        guard !host.isEmpty else { return .failure(Refusal("the host is empty")) }
        if host.contains(where: { $0 == " " || $0 == "\t" || $0 == "/" || $0 == "@" }) {
            return .failure(Refusal("the host '\(host)' contains a space, '/' or '@'"))
        }
        guard let portText else {
            guard let defaultPort else { return .failure(Refusal("the port is missing")) }
            return .success((String(host), defaultPort))
        }
        guard let p = ValueSyntax.decimal(portText), (1...65535).contains(p) else {
            return .failure(Refusal("'\(portText)' is not a port from 1 to 65535"))
        }
        return .success((String(host), UInt16(p)))
    }

    static func format(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}

/// Quotes words for printing a command back in a form `SystemdWords.split` reads.
enum CommandWords {
    static func join(_ words: [String]) -> String {
        words.map { w in
            guard w.isEmpty || w.contains(where: { " \t\n\"'\\".contains($0) }) else { return w }
            var escaped = ""
            for c in w {
                if c == "\"" || c == "\\" { escaped.append("\\") }
                escaped.append(c)
            }
            return "\"\(escaped)\""
        }.joined(separator: " ")
    }
}

/// `[X-Warden] DuplicateMatch=`: how Warden recognises a copy of a component
/// that it did not start (see `Duplicates=`).
public enum DuplicateMatch: Hashable, Sendable, CustomStringConvertible {
    /// Same executable (`/proc/PID/exe`) as `ExecStart=`.
    case executable
    /// Same executable and the same arguments.
    case executableAndArguments
    /// The command line (arguments joined by single spaces) matches a glob.
    case pattern(CommandLinePattern)
    /// The PID written in this file.
    case pidFile(String)

    static let expectation = "executable, executable+arguments, pattern:GLOB (* and ? wildcards) or pidfile:/ABSOLUTE/PATH"

    public static func parse(_ text: String) -> Result<DuplicateMatch, ValueError> {
        switch text {
        case "executable": return .success(.executable)
        case "executable+arguments": return .success(.executableAndArguments)
        default: break
        }
        if text.hasPrefix("pattern:") {
            switch CommandLinePattern.parse(String(text.dropFirst(8))) {
            case .success(let p): return .success(.pattern(p))
            case .failure(let e): return .failure(ValueError("'\(text)' is not a duplicate match: \(e.message)"))
            }
        }
        if text.hasPrefix("pidfile:") {
            switch AbsolutePath.normalise(String(text.dropFirst(8))) {
            case .success(let p): return .success(.pidFile(p))
            case .failure(let why):
                return .failure(ValueError("'\(text)' is not a duplicate match: \(why); expected \(expectation)"))
            }
        }
        return .failure(.notA(text, "a duplicate match", expected: expectation))
    }

    public var description: String {
        switch self {
        case .executable: "executable"
        case .executableAndArguments: "executable+arguments"
        case .pattern(let p): "pattern:\(p.glob)"
        case .pidFile(let p): "pidfile:\(p)"
        }
    }
}

/// A glob over a whole command line: `*` matches any run of characters
/// (spaces included, possibly none), `?` exactly one character, `\` makes the
/// next character literal. Everything else matches itself, case-sensitively.
/// The pattern must match the entire command line: `*nginx*` finds nginx
/// anywhere, `/usr/sbin/nginx *` only that binary with arguments.
public struct CommandLinePattern: Hashable, Sendable {
    public let glob: String
    private let tokens: [Token]

    private enum Token: Hashable, Sendable {
        case literal(Unicode.Scalar)
        case any
        case anySequence
    }

    public static func parse(_ glob: String) -> Result<CommandLinePattern, ValueError> {
        guard !glob.isEmpty else {
            return .failure(ValueError("the pattern is empty; expected a glob such as '*/myapp --serve*'"))
        }
        var tokens: [Token] = []
        var escaped = false
        for s in glob.unicodeScalars {
            if escaped {
                tokens.append(.literal(s))
                escaped = false
            } else if s == "\\" {
                escaped = true
            } else if s == "*" {
                if tokens.last != .anySequence { tokens.append(.anySequence) }
            } else if s == "?" {
                tokens.append(.any)
            } else {
                tokens.append(.literal(s))
            }
        }
        if escaped {
            return .failure(ValueError("the pattern '\(glob)' ends with a lone backslash; expected \\ before the character to take literally"))
        }
        return .success(CommandLinePattern(glob: glob, tokens: tokens))
    }

    private init(glob: String, tokens: [Token]) {
        self.glob = glob
        self.tokens = tokens
    }

    /// Whether the whole command line matches. Linear backtracking over the last
    /// `*`: O(pattern × text) at worst.
    public func matches(_ commandLine: String) -> Bool {
        let text = Array(commandLine.unicodeScalars)
        var t = 0
        var p = 0
        var starP = -1
        var starT = 0
        while t < text.count {
            if p < tokens.count {
                switch tokens[p] {
                case .anySequence:
                    starP = p
                    starT = t
                    p += 1
                    continue
                case .any:
                    p += 1
                    t += 1
                    continue
                case .literal(let s) where s == text[t]:
                    p += 1
                    t += 1
                    continue
                case .literal:
                    break
                }
            }
            guard starP >= 0 else { return false }
            p = starP + 1
            starT += 1
            t = starT
        }
        while p < tokens.count, tokens[p] == .anySequence { p += 1 }
        return p == tokens.count
    }

    /// The command line a process's `/proc/PID/cmdline` arguments form for
    /// matching: arguments joined by single spaces.
    public static func commandLine(arguments: [String]) -> String { arguments.joined(separator: " ") }
}
