import Testing
@testable import WardenCore

// A `ThrottleSlices=` slice gets `EmergencyCPUWeight=` with its quota (the quota alone let
// user.slice burst at CPUWeight=100 between its throttled periods: docs/benchmarks.md,
// Governor), recorded and restored exactly, systemd's unset included.

@Suite struct GovernorSlicePropertyTests {
    static let texts: [(GovernorSliceProperty, UInt64, String)] = [
        (.cpuQuota, 500_000, "500000"),
        (.cpuQuota, .max, "infinity"),
        (.cpuWeight, 1, "1"),
        (.cpuWeight, 10_000, "10000"),
        (.cpuWeight, 0, "idle"),
        (.cpuWeight, .max, "[not set]"),
    ]

    @Test(arguments: texts)
    func aBusValueReadsBackFromItsText(property: GovernorSliceProperty, value: UInt64, text: String) {
        #expect(property.text(value) == text)
        #expect(property.value(text) == value)
        #expect(property.property(text) == SystemdProperty(property.name, .uint64(value)))
    }

    static let unsetSpellings: [(GovernorSliceProperty, String)] = [
        (.cpuWeight, "infinity"), (.cpuWeight, "18446744073709551615"), (.cpuWeight, " [not set]\n"),
        (.cpuQuota, "[not set]"), (.cpuQuota, "18446744073709551615"),
    ]

    @Test(arguments: unsetSpellings)
    func theUnsetIsReadInEverySpelling(property: GovernorSliceProperty, text: String) {
        #expect(property.value(text) == .max)
    }

    static let notValues: [(GovernorSliceProperty, String)] = [
        (.cpuWeight, "10001"), (.cpuWeight, "lots"), (.cpuWeight, "-1"), (.cpuWeight, "Idle"), (.cpuWeight, ""),
        (.cpuQuota, "50%"), (.cpuQuota, "max"), (.cpuQuota, "idle"),
    ]

    @Test(arguments: notValues)
    func anythingElseIsNoValue(property: GovernorSliceProperty, text: String) {
        #expect(property.value(text) == nil)
        #expect(property.property(text) == nil)
    }

    @Test func theNamesAreTheResourceKeysRows() {
        #expect(GovernorSliceProperty.allCases.map(\.name) == ["CPUQuotaPerSecUSec", "CPUWeight"])
        #expect(GovernorSliceProperty(name: "CPUWeight") == .cpuWeight)
        #expect(GovernorSliceProperty(name: "MemoryHigh") == nil)
        #expect(GovernorSliceProperty.describe(SystemdProperty("CPUWeight", .uint64(.max))) == "CPUWeight=[not set]")
        #expect(GovernorSliceProperty.describe(SystemdProperty("CPUQuotaPerSecUSec", .uint64(.max))) == "CPUQuotaPerSecUSec=infinity")
    }

    /// An unset weight is systemd's default, 100: the governor lowers it to anything below
    /// 100 and never "lowers" it to more.
    static let tighter: [(String, String, Bool)] = [
        ("1", "[not set]", true),
        ("99", "[not set]", true),
        ("100", "[not set]", false),
        ("200", "[not set]", false),
        ("1", "5", true),
        ("10", "5", false),
        ("1", "idle", false),  // idle allows less than any weight
        ("idle", "1", true),
        ("1", "0", false),  // 0 is idle on the bus
        ("1", "lots", true),  // a baseline that cannot be read counts as unlimited
    ]

    @Test(arguments: tighter)
    func aWeightIsTighterWhenItAllowsLess(value: String, baseline: String, expected: Bool) {
        #expect(GovernorValues.isTighter(file: "CPUWeight", value, than: baseline) == expected)
    }
}

@Suite struct GovernorSliceWeightTests {
    /// How the tier is entered and left.
    enum Path: String, CaseIterable, CustomStringConvertible {
        /// The critical tier, then calm past two cooldowns.
        case automatic
        /// `warden emergency on --target system.slice`, then `off`.
        case manual
        /// `warden emergency on`, then the stand-down of a Warden shutting down.
        case standDown

        var description: String { rawValue }
    }

    struct Case: CustomStringConvertible {
        /// The slice's `CPUWeight` before, as systemd reports it.
        var before: String
        var emergency: CPUWeight
        /// What the governor writes (nil: nothing, the slice already allows as little).
        var written: UInt64?
        var description: String { "CPUWeight \(before), EmergencyCPUWeight=\(emergency)" }
    }

    static let cases: [Case] = [
        Case(before: "[not set]", emergency: .weight(1), written: 1),
        Case(before: "100", emergency: .weight(1), written: 1),
        Case(before: "250", emergency: .weight(10), written: 10),
        Case(before: "1", emergency: .weight(1), written: nil),  // already there
        Case(before: "5", emergency: .weight(10), written: nil),  // never raised
        Case(before: "idle", emergency: .weight(1), written: nil),  // idle is less than any weight
        Case(before: "[not set]", emergency: .weight(200), written: nil),  // unset is 100: 200 would raise it
        Case(before: "[not set]", emergency: .idle, written: 0),
    ]

    static func world(_ c: Case) -> GovernorWorld {
        var settings = GovernorSettings()
        settings.emergencyCPUWeight = c.emergency
        var world = GovernorWorld(settings: settings)
        world.targets[6].current["CPUWeight"] = c.before
        return world
    }

    static func sliceActions(_ actions: [GovernorAction]) -> [GovernorAction] {
        actions.filter {
            switch $0 {
            case .throttleSystemdSlice("system.slice", _), .restoreSystemdSlice("system.slice", _): true
            default: false
            }
        }
    }

    @Test(arguments: cases, Path.allCases)
    func theWeightIsLoweredWithTheQuotaAndRestoredExactly(c: Case, path: Path) throws {
        var world = Self.world(c)
        let on: GovernorDecision
        switch path {
        case .automatic:
            on = world.feed(Load.crit.sample(at: 0))
        case .manual:
            on = try Governor.manualOn(
                state: world.state, request: ManualEmergencyRequest(targets: ["system.slice"]), at: instant(0),
                targets: world.targets, thresholds: world.thresholds
            ).get()
        case .standDown:
            on = try Governor.manualOn(
                state: world.state, request: ManualEmergencyRequest(), at: instant(0), targets: world.targets,
                thresholds: world.thresholds
            ).get()
        }
        if path != .automatic {
            world.state = on.state
            world.carryOut(on.actions)
        }
        // One call for the slice: the quota, then the weight where it lowers it.
        let expected = [sliceQuota(500_000)] + (c.written.map { [sliceWeight($0)] } ?? [])
        #expect(Self.sliceActions(on.actions) == [.throttleSystemdSlice(name: "system.slice", properties: expected)])
        let records = world.state.changes.filter { $0.kind == .systemdSlice && $0.target == "system.slice" }
        #expect(records.map(\.file) == ["CPUQuotaPerSecUSec"] + (c.written == nil ? [] : ["CPUWeight"]))
        if let written = c.written {
            #expect(records.last?.previous == c.before)
            #expect(records.last?.written == GovernorSliceProperty.cpuWeight.text(written))
            #expect(world.target("system.slice").current["CPUWeight"] == GovernorSliceProperty.cpuWeight.text(written))
        }
        // Holding the tier writes nothing again.
        if path == .automatic { #expect(Self.sliceActions(world.feed(Load.crit.sample(at: 1)).actions).isEmpty) }

        let off: GovernorDecision
        switch path {
        case .automatic:
            world.feed(Load.calm.sample(at: 2))
            world.feed(Load.calm.sample(at: 63))
            off = world.feed(Load.calm.sample(at: 124))
            #expect(world.state.tier == .normal)
        case .manual:
            off = try #require(Governor.manualOff(state: world.state, at: instant(5), targets: world.targets, thresholds: world.thresholds))
        case .standDown:
            off = Governor.standDown(state: world.state, at: instant(5), targets: world.targets, thresholds: world.thresholds, cause: "test")
        }
        if path != .automatic {
            world.state = off.state
            world.carryOut(off.actions)
        }
        let restoredWeight = c.written == nil ? [] : [try #require(GovernorSliceProperty.cpuWeight.property(c.before))]
        let restores = path == .automatic ? world.log.flatMap(\.restored) : off.audit?.restored ?? []
        #expect(restores.filter { $0.kind == .systemdSlice }.map(\.file) == (c.written == nil ? [] : ["CPUWeight"]) + ["CPUQuotaPerSecUSec"])
        if path != .automatic {
            #expect(Self.sliceActions(off.actions) == [.restoreSystemdSlice(name: "system.slice", properties: restoredWeight + [sliceQuota(nil)])])
        }
        #expect(world.target("system.slice").current == ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": c.before])
        #expect(world.state.changes.isEmpty)
    }

    /// The unset goes out as `UINT64_MAX` (systemd's `CGROUP_WEIGHT_INVALID`: "no weight
    /// of its own"), never as the default 100 it stands for.
    @Test func unsetThenSetThenUnset() throws {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        #expect(world.target("system.slice").current["CPUWeight"] == "1")
        let record = try #require(world.state.changes.first { $0.kind == .systemdSlice && $0.file == "CPUWeight" })
        #expect(record.previous == "[not set]")
        let down = Governor.standDown(state: world.state, at: instant(1), targets: world.targets, thresholds: world.thresholds, cause: "test")
        #expect(down.actions.contains(.restoreSystemdSlice(name: "system.slice", properties: [sliceWeight(nil), sliceQuota(nil)])))
        #expect(sliceWeight(nil).value == .uint64(18_446_744_073_709_551_615))
        #expect(down.audit?.description.contains("system.slice CPUWeight = '[not set]'") == true)
    }

    @Test func aWeightSetBySomeoneElseIsLeftAndTheQuotaRestored() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        world.targets[6].current["CPUWeight"] = "50"  // systemctl set-property --runtime system.slice CPUWeight=50
        let down = Governor.standDown(state: world.state, at: instant(1), targets: world.targets, thresholds: world.thresholds, cause: "test")
        world.carryOut(down.actions)
        #expect(down.actions.contains(.restoreSystemdSlice(name: "system.slice", properties: [sliceQuota(nil)])))
        #expect(down.conflicts.map(\.description) == [
            "system.slice CPUWeight is '50', not the '1' the governor wrote: left as it is (the governor would have restored '[not set]')"
        ])
        #expect(world.target("system.slice").current == ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": "50"])
    }

    /// A weight that was not read is never changed: it could not be restored exactly.
    @Test func anUnreadWeightIsLeftAloneTheQuotaIsNot() {
        var world = GovernorWorld()
        world.targets[6].current["CPUWeight"] = nil
        let decision = world.feed(Load.crit.sample(at: 0))
        #expect(decision.actions.contains(.throttleSystemdSlice(name: "system.slice", properties: [sliceQuota(500_000)])))
        #expect(decision.audit?.skipped.contains { $0.hasPrefix("system.slice CPUWeight: its current value was not read") } == true)
    }

    @Test func aCriticalSliceKeepsItsWeight() {
        var world = GovernorWorld()
        world.feed(Load.crit.sample(at: 0))
        #expect(world.target("user.slice").current == GovernorWorld.freshSlice)
        #expect(!world.state.changes.contains { $0.target == "user.slice" })
    }
}

@Suite struct GovernorSliceWeightPersistenceTests {
    static let stateText = """
        warden-governor-state 1
        tier critical
        mode manual
        since 0
        change systemd-slice "system.slice" "system.slice" "CPUQuotaPerSecUSec" "500000" "infinity"
        change systemd-slice "system.slice" "system.slice" "CPUWeight" "1" "[not set]"

        """

    @Test func theWeightRecordReadsBackAsWritten() throws {
        let state = try GovernorState.decode(Self.stateText).get()
        #expect(state.changes.map(\.file) == ["CPUQuotaPerSecUSec", "CPUWeight"])
        #expect(state.changes.last?.previous == "[not set]")
        #expect(try GovernorState.decode(state.encoded()).get() == state)
        #expect(state.encoded().contains("change systemd-slice \"system.slice\" \"system.slice\" \"CPUWeight\" \"1\" \"[not set]\"\n"))
    }

    /// A state file from a Warden that set the quota alone: the weight was not changed, and
    /// nothing puts a weight back; the quota is restored.
    @Test(arguments: ["250", "[not set]", "1"])
    func aStateWithTheQuotaAloneRestoresTheQuotaAndLeavesTheWeight(weight: String) throws {
        let old = Self.stateText.split(separator: "\n").filter { !$0.contains("CPUWeight") }.joined(separator: "\n") + "\n"
        let state = try GovernorState.decode(old).get()
        var world = GovernorWorld()
        world.targets[6].current = ["CPUQuotaPerSecUSec": "500000", "CPUWeight": weight]
        let off = try #require(Governor.manualOff(state: state, at: instant(1), targets: world.targets, thresholds: world.thresholds))
        world.carryOut(off.actions)
        #expect(off.actions.contains(.restoreSystemdSlice(name: "system.slice", properties: [sliceQuota(nil)])))
        #expect(off.audit?.restored.map(\.file) == ["CPUQuotaPerSecUSec"])
        #expect(world.target("system.slice").current == ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": weight])
        #expect(off.state.changes.isEmpty)
    }

    /// A Warden that set the quota alone crashed in the critical tier; this one resumes:
    /// the quota's record is kept as it was, the weight is lowered now with its own record.
    @Test func aResumedTierAddsTheWeightAndKeepsTheQuotasRecord() throws {
        let old = Self.stateText.split(separator: "\n").filter { !$0.contains("CPUWeight") }
            .map { $0 == "mode manual" ? "mode automatic" : String($0) }.joined(separator: "\n") + "\n"
        var world = GovernorWorld()
        world.state = try GovernorState.decode(old).get()
        world.targets[6].current["CPUQuotaPerSecUSec"] = "500000"
        let resumed = world.feed(Load.crit.sample(at: 1))
        #expect(resumed.actions.contains(.throttleSystemdSlice(name: "system.slice", properties: [sliceWeight(1)])))
        #expect(world.state.changes.filter { $0.target == "system.slice" }.map(\.previous) == ["infinity", "[not set]"])
    }
}
