/// `warden run -- CMD [ARGS…]`: the program a container exists to run, as a component of
/// its own. The rest of the stack starts around it; when it ends, Warden stops everything
/// and exits with its status, as tini, dumb-init and s6-overlay hand back their child's.
public enum MainProgram {
    /// The unit file of the main program: `ExecStart=` with every argument quoted as
    /// systemd unquotes it (`\` and `"` escaped, `%` and `$` doubled so neither specifiers
    /// nor variables are expanded), `Type=exec` (a program that cannot be executed fails
    /// the start), no restart.
    public static func unitText(_ arguments: [String]) -> String {
        let words = arguments.map(quoted).joined(separator: " ")
        return """
            [Unit]
            Description=The main program (warden run -- …)
            [Service]
            Type=exec
            ExecStart=\(words)

            """
    }

    static func quoted(_ word: String) -> String {
        var out = "\""
        for scalar in word.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "%": out += "%%"
            case "$": out += "$$"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Warden's exit status once the main program ended: its exit code, 128 + the signal
    /// that killed it (as a shell reports it), 127 when it never ran (it could not be
    /// started), 1 when its end could not be read (an adopted process).
    public static func exitCode(lastExit: ExitStatus?) -> Int32 {
        switch lastExit {
        case .exited(let code)?: code
        case .killed(let signal, _)?: 128 + signal
        case .unknown?: 1
        case nil: 127
        }
    }
}
