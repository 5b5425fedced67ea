// StandardOutput= / StandardError= (systemd.exec(5), "Logging and Standard Input/Output").

/// Where a component's standard output or error goes.
public enum OutputTarget: Hashable, Sendable, CustomStringConvertible {
    /// The same as standard input (stdout), or as standard output (stderr).
    case inherit
    /// `/dev/null`.
    case null
    /// The controlling terminal (`TTYPath=`).
    case tty
    /// The journal.
    case journal
    /// The kernel log buffer.
    case kmsg
    /// The journal and the system console.
    case journalAndConsole
    /// The kernel log buffer and the system console.
    case kmsgAndConsole
    /// `file:PATH`: opened for writing at the start, not truncated.
    case file(String)
    /// `append:PATH`: opened for appending.
    case append(String)
    /// `truncate:PATH`: truncated when opened.
    case truncate(String)

    static let expectation =
        "inherit, null, tty, journal, kmsg, journal+console, kmsg+console, file:/PATH, append:/PATH or truncate:/PATH"

    /// Parses the values of systemd's `config_parse_exec_output()` that Warden
    /// supports. `syslog` and `syslog+console` are read as `journal` and
    /// `journal+console`, as systemd does today. `socket` and `fd:NAME` (socket
    /// activation) are not supported and are reported as such. Paths must be
    /// absolute; they are normalised (`//` and `.` removed) and may not contain `..`.
    public static func parse(_ text: String) -> Result<OutputTarget, ValueError> {
        switch text {
        case "inherit": return .success(.inherit)
        case "null": return .success(.null)
        case "tty": return .success(.tty)
        case "journal", "syslog": return .success(.journal)
        case "kmsg": return .success(.kmsg)
        case "journal+console", "syslog+console": return .success(.journalAndConsole)
        case "kmsg+console": return .success(.kmsgAndConsole)
        case "socket":
            return .failure(ValueError("'socket' is not supported by Warden (it needs socket activation); expected \(expectation)"))
        default: break
        }
        if text.hasPrefix("fd:") {
            return .failure(ValueError("'\(text)' is not supported by Warden (it needs socket activation); expected \(expectation)"))
        }
        for (prefix, make) in [("file:", OutputTarget.file), ("append:", OutputTarget.append), ("truncate:", OutputTarget.truncate)] {
            guard text.hasPrefix(prefix) else { continue }
            let path = String(text.dropFirst(prefix.count))
            switch AbsolutePath.normalise(path) {
            case .success(let p): return .success(make(p))
            case .failure(let why):
                return .failure(ValueError("'\(text)' is not a valid output target: \(why); expected \(expectation)"))
            }
        }
        return .failure(.notA(text, "an output target", expected: expectation))
    }

    /// The unit-file spelling: `journal`, `append:/var/log/app.log`.
    public var description: String {
        switch self {
        case .inherit: "inherit"
        case .null: "null"
        case .tty: "tty"
        case .journal: "journal"
        case .kmsg: "kmsg"
        case .journalAndConsole: "journal+console"
        case .kmsgAndConsole: "kmsg+console"
        case .file(let p): "file:\(p)"
        case .append(let p): "append:\(p)"
        case .truncate(let p): "truncate:\(p)"
        }
    }
}

/// Absolute-path checks as systemd's `path_simplify_and_warn(…, PATH_CHECK_ABSOLUTE)`.
enum AbsolutePath {
    /// The path with `//`, `/./` and a trailing `/` removed, or why it is refused:
    /// empty, relative, containing `..` or a NUL, or longer than PATH_MAX.
    static func normalise(_ path: String) -> Result<String, Refusal> {
        guard !path.isEmpty else { return .failure(Refusal("the path is empty")) }
        guard path.hasPrefix("/") else { return .failure(Refusal("'\(path)' is not an absolute path")) }
        guard !path.utf8.contains(0) else { return .failure(Refusal("the path contains a NUL byte")) }
        guard path.utf8.count < 4096 else { return .failure(Refusal("the path is longer than 4095 bytes")) }
        var components: [Substring] = []
        for c in path.split(separator: "/") where c != "." {
            if c == ".." { return .failure(Refusal("'\(path)' contains '..'")) }
            components.append(c)
        }
        return .success("/" + components.joined(separator: "/"))
    }
}
