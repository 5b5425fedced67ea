import Logging
import Synchronization
import Testing
import WardenCore
import WardenLinux

@testable import WardenRuntime

/// systemd's slices over a dictionary (no bus): each slice's properties as systemd reports
/// them, and every call.
final class RecordingSliceControl: GovernorSliceControl {
    /// A slice with neither `CPUQuota=` nor `CPUWeight=` set.
    static let fresh = ["CPUQuotaPerSecUSec": "infinity", "CPUWeight": "[not set]"]
    var values: [String: [String: String]] = ["system.slice": fresh, "user.slice": fresh]
    /// `SetUnitProperties` calls: `user.slice CPUQuotaPerSecUSec=500000 CPUWeight=1`.
    var calls: [String] = []
    /// Fails every call while set (systemd not answering).
    var failure: SystemdBusError?

    var quotas: [String: String] { values.mapValues { $0["CPUQuotaPerSecUSec"] ?? "-" } }
    var weights: [String: String] { values.mapValues { $0["CPUWeight"] ?? "-" } }

    /// `properties(of:)` calls: each is a D-Bus round trip to systemd in Warden.
    var reads = 0

    func properties(of slice: String) -> Result<[String: String], SystemdBusError> {
        reads += 1
        if let failure { return .failure(failure) }
        return .success(values[slice] ?? Self.fresh)
    }

    func set(_ properties: [SystemdProperty], of slice: String) -> Result<Void, SystemdBusError> {
        if let failure { return .failure(failure) }
        calls.append(slice + " " + properties.map(GovernorSliceProperty.describe).joined(separator: " "))
        for property in properties { values[slice, default: Self.fresh][property.name] = GovernorSliceProperty.text(of: property) }
        return .success(())
    }
}

/// Collects the alerts it is handed.
final class CollectingAlertSink: GovernorAlertSink, Sendable {
    let name = "collect"
    private let collected = Mutex<[GovernorAlert]>([])
    var alerts: [GovernorAlert] { collected.withLock { $0 } }
    func deliver(_ alert: GovernorAlert) -> Result<Void, GovernorAlertDeliveryError> {
        collected.withLock { $0.append(alert) }
        return .success(())
    }
}

/// Warden as a plain service in system.slice: the critical tier throttles user.slice but
/// never system.slice, and says so in status, once in the log and in one alert.
@Suite(.serialized) struct GovernorShelterDriverTests {
    @Test func theSliceHoldingWardenIsSkippedAndNamedOnce() throws {
        let bed = try GovernorBed()
        let manager = try CgroupManager(rootPath: bed.cgroupRoot, options: CgroupManager.Options(requireCgroup2: false))
        let slices = RecordingSliceControl()
        let effects = GovernorEffects(
            manager: manager, slices: slices, slicesUnavailableReason: nil, wardenCgroup: "/system.slice/warden.service")
        let capture = bed.capture
        let sink = CollectingAlertSink()
        let alerts = GovernorAlertDispatcher(sinks: [sink])
        let configuration = bed.configuration
        let clock = bed.clock
        let driver = GovernorDriver(
            configuration: { configuration }, effects: effects, source: bed.source,
            options: GovernorDriverOptions(
                stateDirectory: bed.stateDirectory, automaticWakeups: false, clock: { clock.now }, bootID: "boot-1"),
            logger: Logger(label: "test") { _ in CapturingLogHandler(capture: capture) }, alerts: alerts)
        driver.start(on: bed.loop)
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        #expect(slices.quotas["system.slice"] == "infinity")
        #expect(slices.quotas["user.slice"] == "500000")
        let line = "ThrottleSlices= system.slice is never throttled: it holds Warden itself (/system.slice/warden.service)"
        #expect(capture.lines.filter { $0.contains(line) }.count == 1)
        #expect(driver.status().notes.contains { $0.hasPrefix(line) && $0.contains("run Warden in a slice of its own") })
        alerts.drain()
        #expect(sink.alerts.filter { $0.rule == "sheltered" && $0.text.contains(line) }.count == 1)
        // The refusal by name says why.
        switch driver.manualOn(ManualEmergencyRequest(targets: ["system.slice"]), requestedBy: "test") {
        case .success: Issue.record("system.slice was throttled by hand")
        case .failure(let error): #expect(error.description.contains("it holds Warden itself"))
        }
        #expect(slices.quotas["system.slice"] == "infinity")
    }
}

/// systemd's units over the bed's plain tree, as systemd would treat them: each property
/// becomes the cgroup file systemd writes for it (`CPUQuota.cpuMaxValue` is systemd's
/// arithmetic), freeze and thaw become `cgroup.freeze`. Records every call by unit.
final class SystemdLikeGroupControl: GovernorGroupControl {
    let reader: GovernorCgroupReader
    var calls: [String] = []

    init(cgroupRoot: String) { reader = GovernorCgroupReader(cgroupRoot: cgroupRoot) }

    var record: GovernorGroupRecord { .systemdUnits(cgroupRoot: reader.cgroupRoot) }

    func write(_ writes: [CgroupWrite], to path: String, target: String) -> [String] {
        let unit = String(path.split(separator: "/").last ?? "")
        let directory = reader.cgroupRoot + "/" + path
        var failures: [String] = []
        for write in writes {
            switch GovernorUnitWrite.translating(write) {
            case .failure(let error): failures.append("\(error)")
            case .success(let change):
                calls.append("\(unit) \(change.summary)")
                switch change {
                case .freeze: writeText(directory + "/cgroup.freeze", "1\n")
                case .thaw: writeText(directory + "/cgroup.freeze", "0\n")
                case .property(let property):
                    guard case .uint64(let value) = property.value else { continue }
                    switch property.name {
                    case "CPUQuotaPerSecUSec":
                        let period = UInt64(trimmedText(readText(directory + "/cpu.max")).split(separator: " ").last ?? "") ?? 100_000
                        let text = value == .max ? "max 100000" : CPUQuota(perSecondUSec: value).cpuMaxValue(periodUSec: period)
                        writeText(directory + "/cpu.max", text + "\n")
                    case "CPUWeight": writeText(directory + "/cpu.weight", "\(value)\n")
                    case "MemoryHigh": writeText(directory + "/memory.high", (value == .max ? "max" : "\(value)") + "\n")
                    default: failures.append("unexpected \(property)")
                    }
                }
            }
        }
        return failures
    }

    func reclaim(_ bytes: UInt64, from path: String, target: String) -> [String] { [] }
}

/// `CgroupBackend=systemd`: the components are scopes in systemd's slices, and the
/// governor throttles and restores them through their units, exactly.
@Suite(.serialized) struct GovernorOnScopesTests {
    static func bed() throws -> GovernorBed {
        let bed = try GovernorBed()
        for group in ["critical.slice/warden-exec.scope", "batch.slice/warden-backtest.scope"] {
            bed.makeGroup(group, cpuMax: "max 100000", weight: "100")
        }
        return bed
    }

    static func driver(_ bed: GovernorBed, control: SystemdLikeGroupControl, wardenCgroup: String) -> GovernorDriver {
        let effects = GovernorEffects(groups: control, slices: nil, slicesUnavailableReason: "test", wardenCgroup: wardenCgroup)
        effects.componentsAreSystemdUnits = true
        return bed.driver(effects: effects)
    }

    /// The bed's stack with Warden in `wardenCgroup`, driven into the critical tier.
    static func critical(
        wardenCgroup: String, prepare: (GovernorBed) -> Void = { _ in }
    ) throws -> (GovernorBed, SystemdLikeGroupControl, GovernorDriver) {
        let bed = try Self.bed()
        prepare(bed)
        let control = SystemdLikeGroupControl(cgroupRoot: bed.cgroupRoot)
        let driver = Self.driver(bed, control: control, wardenCgroup: wardenCgroup)
        driver.start(on: bed.loop)
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        return (bed, control, driver)
    }

    @Test func theBatchSliceIsThrottledThroughItsUnitAndRestoredExactly() throws {
        let (bed, control, driver) = try Self.critical(wardenCgroup: "/system.slice/warden.service") {
            $0.makeGroup("batch.slice", cpuMax: "200000 100000", weight: "250")
        }
        #expect(control.calls.contains("batch.slice CPUQuotaPerSecUSec=500000"))
        #expect(control.calls.contains("batch.slice CPUWeight=1"))
        #expect(control.calls.contains("warden-exec.scope CPUWeight=10000"))
        #expect(bed.file("batch.slice", "cpu.max") == "50000 100000")
        #expect(bed.file("critical.slice/warden-exec.scope", "cpu.weight") == "10000")
        #expect(bed.file("critical.slice/exec.service", "cpu.weight") == "100", "the cgroupfs path is not the component's group")
        bed.source.cpuPressurePercent = 1
        driver.evaluate()
        bed.clock.advance(.seconds(61))
        driver.evaluate()
        #expect(driver.state.tier == .warning)
        #expect(control.calls.contains("batch.slice CPUQuotaPerSecUSec=2000000"))
        #expect(bed.file("batch.slice", "cpu.max") == "200000 100000")
        #expect(bed.file("batch.slice", "cpu.weight") == "250")
        #expect(bed.file("critical.slice/warden-exec.scope", "cpu.weight") == "100")
        #expect(driver.status().conflicts.isEmpty)
        #expect(!bed.stateText.contains("\nchange "))
        #expect(readText(bed.stateDirectory + "/" + GovernorStateFile.cgroupRootFileName) == "systemd-units \(bed.cgroupRoot)\n")
    }

    /// The slice that holds Warden itself is systemd's, so throttling it would throttle
    /// Warden: the batch scope inside it is throttled instead, and the slice is named.
    @Test func aSliceHoldingWardenIsNeverThrottledItsBatchScopeIs() throws {
        let (bed, control, driver) = try Self.critical(wardenCgroup: "/batch.slice/warden.service")
        #expect(bed.file("batch.slice", "cpu.max") == "max 100000")
        #expect(bed.file("batch.slice/warden-backtest.scope", "cpu.max") == "50000 100000")
        #expect(!control.calls.contains { $0.hasPrefix("batch.slice CPUQuota") })
        #expect(driver.status().notes.contains { $0.hasPrefix("batch.slice is never throttled: it holds Warden itself (/batch.slice/warden.service)") })
    }
}

@Suite struct GovernorGroupRecordTests {
    @Test(arguments: [
        GovernorGroupRecord.cgroupfs(root: "/sys/fs/cgroup/system.slice/warden.service/stack"),
        .systemdUnits(cgroupRoot: "/sys/fs/cgroup"),
    ])
    func aRecordReadsBackAsWritten(record: GovernorGroupRecord) {
        #expect(GovernorGroupRecord.parse(record.line) == record)
    }

    @Test(arguments: ["", "relative/path", "systemd-units", "systemd-units relative", "cgroupfs /x"])
    func anythingElseIsNoRecord(line: String) {
        #expect(GovernorGroupRecord.parse(line) == nil)
    }
}
