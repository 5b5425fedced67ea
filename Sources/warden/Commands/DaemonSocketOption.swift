import ArgumentParser
import Glibc
import WardenCore
import WardenLinux
import WardenRuntime

/// `--socket` of the commands that load a configuration: where to ask a running daemon
/// which configuration it runs.
struct DaemonSocketOption: ParsableArguments {
    @Option(
        name: .long,
        help: "A running daemon's control socket, asked for the configuration it runs when neither --config nor --units is given (default: ControlSocket= of /etc/warden/warden.conf, else /run/warden/control.sock).")
    var socket: String?

    /// `--socket`, else `ControlSocket=` (or `StateDirectory=`) of /etc/warden/warden.conf,
    /// else /run/warden/control.sock: where `warden status` looks too.
    var socketPath: String { ControlSocketOptions.socketPath(socket: socket, config: nil) }
}
