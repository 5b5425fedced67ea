import Testing
import WardenCore

@Suite struct DependencyGraphTests {
    @Test func levelsComeOnlyFromOrdering() throws {
        let graph = DependencyGraph([
            "a.service": UnitDependencies(),
            "b.service": UnitDependencies(requires: ["a.service"], after: ["a.service"]),
            "c.service": UnitDependencies(after: ["a.service"]),
            "d.service": UnitDependencies(after: ["b.service", "c.service"]),
            // Requires= without After=: pulled in, but started in parallel.
            "e.service": UnitDependencies(requires: ["d.service"], wants: ["a.service"]),
        ])
        #expect(try graph.startLevels().get() == [["a.service", "e.service"], ["b.service", "c.service"], ["d.service"]])
        #expect(try graph.stopLevels().get() == [["d.service"], ["b.service", "c.service"], ["a.service", "e.service"]])
        #expect(graph.missingReferences.isEmpty)
    }

    @Test func beforeIsTheSameEdgeAsAfter() throws {
        let viaBefore = DependencyGraph([
            "a": UnitDependencies(before: ["b"]), "b": UnitDependencies(),
        ])
        let viaAfter = DependencyGraph([
            "a": UnitDependencies(), "b": UnitDependencies(after: ["a"]),
        ])
        #expect(try viaBefore.startLevels().get() == [["a"], ["b"]])
        #expect(try viaAfter.startLevels().get() == [["a"], ["b"]])
        #expect(viaBefore.startsAfter == viaAfter.startsAfter)
    }

    @Test func longestChainDecidesTheLevel() throws {
        let graph = DependencyGraph([
            "a": UnitDependencies(), "b": UnitDependencies(after: ["a"]),
            "c": UnitDependencies(after: ["b"]), "x": UnitDependencies(after: ["a", "c"]),
        ])
        #expect(try graph.startLevels().get() == [["a"], ["b"], ["c"], ["x"]])
    }

    @Test func cycleIsReportedAsAPathStartingAtTheFirstName() throws {
        let graph = DependencyGraph([
            "c.service": UnitDependencies(after: ["a.service"]),
            "a.service": UnitDependencies(after: ["b.service"]),
            "b.service": UnitDependencies(after: ["c.service"]),
            "z.service": UnitDependencies(),
        ])
        let cycle = graph.orderingCycle()
        #expect(cycle?.units == ["a.service", "b.service", "c.service", "a.service"])
        #expect(cycle?.description == "ordering cycle: a.service → b.service → c.service → a.service")
        #expect(throws: OrderingCycle.self) { try graph.startLevels().get() }
    }

    @Test func cycleThroughBeforeAndSelfLoop() throws {
        let mixed = DependencyGraph([
            "a": UnitDependencies(before: ["b"]),  // b after a
            "b": UnitDependencies(before: ["a"]),  // a after b
        ])
        #expect(mixed.orderingCycle()?.units == ["a", "b", "a"])
        let selfLoop = DependencyGraph(["a": UnitDependencies(after: ["a"])])
        #expect(selfLoop.orderingCycle()?.units == ["a", "a"])
    }

    @Test func requiresLoopsAreNotOrderingCycles() throws {
        let graph = DependencyGraph([
            "a": UnitDependencies(requires: ["b"]), "b": UnitDependencies(requires: ["a"]),
        ])
        #expect(graph.orderingCycle() == nil)
        #expect(try graph.startLevels().get() == [["a", "b"]])
    }

    @Test func missingReferencesAreReturnedNotDropped() throws {
        let graph = DependencyGraph([
            "app": UnitDependencies(
                requires: ["db"], wants: ["cache"], bindsTo: ["vpn"], after: ["db", "network.target"],
                before: ["late"]),
        ])
        #expect(
            graph.missingReferences.map(\.description) == [
                "app: After=db: no such unit",
                "app: After=network.target: no such unit",
                "app: Before=late: no such unit",
                "app: BindsTo=vpn: no such unit",
                "app: Requires=db: no such unit",
                "app: Wants=cache: no such unit",
            ])
        // Ordering against a missing unit is ignored, as systemd does.
        #expect(try graph.startLevels().get() == [["app"]])
    }

    private var propagationGraph: DependencyGraph {
        DependencyGraph([
            "db": UnitDependencies(),
            "app": UnitDependencies(requires: ["db"], after: ["db"]),
            "web": UnitDependencies(bindsTo: ["app"], after: ["app"]),
            "worker": UnitDependencies(wants: ["db"], after: ["db"]),
            "side": UnitDependencies(requires: ["web"], after: ["web"]),
        ])
    }

    @Test func explicitStopPropagatesThroughRequiresAndBindsTo() throws {
        let graph = propagationGraph
        #expect(graph.unitsToStop(when: "db", stopsBecause: .explicitStop) == ["side", "web", "app"])
        #expect(graph.unitsToStop(when: "web", stopsBecause: .explicitStop) == ["side"])
        #expect(graph.unitsToStop(when: "worker", stopsBecause: .explicitStop).isEmpty)
    }

    @Test func exitOrFailureOnlyStopsBindsToThenSpreads() throws {
        let graph = propagationGraph
        // app only Requires= db: a failing db does not take app down (systemd).
        #expect(graph.unitsToStop(when: "db", stopsBecause: .exitedOrFailed).isEmpty)
        // web BindsTo= app; side Requires= web and is stopped with it.
        #expect(graph.unitsToStop(when: "app", stopsBecause: .exitedOrFailed) == ["side", "web"])
    }

    @Test func pullInFollowsRequiresWantsBindsTo() throws {
        let graph = propagationGraph
        #expect(graph.pulledIn(by: ["side"]) == ["side", "web", "app", "db"])
        #expect(graph.pulledIn(by: ["worker"]) == ["worker", "db"])
        #expect(graph.pulledIn(by: ["nope"]).isEmpty)
    }

    /// Property check on generated acyclic graphs: every edge goes from a lower to a higher
    /// level, every unit appears exactly once, and stop order is the exact reverse.
    @Test(arguments: UInt64(1)...30)
    func generatedAcyclicGraphsRespectEveryEdge(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let names = (0..<25).map { "u\($0).service" }
        var units: [String: UnitDependencies] = [:]
        for (i, name) in names.enumerated() {
            var deps = UnitDependencies()
            for j in 0..<i where rng.next() % 5 == 0 {
                // Only point backwards so the graph stays acyclic; mix After= and Before=.
                if rng.next() % 2 == 0 {
                    deps.after.append(names[j])
                } else {
                    units[names[j], default: UnitDependencies()].before.append(name)
                }
                if rng.next() % 3 == 0 { deps.requires.append(names[j]) }
            }
            units[name, default: UnitDependencies()].after += deps.after
            units[name, default: UnitDependencies()].requires += deps.requires
        }
        let graph = DependencyGraph(units)
        #expect(graph.orderingCycle() == nil)
        let levels = try graph.startLevels().get()
        var levelOf: [String: Int] = [:]
        for (i, level) in levels.enumerated() { for name in level { levelOf[name] = i } }
        #expect(levelOf.count == names.count)
        #expect(levels.map(\.count).reduce(0, +) == names.count)
        for (name, before) in graph.startsAfter { for other in before { #expect(levelOf[other]! < levelOf[name]!) } }
        // startsBefore is exactly the reverse relation.
        for name in names {
            let reverse = Set(graph.startsAfter.filter { $0.value.contains(name) }.map(\.key))
            #expect(graph.startsBefore[name] == reverse)
        }
        #expect(try graph.stopLevels().get() == levels.reversed())
        // Ordering a chain's root after the deepest unit of that chain must close a cycle.
        if levels.count > 1, let deepest = levels.last?.first {
            var root = deepest
            while let predecessor = graph.startsAfter[root]?.sorted().first { root = predecessor }
            var cyclic = units
            cyclic[root, default: UnitDependencies()].after.append(deepest)
            let cycle = DependencyGraph(cyclic).orderingCycle()
            #expect(cycle?.units.first == cycle?.units.last)
            #expect(cycle?.units.contains(root) == true && cycle?.units.contains(deepest) == true)
        }
    }
}
