// Never throttling Warden's own: a systemd slice that holds the Warden daemon, or any
// component that is not `Priority=batch`, is never given a lower CPU quota.

/// Where Warden and its components run, as cgroup v2 paths (`0::` of /proc/PID/cgroup).
public struct GovernorPlacement: Hashable, Sendable {
    public struct Component: Hashable, Sendable {
        public var name: String
        public var priority: Priority
        /// The component's cgroup, or the cgroups its processes are in.
        public var cgroups: [String]

        public init(name: String, priority: Priority, cgroups: [String]) {
            self.name = name
            self.priority = priority
            self.cgroups = cgroups
        }
    }

    /// Warden's own cgroup (`0::` of /proc/self/cgroup); nil when it could not be read.
    public var wardenCgroup: String?
    /// Warden is in a cgroup namespace of its own (a container's): its paths start at the
    /// namespace's root, whose place in the host's tree it cannot see.
    public var privateCgroupNamespace: Bool
    public var components: [Component]

    /// The kernel's inode of the initial cgroup namespace (`PROC_CGROUP_INIT_INO`).
    static let initialCgroupNamespace = "cgroup:[4026531835]"

    /// Whether `/proc/self/ns/cgroup` (the link's text; nil when it cannot be read) names a
    /// cgroup namespace other than the host's.
    public static func isPrivateCgroupNamespace(link: String?) -> Bool {
        guard let link else { return false }
        return link != initialCgroupNamespace
    }

    public init(wardenCgroup: String?, privateCgroupNamespace: Bool = false, components: [Component] = []) {
        self.wardenCgroup = wardenCgroup
        self.privateCgroupNamespace = privateCgroupNamespace
        self.components = components
    }

    /// The placement of a configuration's components: with the systemd backend each is a
    /// scope in its slice (`/trading.slice/trading-critical.slice/NAME`); otherwise they run
    /// under Warden's delegated subtree, or without groups of their own in Warden's cgroup,
    /// so wherever Warden is.
    public static func of(
        _ configuration: Configuration, componentsAreSystemdUnits: Bool, wardenCgroup: String?, privateCgroupNamespace: Bool
    ) -> GovernorPlacement {
        let components = configuration.services.map { service in
            let cgroups: [String]
            if componentsAreSystemdUnits {
                cgroups = ["/" + (configuration.sliceChain(to: service.effectiveSlice) + [service.name.description]).joined(separator: "/")]
            } else {
                cgroups = wardenCgroup.map { [$0] } ?? []
            }
            return Component(name: service.name.description, priority: configuration.effectivePriority(of: service), cgroups: cgroups)
        }
        return GovernorPlacement(wardenCgroup: wardenCgroup, privateCgroupNamespace: privateCgroupNamespace, components: components)
    }
}

/// A `ThrottleSlices=` slice the governor leaves alone, what it holds and what to do instead.
public struct GovernorShelteredSlice: Hashable, Sendable, CustomStringConvertible {
    public var slice: String
    /// What of Warden's is in it: "Warden itself (/system.slice/warden.service)",
    /// "executor.service (Priority=critical)".
    public var holds: [String]
    /// How to make the slice throttleable.
    public var alternative: String

    public var description: String {
        "ThrottleSlices= \(slice) is never throttled: it holds \(holds.joined(separator: ", ")); \(alternative)"
    }
}

public enum GovernorShelter {
    /// Whether the systemd slice `slice` holds the cgroup at `cgroup` (systemd nests slices
    /// as path components: `/trading.slice/trading-critical.slice/…`).
    public static func holds(slice: String, cgroup: String) -> Bool {
        cgroup.split(separator: "/").contains { $0 == slice }
    }

    /// Why `slice` must never get a lower CPU quota, nil when nothing of Warden's is in it.
    /// - Warden itself: throttling it would throttle the stack it protects.
    /// - A component that is not `Priority=batch`, by its cgroup or its processes'.
    /// - Warden at the root of a cgroup namespace of its own (a container): its place in the
    ///   host's tree is hidden, so any slice may hold it.
    /// Warden as PID 1 of a guest (`/` of the host's namespace, or `/init.scope`) is in no
    /// slice.
    public static func sheltered(slice: String, placement: GovernorPlacement) -> GovernorShelteredSlice? {
        var held: [String] = []
        var alternative = "leave \(slice) out of ThrottleSlices="
        if let own = placement.wardenCgroup {
            let atHiddenRoot = placement.privateCgroupNamespace && own.split(separator: "/").isEmpty
            if atHiddenRoot {
                held.append("Warden itself, perhaps (Warden is at the root of a cgroup namespace of its own, which hides where the host put it)")
                alternative = "run the container in the host's cgroup namespace (docker run --cgroupns=host) so that Warden sees where it is, or leave \(slice) out of ThrottleSlices="
            } else if holds(slice: slice, cgroup: own) {
                held.append("Warden itself (\(own))")
                if own.hasPrefix("/user.slice/") && own.split(separator: "/").contains(where: { $0.hasSuffix(".scope") }) {
                    alternative = "Warden runs in a login session; run it as a system service in a slice of its own (scripts/install-systemd puts it in trading.slice) to throttle \(slice)"
                } else {
                    alternative = "run Warden in a slice of its own (scripts/install-systemd puts it in trading.slice), or leave \(slice) out of ThrottleSlices="
                }
            }
        }
        let components = placement.components.filter { component in
            component.priority != .batch
                && component.cgroups.contains { cgroup in
                    holds(slice: slice, cgroup: cgroup) && cgroup != placement.wardenCgroup
                }
        }
        if !components.isEmpty {
            held += components.map { "\($0.name) (Priority=\($0.priority.rawValue))" }
            if held.count == components.count {
                alternative = "give those components a Slice= outside \(slice), or leave \(slice) out of ThrottleSlices="
            }
        }
        guard !held.isEmpty else { return nil }
        return GovernorShelteredSlice(slice: slice, holds: held, alternative: alternative)
    }
}
