// SuccessExitStatus= / RestartPreventExitStatus= (systemd.service(5)):
// `config_parse_set_status()`.

/// The exit status names systemd accepts (`exit_status_mappings`): libc, LSB init
/// script, BSD `sysexits.h` and systemd's own codes.
public enum ExitStatusName {
    public static let table: [(name: String, code: Int32)] = [
        ("SUCCESS", 0), ("FAILURE", 1),
        ("INVALIDARGUMENT", 2), ("NOTIMPLEMENTED", 3), ("NOPERMISSION", 4), ("NOTINSTALLED", 5),
        ("NOTCONFIGURED", 6), ("NOTRUNNING", 7),
        ("USAGE", 64), ("DATAERR", 65), ("NOINPUT", 66), ("NOUSER", 67), ("NOHOST", 68),
        ("UNAVAILABLE", 69), ("SOFTWARE", 70), ("OSERR", 71), ("OSFILE", 72), ("CANTCREAT", 73),
        ("IOERR", 74), ("TEMPFAIL", 75), ("PROTOCOL", 76), ("NOPERM", 77), ("CONFIG", 78),
        ("CHDIR", 200), ("NICE", 201), ("FDS", 202), ("EXEC", 203), ("MEMORY", 204), ("LIMITS", 205),
        ("OOM_ADJUST", 206), ("SIGNAL_MASK", 207), ("STDIN", 208), ("STDOUT", 209), ("CHROOT", 210),
        ("IOPRIO", 211), ("TIMERSLACK", 212), ("SECUREBITS", 213), ("SETSCHEDULER", 214),
        ("CPUAFFINITY", 215), ("GROUP", 216), ("USER", 217), ("CAPABILITIES", 218), ("CGROUP", 219),
        ("SETSID", 220), ("CONFIRM", 221), ("STDERR", 222), ("PAM", 224), ("NETWORK", 225),
        ("NAMESPACE", 226), ("NO_NEW_PRIVILEGES", 227), ("SECCOMP", 228), ("SELINUX_CONTEXT", 229),
        ("PERSONALITY", 230), ("APPARMOR", 231), ("ADDRESS_FAMILIES", 232), ("RUNTIME_DIRECTORY", 233),
        ("CHOWN", 235), ("SMACK_PROCESS_LABEL", 236), ("KEYRING", 237), ("STATE_DIRECTORY", 238),
        ("CACHE_DIRECTORY", 239), ("LOGS_DIRECTORY", 240), ("CONFIGURATION_DIRECTORY", 241),
        ("NUMA_POLICY", 242), ("CREDENTIALS", 243), ("BPF", 245), ("EXCEPTION", 255),
    ]

    /// The code for a name (case-sensitive, as systemd).
    public static func code(named name: String) -> Int32? { table.first { $0.name == name }?.code }
}

extension ExitStatusSet {
    static let expectation =
        "exit codes from 0 to 255, exit status names such as TEMPFAIL, and signal names such as SIGKILL, separated by spaces"

    /// Parses one line as systemd's `config_parse_set_status()`: whitespace-separated
    /// words, each an exit status (a number 0…255 or a name such as `TEMPFAIL`;
    /// numbers are always exit statuses) or else a signal (`SIGKILL`, `KILL`,
    /// `SIGRTMIN+1`). Empty text is the empty set (for a unit key: reset). Unlike
    /// systemd, which skips a bad word with a warning, a bad word is an error.
    public static func parse(_ text: String) -> Result<ExitStatusSet, ValueError> {
        var set = ExitStatusSet()
        for word in ValueSyntax.words(text) {
            if let code = ExitStatusName.code(named: word) {
                set.codes.insert(code)
            } else if let n = ValueSyntax.unsigned(word), n <= 255 {
                set.codes.insert(Int32(n))
            } else if ValueSyntax.unsigned(word) != nil {
                return .failure(ValueError("'\(word)' in '\(text)' is out of range: exit statuses go from 0 to 255 (signals are written by name); expected \(expectation)"))
            } else if case .success(let signal) = SignalNumber.parse(word) {
                set.signals.insert(signal.rawValue)
            } else {
                return .failure(ValueError("'\(word)' in '\(text)' is neither an exit status nor a signal; expected \(expectation)"))
            }
        }
        return .success(set)
    }

    /// All of a unit's lines for one key combined as systemd does: each line adds
    /// to the set, an empty line empties it.
    public static func fold(_ lines: [String]) -> Result<ExitStatusSet, ValueError> {
        var result = ExitStatusSet()
        for line in lines {
            if ValueSyntax.trimmed(line).isEmpty {
                result = ExitStatusSet()
                continue
            }
            switch parse(line) {
            case .failure(let e): return .failure(e)
            case .success(let s):
                result.codes.formUnion(s.codes)
                result.signals.formUnion(s.signals)
            }
        }
        return .success(result)
    }

    /// Codes ascending, then signal names: `0 75 SIGKILL SIGUSR1`.
    public var systemdString: String {
        (codes.sorted().map(String.init) + signals.sorted().map { SignalNumber(rawValue: $0).name })
            .joined(separator: " ")
    }
}
