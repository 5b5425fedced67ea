/// Which backend gives the components their cgroups, decided from `CgroupBackend=` and
/// what this host offers. `auto` (the default) takes a subtree delegated to Warden when
/// there is one (a `Delegate=yes` service, a container's own cgroup namespace, PID 1 of a
/// guest), else systemd's transient units when systemd can be reached (an ordinary
/// `systemctl start`-ed service, an operator's shell on a systemd host), else runs without
/// per-component limits and says why.
public enum CgroupBackendChoice: Hashable, Sendable {
    /// Warden's own subtree, written through cgroupfs.
    case delegated
    /// A transient `warden-NAME.scope` per component, through systemd's D-Bus API.
    case systemd
    /// No enforcement: each reason that ruled a backend out.
    case withoutCgroups(reason: String)
    /// `CgroupBackend=systemd` asked for systemd and it is not here: the daemon refuses
    /// to start rather than run unlimited against the operator's explicit choice.
    case refused(reason: String)

    /// - Parameters:
    ///   - subtreeProblem: why no delegated subtree can be managed; nil when one can.
    ///   - systemdProblem: why systemd's D-Bus API cannot be used; nil when it can. Only
    ///     consulted when the decision needs it (the caller may pass a lazy probe).
    public static func decide(
        configured: CgroupBackend, subtreeProblem: String?, systemdProblem: () -> String?
    ) -> CgroupBackendChoice {
        switch configured {
        case .delegated:
            return subtreeProblem.map { .withoutCgroups(reason: $0) } ?? .delegated
        case .systemd:
            return systemdProblem().map { .refused(reason: $0) } ?? .systemd
        case .auto:
            guard let subtree = subtreeProblem else { return .delegated }
            guard let systemd = systemdProblem() else { return .systemd }
            return .withoutCgroups(reason: "\(subtree); systemd's D-Bus API: \(systemd)")
        }
    }
}
