import Logging
import Testing
import WardenCore
import WardenLinux

@testable import WardenRuntime

/// `ThrottleSlices=` through the driver, over `RecordingSliceControl`: the daemon's tiers,
/// `warden emergency` without a daemon, a SIGKILLed daemon's record and a state file from
/// a Warden that set the quota alone. The slice's `CPUWeight` goes with its quota in one
/// `SetUnitProperties` and comes back exactly, systemd's unset included.
@Suite(.serialized) struct GovernorSliceWeightDriverTests {
    /// Warden in a slice of its own, so both of systemd's slices may be throttled.
    static let wardenCgroup = "/trading.slice/warden.service"

    static func driver(
        _ bed: GovernorBed, _ slices: RecordingSliceControl, source: String = "daemon",
        beforeAction: ((GovernorAction) -> Void)? = nil
    ) throws -> GovernorDriver {
        let manager = try CgroupManager(rootPath: bed.cgroupRoot, options: CgroupManager.Options(requireCgroup2: false))
        let effects = GovernorEffects(manager: manager, slices: slices, slicesUnavailableReason: nil, wardenCgroup: Self.wardenCgroup)
        effects.beforeAction = beforeAction
        return bed.driver(effects: effects, source: source)
    }

    /// What the slices hold before, and the call that restores them.
    static let befores: [(weight: String, restoreCall: String)] = [
        ("[not set]", "CPUWeight=[not set] CPUQuotaPerSecUSec=infinity"),
        ("250", "CPUWeight=250 CPUQuotaPerSecUSec=infinity"),
    ]

    @Test(arguments: befores)
    func theDaemonsTiersLowerTheWeightWithTheQuotaAndRestoreIt(weight: String, restoreCall: String) throws {
        let bed = try GovernorBed()
        let slices = RecordingSliceControl()
        for slice in ["system.slice", "user.slice"] { slices.values[slice]?["CPUWeight"] = weight }
        var savedFirst = 0
        let driver = try Self.driver(bed, slices) { action in
            // The record is in the state file before systemd is asked.
            if case .throttleSystemdSlice(let name, let properties) = action {
                for property in properties {
                    let text = GovernorSliceProperty.text(of: property)!
                    #expect(bed.stateText.contains("\"\(name)\" \"\(property.name)\" \"\(text)\" \"\(slices.values[name]![property.name]!)\""))
                    savedFirst += 1
                }
            }
        }
        driver.start(on: bed.loop)
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        #expect(slices.calls == ["system.slice CPUQuotaPerSecUSec=500000 CPUWeight=1", "user.slice CPUQuotaPerSecUSec=500000 CPUWeight=1"])
        #expect(savedFirst == 4)
        #expect(slices.weights == ["system.slice": "1", "user.slice": "1"])
        #expect(bed.capture.firstIndex("user.slice CPUWeight: '\(weight)' → '1'") != nil)
        // The status lists both, with the value to restore.
        let rows = driver.status().changes.filter { $0.kind == "systemd-slice" }.map { "\($0.target) \($0.file) \($0.written) \($0.previous)" }
        #expect(rows == [
            "system.slice CPUQuotaPerSecUSec 500000 infinity", "system.slice CPUWeight 1 \(weight)",
            "user.slice CPUQuotaPerSecUSec 500000 infinity", "user.slice CPUWeight 1 \(weight)",
        ])
        bed.source.cpuPressurePercent = 1
        driver.evaluate()
        bed.clock.advance(.seconds(61))
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        #expect(slices.calls.suffix(2).sorted() == ["system.slice " + restoreCall, "user.slice " + restoreCall])
        #expect(slices.values["user.slice"] == ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": weight])
        #expect(slices.values["system.slice"] == ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": weight])
        #expect(!bed.stateText.contains("\nchange "))
    }

    /// `warden emergency on|status|off` without a daemon: the status text shows the weight's
    /// row next to the quota's; off puts both back.
    @Test func withoutADaemonOnStatusOffCarryTheWeight() throws {
        let bed = try GovernorBed(governor: "Enabled=no\nThrottleSlices=user.slice\n")
        let slices = RecordingSliceControl()
        slices.values["user.slice"]?["CPUWeight"] = "80"
        let driver = try Self.driver(bed, slices, source: "direct")
        driver.start(on: bed.loop)
        _ = try driver.manualOn(
            ManualEmergencyRequest(cpuQuota: CPUQuota(perSecondUSec: 300_000), targets: ["user.slice"]), requestedBy: "test"
        ).get()
        #expect(slices.calls == ["user.slice CPUQuotaPerSecUSec=300000 CPUWeight=1"])
        let text = driver.status().renderText()
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(lines.contains("user.slice CPUQuotaPerSecUSec 300000 infinity"), "\(text)")
        #expect(lines.contains("user.slice CPUWeight 1 80"), "\(text)")
        #expect(bed.stateText.contains("change systemd-slice \"user.slice\" \"user.slice\" \"CPUWeight\" \"1\" \"80\"\n"))
        let off = try driver.manualOff(requestedBy: "test", standDownAutomatic: true).get()
        #expect(off.message.hasPrefix("emergency off: 2 value(s) restored"))
        #expect(slices.calls.last == "user.slice CPUWeight=80 CPUQuotaPerSecUSec=infinity")
        #expect(slices.values["user.slice"] == ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": "80"])
    }

    /// A daemon SIGKILLed while throttling: the next Warden (or `warden emergency off`
    /// without one) finds both records in the state file and restores both.
    @Test func aKilledDaemonsWeightIsRestoredFromTheStateFile() throws {
        let bed = try GovernorBed()
        let slices = RecordingSliceControl()
        do {
            let crashed = try Self.driver(bed, slices)
            crashed.start(on: bed.loop)
            bed.source.cpuPressurePercent = 40
            crashed.evaluate()
        }
        #expect(slices.weights == ["system.slice": "1", "user.slice": "1"])
        bed.source.cpuPressurePercent = 1
        let direct = try Self.driver(bed, slices, source: "direct")
        _ = direct.loadState()
        #expect(direct.state.changes.filter { $0.file == "CPUWeight" }.map(\.previous) == ["[not set]", "[not set]"])
        _ = try direct.manualOff(requestedBy: "test", standDownAutomatic: true).get()
        #expect(slices.values["user.slice"] == RecordingSliceControl.fresh)
        #expect(slices.values["system.slice"] == RecordingSliceControl.fresh)
    }

    /// A state file of a Warden that set the quota alone: off restores the quota and makes
    /// no call about the weight, whatever it is now.
    @Test func aStateFileWithTheQuotaAloneLeavesTheWeight() throws {
        let bed = try GovernorBed(governor: "Enabled=no\n")
        writeText(
            bed.stateDirectory + "/" + GovernorStateFile.fileName,
            """
            warden-governor-state 1
            tier critical
            mode manual
            since 0
            boot-id "boot-1"
            change systemd-slice "user.slice" "user.slice" "CPUQuotaPerSecUSec" "500000" "infinity"

            """)
        let slices = RecordingSliceControl()
        slices.values["user.slice"] = ["CPUQuotaPerSecUSec": "500000", "CPUWeight": "40"]
        let driver = try Self.driver(bed, slices, source: "direct")
        _ = driver.loadState()
        _ = try driver.manualOff(requestedBy: "test").get()
        #expect(slices.calls == ["user.slice CPUQuotaPerSecUSec=infinity"])
        #expect(slices.values["user.slice"] == ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": "40"])
    }

    /// systemd not answering while a slice is throttled: nothing is decided, the record stays.
    @Test func anUnreadableSliceKeepsItsRecords() throws {
        let bed = try GovernorBed()
        let slices = RecordingSliceControl()
        let driver = try Self.driver(bed, slices)
        driver.start(on: bed.loop)
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        slices.failure = SystemdBusError(operation: "Get", unit: "user.slice", errorMessage: "timed out", errno: 110)
        bed.source.cpuPressurePercent = 1
        driver.evaluate()
        bed.clock.advance(.seconds(61))
        driver.evaluate()
        #expect(bed.capture.firstIndex("a slice it changed cannot be read (reading system.slice CPUQuotaPerSecUSec, CPUWeight: Get user.slice: timed out") != nil)
        #expect(bed.stateText.contains("\"user.slice\" \"CPUWeight\" \"1\" \"[not set]\""))
        #expect(driver.state.tier == .critical)
        // systemd answers again: the calm spell starts, and a cooldown later both are back.
        slices.failure = nil
        driver.evaluate()
        bed.clock.advance(.seconds(61))
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        #expect(slices.values["user.slice"] == RecordingSliceControl.fresh)
    }
}
