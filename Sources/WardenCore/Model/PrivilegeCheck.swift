/// Per-process settings that need a capability Warden may not hold: in a container
/// without CAP_SYS_RESOURCE, lowering `oom_score_adj` fails, and systemd would fail the
/// start. Warden instead runs the component without the setting and says so once, by
/// the same rule as cgroup limits the host cannot enforce (`FailOnUnenforceable=`
/// makes it refuse instead).
public enum PrivilegeCheck {
    public struct Finding: Hashable, Sendable, CustomStringConvertible {
        public var unit: String
        public var key: String
        public var value: String
        public var capability: String
        /// `Limit*=` above Warden's own hard limit: the hard limit the component gets
        /// instead (raising a hard limit needs CAP_SYS_RESOURCE).
        public var ownHardLimit: UInt64?

        public var description: String {
            if let ownHardLimit {
                return "\(key)=\(value) on \(unit) is above Warden's own hard limit \(ownHardLimit); raising it needs "
                    + "\(capability), which Warden does not have here: the component gets \(ownHardLimit)"
            }
            return "\(key)=\(value) on \(unit) not enforced: it needs \(capability), which Warden does not have here"
        }
    }

    static let sysNice = 23
    static let sysResource = 24
    static let setUID = 7
    static let setGID = 6

    /// Settings of `configuration` that Warden cannot apply with `capabilities` (its
    /// effective set) and `ownLimits` (its own resource limits; a missing kind or a nil
    /// hard limit is unlimited).
    public static func unenforceable(
        in configuration: Configuration, capabilities: CapabilitySet, ownLimits: [ResourceLimitKind: ResourceLimit] = [:]
    ) -> [Finding] {
        var findings: [Finding] = []
        for service in configuration.services {
            let unit = service.name.description
            func need(_ capability: Int, _ key: String, _ value: String) {
                if !capabilities.contains(capability) {
                    findings.append(
                        Finding(unit: unit, key: key, value: value, capability: CapabilitySet(bits: 1 << UInt64(capability)).description))
                }
            }
            if let adjust = service.oomScoreAdjust, adjust < 0 { need(sysResource, "OOMScoreAdjust", String(adjust)) }
            if let nice = service.nice, nice < 0 { need(sysNice, "Nice", String(nice)) }
            if let policy = service.cpuSchedulingPolicy, policy == .fifo || policy == .rr {
                need(sysNice, "CPUSchedulingPolicy", policy.rawValue)
            }
            if let user = service.user, user != "root", user != "0" { need(setUID, "User", user) }
            if let group = service.group, group != "root", group != "0" { need(setGID, "Group", group) }
            guard !capabilities.contains(sysResource) else { continue }
            for kind in ResourceLimitKind.allCases {
                guard let wanted = service.resourceLimits[kind], let ownHard = ownLimits[kind]?.hard else { continue }
                // nil is infinity, above any number.
                let highest = [wanted.soft, wanted.hard].map { $0 ?? .max }.max() ?? 0
                guard highest > ownHard else { continue }
                findings.append(
                    Finding(
                        unit: unit, key: kind.rawValue, value: wanted.description,
                        capability: CapabilitySet(bits: 1 << UInt64(sysResource)).description, ownHardLimit: ownHard))
            }
        }
        return findings
    }

    /// The configuration without the settings that cannot be applied.
    public static func removing(_ findings: [Finding], from configuration: Configuration) -> Configuration {
        var result = configuration
        for index in result.services.indices {
            let unit = result.services[index].name.description
            for finding in findings where finding.unit == unit {
                switch finding.key {
                case "OOMScoreAdjust": result.services[index].oomScoreAdjust = nil
                case "Nice": result.services[index].nice = nil
                case "CPUSchedulingPolicy":
                    result.services[index].cpuSchedulingPolicy = nil
                    result.services[index].cpuSchedulingPriority = nil
                case "User": result.services[index].user = nil
                case "Group": result.services[index].group = nil
                case let key:
                    guard let ceiling = finding.ownHardLimit,
                        let kind = ResourceLimitKind.allCases.first(where: { $0.rawValue == key }),
                        let wanted = result.services[index].resourceLimits[kind]
                    else { break }
                    result.services[index].resourceLimits[kind] = ResourceLimit(
                        soft: min(wanted.soft ?? .max, ceiling), hard: min(wanted.hard ?? .max, ceiling))
                }
            }
        }
        return result
    }
}
