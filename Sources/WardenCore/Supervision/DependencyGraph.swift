// Start and stop order between units, and stop propagation, with systemd's meaning
// (systemd.unit(5)):
//
// - Ordering comes ONLY from `After=`/`Before=`. `Requires=`, `Wants=` and `BindsTo=` pull a
//   unit in (and propagate stops) but say nothing about order: without `After=` the two
//   start in parallel. `b After=a` and `a Before=b` are the same edge.
// - Pulling in matters less to Warden than to systemd: Warden starts every configured
//   component anyway. `pulledIn(by:)` is there for `warden start NAME`.
// - An explicit stop of X stops every unit that `Requires=` or `BindsTo=` X. X ending on
//   its own (exit, failure) only stops the units that `BindsTo=` X; those are then stopped
//   explicitly, so the stop spreads further through `Requires=` and `BindsTo=`.

/// The dependency settings of one unit, as unit names (`db.service`).
public struct UnitDependencies: Hashable, Sendable {
    public var requires: [String]
    public var wants: [String]
    public var bindsTo: [String]
    public var after: [String]
    public var before: [String]

    public init(
        requires: [String] = [], wants: [String] = [], bindsTo: [String] = [],
        after: [String] = [], before: [String] = []
    ) {
        self.requires = requires
        self.wants = wants
        self.bindsTo = bindsTo
        self.after = after
        self.before = before
    }
}

/// A dependency naming a unit that is not in the graph. The caller decides: systemd fails
/// the start for a missing `Requires=`/`BindsTo=`, ignores a missing `Wants=`/`After=`/`Before=`.
public struct MissingDependency: Hashable, Sendable, CustomStringConvertible {
    public var unit: String
    /// The setting: `Requires`, `Wants`, `BindsTo`, `After` or `Before`.
    public var key: String
    public var missing: String

    public init(unit: String, key: String, missing: String) {
        self.unit = unit
        self.key = key
        self.missing = missing
    }

    public var description: String { "\(unit): \(key)=\(missing): no such unit" }
}

/// A cycle of `After=`/`Before=` edges. Each unit is ordered after the next one; the last
/// name repeats the first. It starts at the alphabetically first unit of the cycle.
public struct OrderingCycle: Error, Hashable, Sendable, CustomStringConvertible {
    public var units: [String]

    public init(units: [String]) { self.units = units }

    /// `ordering cycle: a.service → b.service → a.service`
    public var description: String { "ordering cycle: " + units.joined(separator: " → ") }
}

/// Why a unit goes down, for stop propagation.
public enum StopCause: Hashable, Sendable {
    /// `warden stop`, or a stop propagated from another unit.
    case explicitStop
    /// The unit exited or failed on its own.
    case exitedOrFailed
}

public struct DependencyGraph: Sendable {
    public let units: [String: UnitDependencies]
    /// References to units not in the graph, sorted by unit, key, name.
    public let missingReferences: [MissingDependency]
    /// For each unit, the units that must be started before it (its `After=` plus every
    /// `Before=` naming it), both ends known.
    public let startsAfter: [String: Set<String>]
    /// The reverse: for each unit, the units ordered after it, which stop before it.
    public let startsBefore: [String: Set<String>]
    /// Masked units: never started; a unit that requires one cannot start.
    public var maskedUnits: Set<String> = []

    public init(_ units: [String: UnitDependencies]) {
        self.units = units
        var missing: [MissingDependency] = []
        var startsAfter: [String: Set<String>] = [:]
        for name in units.keys { startsAfter[name] = [] }
        for (name, deps) in units {
            let lists: [(String, [String])] = [
                ("Requires", deps.requires), ("Wants", deps.wants), ("BindsTo", deps.bindsTo),
                ("After", deps.after), ("Before", deps.before),
            ]
            for (key, targets) in lists {
                for target in targets where units[target] == nil {
                    missing.append(MissingDependency(unit: name, key: key, missing: target))
                }
            }
            for other in deps.after where units[other] != nil { startsAfter[name, default: []].insert(other) }
            for other in deps.before where units[other] != nil { startsAfter[other, default: []].insert(name) }
        }
        self.missingReferences = Array(Set(missing)).sorted {
            ($0.unit, $0.key, $0.missing) < ($1.unit, $1.key, $1.missing)
        }
        self.startsAfter = startsAfter
        var startsBefore: [String: Set<String>] = [:]
        for name in units.keys { startsBefore[name] = [] }
        for (name, earlier) in startsAfter {
            for other in earlier { startsBefore[other, default: []].insert(name) }
        }
        self.startsBefore = startsBefore
    }

    /// The start order as levels: every unit of a level may start in parallel once all
    /// earlier levels are up. A unit's level is one more than the highest level of the
    /// units it is ordered after. Names within a level are sorted.
    public func startLevels() -> Result<[[String]], OrderingCycle> {
        if let cycle = orderingCycle() { return .failure(cycle) }
        var level: [String: Int] = [:]
        func depth(_ name: String) -> Int {
            if let known = level[name] { return known }
            let d = (startsAfter[name] ?? []).map { depth($0) + 1 }.max() ?? 0
            level[name] = d
            return d
        }
        var levels: [[String]] = []
        for name in units.keys.sorted() {
            let d = depth(name)
            while levels.count <= d { levels.append([]) }
            levels[d].append(name)
        }
        return .success(levels.map { $0.sorted() })
    }

    /// The stop order: the start levels reversed, so a unit stops before those it was
    /// ordered after (systemd stops in the reverse of the start order).
    public func stopLevels() -> Result<[[String]], OrderingCycle> {
        startLevels().map { Array($0.reversed()) }
    }

    /// The first ordering cycle found (searching units in name order), or nil.
    public func orderingCycle() -> OrderingCycle? {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var stack: [String] = []

        func visit(_ name: String) -> [String]? {
            marks[name] = .visiting
            stack.append(name)
            for next in (startsAfter[name] ?? []).sorted() {
                switch marks[next] {
                case .visiting:
                    let start = stack.lastIndex(of: next)!
                    return Array(stack[start...])
                case .done:
                    continue
                case nil:
                    if let cycle = visit(next) { return cycle }
                }
            }
            stack.removeLast()
            marks[name] = .done
            return nil
        }

        for name in units.keys.sorted() where marks[name] == nil {
            if let members = visit(name) {
                let first = members.indices.min { members[$0] < members[$1] }!
                let rotated = Array(members[first...] + members[..<first])
                return OrderingCycle(units: rotated + [rotated[0]])
            }
        }
        return nil
    }

    /// The units pulled in by starting `roots` through `Requires=`, `Wants=` and
    /// `BindsTo=`, transitively, including the roots; only known units.
    public func pulledIn(by roots: [String]) -> Set<String> {
        var seen: Set<String> = []
        var queue = roots.filter { units[$0] != nil }
        while let name = queue.popLast() {
            guard seen.insert(name).inserted, let deps = units[name] else { continue }
            for next in deps.requires + deps.wants + deps.bindsTo where units[next] != nil && !seen.contains(next) {
                queue.append(next)
            }
        }
        return seen
    }

    /// The other units that must stop when `unit` stops for `cause`, in stop order (a unit
    /// before those it is ordered after; ties by name). Does not include `unit` itself.
    public func unitsToStop(when unit: String, stopsBecause cause: StopCause) -> [String] {
        var requiredBy: [String: Set<String>] = [:]
        var boundBy: [String: Set<String>] = [:]
        for (name, deps) in units {
            for target in deps.requires { requiredBy[target, default: []].insert(name) }
            for target in deps.bindsTo { boundBy[target, default: []].insert(name) }
        }
        var stopping: Set<String> = []
        var queue: [String] = []
        let firstHop =
            cause == .explicitStop
            ? (requiredBy[unit] ?? []).union(boundBy[unit] ?? [])
            : (boundBy[unit] ?? [])
        for name in firstHop where name != unit && stopping.insert(name).inserted { queue.append(name) }
        while let name = queue.popLast() {
            for next in (requiredBy[name] ?? []).union(boundBy[name] ?? [])
            where next != unit && stopping.insert(next).inserted {
                queue.append(next)
            }
        }
        return orderForStop(stopping)
    }

    private func orderForStop(_ names: Set<String>) -> [String] {
        guard case .success(let levels) = stopLevels() else { return names.sorted() }
        return levels.flatMap { $0.filter(names.contains) }
    }
}
