/// What a configuration will do, in the terms an operator checks before trusting it:
/// the start order, the slice tree, and per component the exact cgroup writes and
/// per-process settings. Printed by `warden check-config` (text or JSON).
public struct ConfigurationPlan: Hashable, Sendable, Codable {
    public struct Component: Hashable, Sendable, Codable {
        public var name: String
        public var description: String?
        public var slice: String
        public var priority: String
        public var type: String
        public var restart: String
        public var command: [String]
        public var cgroup: String
        public var cgroupWrites: [CgroupWrite]
        /// Per-process settings applied between fork and exec, as `setting = value`.
        public var processSettings: [String]
    }

    public struct Slice: Hashable, Sendable, Codable {
        public var name: String
        public var parent: String?
        public var priority: String?
        public var cgroup: String
        public var cgroupWrites: [CgroupWrite]
        public var implicit: Bool
    }

    /// Components by start level: every component of a level may start once the previous
    /// levels are ready; components of one level start in parallel.
    public var startOrder: [[String]]
    public var slices: [Slice]
    public var components: [Component]

    public init(configuration: Configuration, host: HostFacts?) {
        let groups = CgroupPlan.plan(for: configuration, host: host)
        var groupByUnit: [String: CgroupGroupPlan] = [:]
        for group in groups { groupByUnit[group.unit] = group }
        // A valid configuration has no ordering cycle (validation rejects it).
        startOrder = (try? DependencyGraph(configuration: configuration).startLevels().get()) ?? []
        slices = configuration.slices.map { slice in
            let group = groupByUnit[slice.name.description]
            return Slice(
                name: slice.name.description, parent: slice.parentName == "-.slice" ? nil : slice.parentName,
                priority: slice.priority?.rawValue, cgroup: group?.path ?? "", cgroupWrites: group?.writes ?? [],
                implicit: slice.isImplicit)
        }
        components = configuration.services.map { service in
            let group = groupByUnit[service.name.description]
            return Component(
                name: service.name.description, description: service.description, slice: service.effectiveSlice,
                priority: configuration.effectivePriority(of: service).rawValue,
                type: service.effectiveType.rawValue, restart: (service.restart ?? .no).rawValue,
                command: service.execStart.first?.command.arguments ?? [],
                cgroup: group?.path ?? "", cgroupWrites: group?.writes ?? [],
                processSettings: Self.processSettings(of: service) + Self.namesAndDirectories(of: service, in: configuration))
        }
    }

    /// The unit's other names, and the directories made before its first command.
    static func namesAndDirectories(of service: ServiceConfig, in configuration: Configuration) -> [String] {
        var settings: [String] = []
        let name = service.name.description
        let aliases = configuration.aliases.keys.filter { configuration.canonicalName($0) == name }.sorted()
        if !aliases.isEmpty { settings.append("also named = \(aliases.joined(separator: " "))") }
        let owner = [service.user, service.group].compactMap { $0 }.joined(separator: ":")
        for directory in ExecDirectoryPlan(service.directories, bases: .system).directories {
            var text = "\(directory.kind.key) = \(directory.path) (mode 0\(String(directory.mode, radix: 8))"
            if directory.ownedByService && !owner.isEmpty { text += ", owner \(owner)" }
            if directory.kind == .runtime {
                switch service.directories.effectiveRuntimePreserve {
                case .no: text += ", removed at every stop"
                case .restart: text += ", removed when stopped for good"
                case .yes: text += ", kept"
                }
            }
            text += ")"
            for link in directory.symlinks { text += ", link \(link)" }
            settings.append(text)
        }
        return settings
    }

    static func processSettings(of service: ServiceConfig) -> [String] {
        var settings: [String] = []
        if let user = service.user { settings.append("user = \(user)") }
        if let group = service.group { settings.append("group = \(group)") }
        if !service.supplementaryGroups.isEmpty {
            settings.append("supplementary groups = \(service.supplementaryGroups.joined(separator: " "))")
        }
        if let nice = service.nice { settings.append("nice = \(nice)") }
        if let cpus = service.cpuAffinity { settings.append("cpu affinity = \(cpus)") }
        if let policy = service.cpuSchedulingPolicy {
            settings.append("scheduling = \(policy.rawValue) priority \(service.cpuSchedulingPriority ?? 0)")
        }
        if let adjust = service.oomScoreAdjust { settings.append("oom_score_adj = \(adjust)") }
        for kind in ResourceLimitKind.allCases {
            if let limit = service.resourceLimits[kind] { settings.append("\(kind.linuxName) = \(limit)") }
        }
        if let umask = service.umask { settings.append("umask = 0\(String(umask, radix: 8))") }
        if let bounding = service.capabilityBoundingSet { settings.append("capability bounding set = \(bounding)") }
        if let ambient = service.ambientCapabilities { settings.append("ambient capabilities = \(ambient)") }
        if service.noNewPrivileges == true { settings.append("no_new_privs = 1") }
        if let directory = service.workingDirectory { settings.append("working directory = \(directory)") }
        return settings
    }

    /// The plan as an operator reads it in a terminal.
    public func renderText() -> String {
        var out = "Start order (components of one level start in parallel):\n"
        for (index, level) in startOrder.enumerated() {
            out += "  \(index + 1). \(level.joined(separator: ", "))\n"
        }
        out += "\nSlices:\n"
        func renderSlice(_ slice: Slice, depth: Int) {
            let indent = String(repeating: "  ", count: depth + 1)
            var line = "\(indent)\(slice.name)"
            if let priority = slice.priority { line += " [priority \(priority)]" }
            if slice.implicit { line += " (implicit, defaults)" }
            out += line + "\n"
            for write in slice.cgroupWrites { out += "\(indent)    \(write)\n" }
            for child in slices where child.parent == slice.name { renderSlice(child, depth: depth + 1) }
        }
        for root in slices where root.parent == nil { renderSlice(root, depth: 0) }
        out += "\nComponents:\n"
        for component in components {
            out += "  \(component.name)"
            if let description = component.description { out += " — \(description)" }
            out += "\n"
            out += "    type \(component.type), restart \(component.restart), priority \(component.priority)\n"
            out += "    exec: \(component.command.joined(separator: " "))\n"
            out += "    cgroup: \(component.cgroup)\n"
            for write in component.cgroupWrites { out += "      \(write)\n" }
            for setting in component.processSettings { out += "    \(setting)\n" }
        }
        return out
    }
}
