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

/// Which of the `ThrottleSlices=` an emergency may throttle: `warden emergency on` without
/// `--target` takes the host's slices (default `system.slice user.slice`) minus every one
/// that holds a protected process, each left out with its reason, since throttling it
/// would throttle what the emergency is meant to protect.
public enum ThrottleSliceGuard {
    /// A slice left out, and why.
    public struct Skipped: Hashable, Sendable, CustomStringConvertible {
        public var slice: String
        public var holders: [String]

        public var description: String {
            "\(slice) is not throttled: it holds \(holders.joined(separator: ", "))"
        }
    }

    /// `slices` split into those that may be throttled (in order) and those left out.
    public static func split(_ slices: [String], protecting protected: [ProtectedProcess]) -> (kept: [String], skipped: [Skipped]) {
        var kept: [String] = []
        var skipped: [Skipped] = []
        for slice in slices {
            let holders = protected.filter { GovernorTarget.holds(slice: slice, cgroup: $0.cgroup) }.map(\.what)
            if holders.isEmpty {
                kept.append(slice)
            } else {
                skipped.append(Skipped(slice: slice, holders: holders))
            }
        }
        return (kept, skipped)
    }
}
