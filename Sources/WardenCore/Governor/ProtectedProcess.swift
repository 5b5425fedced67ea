/// A process a `ThrottleSlices=` slice must never be throttled for: a Warden daemon (and
/// with it every component it runs without a cgroup subtree of its own), or a process of a
/// `Priority=critical` component.
public struct ProtectedProcess: Hashable, Sendable {
    /// Its cgroup v2 path, as the `0::` line of `/proc/PID/cgroup` shows it.
    public var cgroup: String
    /// For the operator: `the Warden daemon (PID 812)`, `feed.service (Priority=critical, PID 904)`.
    public var what: String

    public init(cgroup: String, what: String) {
        self.cgroup = cgroup
        self.what = what
    }

    /// The Warden daemons among `processes` (other than `excluding`), known by their
    /// program: `warden-daemon`, or `warden run` running the daemon in-process.
    public static func wardenDaemons(in processes: [ScannedProcess], excluding: Set<Int32> = []) -> [ProtectedProcess] {
        processes.compactMap { process in
            guard !excluding.contains(process.pid), !process.hasExited, let cgroup = process.cgroup,
                let executable = process.executable
            else { return nil }
            let program = executable.split(separator: "/").last.map(String.init) ?? executable
            let isDaemon =
                program == "warden-daemon" || (program == "warden" && process.arguments.dropFirst().first == "run")
            return isDaemon ? ProtectedProcess(cgroup: cgroup, what: "the Warden daemon (PID \(process.pid))") : nil
        }
    }
}
