import Logging
import Synchronization
import Testing
import WardenCore
import WardenLinux

@testable import WardenRuntime

/// systemd's slices over a dictionary (no bus).
final class RecordingSliceControl: GovernorSliceControl {
    var quotas: [String: String] = ["system.slice": "infinity", "user.slice": "infinity"]
    func quota(of slice: String) -> Result<String, SystemdBusError> { .success(quotas[slice] ?? "infinity") }
    func setQuota(_ quotaPerSecUSec: UInt64?, of slice: String) -> Result<Void, SystemdBusError> {
        quotas[slice] = quotaPerSecUSec.map(String.init) ?? "infinity"
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
