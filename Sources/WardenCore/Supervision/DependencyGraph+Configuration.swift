extension DependencyGraph {
    /// The graph of the configured components. Slices take part in nothing Warden
    /// starts, so references to them are left out; targets, which run nothing, are
    /// folded into the components' edges:
    ///
    /// - A target is ordered after what its `After=` names, after every unit naming it
    ///   in `Before=`, and after every unit it wants or requires (its `Wants=`,
    ///   `Requires=`, `BindsTo=`, the units whose `WantedBy=`/`RequiredBy=` name it, the
    ///   links in its `*.wants/` directory). That last, implicit ordering is systemd's
    ///   (systemd.target(5), "Implicit Dependencies"); as in systemd it is not added when
    ///   the unit is itself ordered after the target, and not at all for a target with
    ///   `DefaultDependencies=no`.
    /// - A component ordered after a target (its `After=`, or the target's `Before=`)
    ///   is ordered after every component the target is ordered after, through any chain
    ///   of targets: it starts once the target is reached, and the target is reached
    ///   when all of them have started. A target no component is ordered before is
    ///   reached at once.
    /// - `Wants=`/`Requires=`/`BindsTo=` of a target pull in what the target wants or
    ///   requires: a component requiring a target requires what the target requires and
    ///   wants what it wants.
    ///
    /// Masked units are recorded for the planner (`maskedUnits`): a component requiring
    /// one is not started.
    public init(configuration: Configuration) {
        let components = Set(configuration.services.map(\.name.description))
        var targets: [String: TargetConfig] = [:]
        for target in configuration.targets { targets[target.name.description] = target }
        func isNode(_ name: String) -> Bool { components.contains(name) || targets[name] != nil }

        // Explicit ordering first: a node → the nodes it starts after.
        var after: [String: Set<String>] = [:]
        func order(_ later: String, after earlier: String) {
            guard later != earlier, isNode(later), isNode(earlier) else { return }
            after[later, default: []].insert(earlier)
        }
        for service in configuration.services {
            let name = service.name.description
            for other in service.after { order(name, after: other) }
            for other in service.before { order(other, after: name) }
        }
        for target in configuration.targets {
            let name = target.name.description
            for other in target.after { order(name, after: other) }
            for other in target.before { order(other, after: name) }
        }
        // Then the targets' implicit ordering after the units they pull in.
        for target in configuration.targets where target.defaultDependencies {
            let name = target.name.description
            for member in target.wants + target.requires + target.bindsTo
            where !(after[member]?.contains(name) ?? false) {
                order(name, after: member)
            }
        }

        // What a target pulls in, as components: (required, wanted), through targets.
        func pulled(by target: String) -> (hard: Set<String>, soft: Set<String>) {
            var hard: Set<String> = []
            var soft: Set<String> = []
            var seen: Set<String> = [target]
            var queue: [(String, Bool)] = [(target, true)]
            while let (name, isHard) = queue.popLast() {
                guard let t = targets[name] else { continue }
                for (members, memberHard) in [(t.requires + t.bindsTo, isHard), (t.wants, false)] {
                    for member in members {
                        if components.contains(member) {
                            if memberHard { hard.insert(member) } else { soft.insert(member) }
                        } else if targets[member] != nil, seen.insert(member).inserted {
                            queue.append((member, memberHard))
                        }
                    }
                }
            }
            return (hard, soft.subtracting(hard))
        }

        var units: [String: UnitDependencies] = [:]
        for service in configuration.services {
            let name = service.name.description
            // The components this one starts after, looking through targets.
            var earlier: Set<String> = []
            var seen: Set<String> = []
            var queue = Array(after[name] ?? [])
            while let next = queue.popLast() {
                guard seen.insert(next).inserted else { continue }
                if components.contains(next) {
                    if next != name { earlier.insert(next) }
                } else {
                    queue += after[next] ?? []
                }
            }
            var requires = service.requires.filter(components.contains)
            var wants = service.wants.filter(components.contains)
            var bindsTo = service.bindsTo.filter(components.contains)
            for target in service.requires where targets[target] != nil {
                let (hard, soft) = pulled(by: target)
                requires += hard
                wants += soft
            }
            for target in service.bindsTo where targets[target] != nil {
                let (hard, soft) = pulled(by: target)
                bindsTo += hard
                wants += soft
            }
            for target in service.wants where targets[target] != nil {
                let (hard, soft) = pulled(by: target)
                wants += hard.union(soft)
            }
            units[name] = UnitDependencies(
                requires: Array(Set(requires)).sorted(), wants: Array(Set(wants)).sorted(),
                bindsTo: Array(Set(bindsTo)).sorted(), after: earlier.sorted(), before: [])
        }
        self.init(units)
        self.maskedUnits = Set(configuration.masked.keys)
    }
}
