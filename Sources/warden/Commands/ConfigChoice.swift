import ArgumentParser
import Glibc
import WardenCore
import WardenLinux
import WardenRuntime

/// The configuration a command works on: the one the operator named (`--config`,
/// `--units`), else the one a daemon answering on the control socket runs (`config-source`),
/// else Warden's defaults (/etc/warden/warden.conf and /etc/warden/units when they exist).
struct ConfigChoice {
    var location: ConfigLocation
    /// The running daemon's answer, when its configuration was taken.
    var daemon: ControlConfigSource?
    /// The daemon that answered on the socket, whether or not its configuration was
    /// taken: its processes are Warden's, never copies to report or kill.
    var runningDaemon: ControlConfigSource?

    /// Asks the daemon at `socket` which configuration it runs, and takes it unless
    /// `location` names one itself; says on stderr when the daemon's is taken. A daemon
    /// that does not answer, is too old to know `config-source`, or refuses this user
    /// leaves the defaults in force.
    static func resolve(_ location: ConfigLocation, socket: DaemonSocketOption) -> ConfigChoice {
        let explicit = location.config != nil || !location.units.isEmpty
        let path = socket.socketPath
        guard case .success(let response) = ControlClient(path: path, timeoutSeconds: 5).send(ControlRequest(id: 1, op: .configSource))
        else { return ConfigChoice(location: location) }
        guard let source = response.configSource else {
            if let error = response.error, error.code != .unsupportedOperation, !explicit {
                writeStandardError("warden: the daemon at \(path) does not say which configuration it runs (\(error)); using the defaults")
            }
            return ConfigChoice(location: location)
        }
        if explicit { return ConfigChoice(location: location, runningDaemon: source) }
        let arguments = source.arguments.map(Self.quoted).joined(separator: " ")
        writeStandardError(
            "using the configuration of the running daemon (pid \(source.pid)): "
                + (arguments.isEmpty ? "its defaults (no warden.conf, no --units)" : arguments))
        return ConfigChoice(location: location, daemon: source, runningDaemon: source)
    }

    /// Warden's processes as `DuplicateTargets.wardenProcesses` finds them from
    /// `stateDirectory`, plus the daemon that answered on the socket.
    func wardenProcesses(stateDirectory: String, procRoot: String) -> WardenProcesses {
        var warden = DuplicateTargets.wardenProcesses(stateDirectory: self.stateDirectory ?? stateDirectory, procRoot: procRoot)
        if let runningDaemon { warden.pids.insert(runningDaemon.pid) }
        return warden
    }

    /// Loads it, as the daemon does when it came from the daemon (its `-- CMD` included).
    func load(host: HostFacts?) -> ConfigurationLoader.Result {
        if let daemon { return DaemonArguments(daemon).load(host: host) }
        return location.load(host: host)
    }

    /// The daemon's state directory (`--state-dir` included), nil when no daemon's
    /// configuration was taken: then `StateDirectory=` of the configuration decides.
    var stateDirectory: String? { daemon?.stateDirectory }

    /// Neither named, nor a daemon's, nor where Warden looks by default.
    var isUnconfigured: Bool { daemon == nil && location.isUnconfigured }

    /// There is a configuration to read.
    var isGiven: Bool { daemon != nil || location.isGiven }

    /// A word as a shell reads it back.
    static func quoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "/._-+=:,@%".contains($0) }
        if plain && !word.isEmpty { return word }
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}
