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

        public var description: String {
            "\(key)=\(value) on \(unit) not enforced: it needs \(capability), which Warden does not have here"
        }
    }

    static let sysNice = 23
    static let sysResource = 24
    static let setUID = 7
    static let setGID = 6

    /// Settings of `configuration` that Warden cannot apply with `capabilities` (its
    /// effective set).
    public static func unenforceable(in configuration: Configuration, capabilities: CapabilitySet) -> [Finding] {
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
                default: break
                }
            }
        }
        return result
    }
}
