import Glibc
import Logging
import Synchronization
import WardenCore
import WardenLinux

/// What `startGovernor` may be given instead of the real world (tests).
/// Handed to the loop thread once, which alone uses what it holds from then on.
public struct GovernorWiring: @unchecked Sendable {
    /// The effects; nil: Warden's cgroup subtree (when it manages one) and systemd's D-Bus.
    public var effects: GovernorEffects?
    /// The samples; nil: the host's /proc and the protected group's PSI files.
    public var sampleSource: GovernorSampleSource?
    public var automaticWakeups: Bool
    public var clock: @Sendable () -> MonotonicInstant
    public var bootID: String?

    public init(
        effects: GovernorEffects? = nil, sampleSource: GovernorSampleSource? = nil, automaticWakeups: Bool = true,
        clock: @escaping @Sendable () -> MonotonicInstant = GovernorDriver.monotonicNow, bootID: String? = currentBootID()
    ) {
        self.effects = effects
        self.sampleSource = sampleSource
        self.automaticWakeups = automaticWakeups
        self.clock = clock
        self.bootID = bootID
    }
}

/// The supervisor's governor: started by `warden run` after the control socket, stood
/// down when the last component has stopped (before the cgroup subtree is removed).
/// Kept in a side table keyed by the supervisor's identity, as the control socket is:
/// this extension adds no stored properties to `Supervisor`.
extension Supervisor {
    /// Creates the governor on the loop and starts it (resume or restore from the state
    /// file, PSI triggers or sampling). Returns it for tests.
    @discardableResult
    public func startGovernor(wiring: GovernorWiring = GovernorWiring()) -> GovernorDriver {
        let driver = loop.executeAndWait { [unowned self] () -> GovernorAttachment in
            let effects = wiring.effects ?? defaultGovernorEffects()
            let source = wiring.sampleSource ?? defaultSampleSource(effects)
            let dispatcher = GovernorAlertDispatcher(
                sinks: WebhookAlerts.sinks(configuration.settings.governor, logger: logger),
                onFailure: { [logger] error in logger.warning("governor alert not delivered: \(error)") })
            let driver = GovernorDriver(
                configuration: { [unowned self] in self.configuration }, effects: effects, source: source,
                options: GovernorDriverOptions(
                    stateDirectory: options.stateDirectory, automaticWakeups: wiring.automaticWakeups,
                    clock: wiring.clock, bootID: wiring.bootID),
                logger: logger, alerts: dispatcher)
            governorSideTable.withLock { $0[ObjectIdentifier(self)] = GovernorAttachment(driver: driver) }
            // Read at each scrape, on this loop thread, like the driver itself.
            governorMetricsSource = { [weak driver] in driver?.metricsSnapshot }
            driver.start(on: loop)
            return GovernorAttachment(driver: driver)
        }.driver
        return driver
    }

    /// The governor of this supervisor, if one was started.
    var governor: GovernorDriver? {
        governorSideTable.withLock { $0[ObjectIdentifier(self)]?.driver }
    }

    /// Called by `finish()` (loop thread): restore everything before Warden exits.
    func shutDownGovernor() {
        guard let driver = governorSideTable.withLock({ $0.removeValue(forKey: ObjectIdentifier(self))?.driver }) else { return }
        driver.shutDown()
    }

    /// Runs `body` with the governor on the loop thread (tests and benchmarks).
    public func withGovernor<T: Sendable>(_ body: @escaping @Sendable (GovernorDriver?) -> T) -> T {
        loop.executeAndWait { [unowned self] in body(self.governor) }
    }

    func defaultGovernorEffects() -> GovernorEffects {
        let (slices, reason) = SystemdSliceControl.connect()
        let own = (try? LocalFileSystem().readFile("/proc/self/cgroup")).flatMap(ProcessCgroup.unifiedPath)
        return GovernorEffects(
            manager: cgroups?.manager,
            groupsUnavailableReason: "Warden runs without a cgroup subtree of its own (see the start-up log)",
            slices: slices, slicesUnavailableReason: reason, wardenCgroup: own)
    }

    func defaultSampleSource(_ effects: GovernorEffects) -> GovernorSampleSource {
        let (protected, note) = GovernorDriver.protectedGroup(of: GovernorTarget.targets(for: configuration))
        if let note { logger.notice("governor: \(note)") }
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return SystemSampleSource(
            sampler: GovernorSampler(
                host: HostSignalReader(), cgroups: effects.reader, protectedGroup: effects.reader == nil ? nil : protected,
                onlineCPUs: online))
    }

    // MARK: Control (loop thread)

    func answerEmergency(_ request: ControlRequest, _ operation: ControlOperation, peer: ControlPeer) -> ControlResponse {
        let id = request.id
        guard let driver = governor else {
            return .failure(id: id, ControlError(.unavailable, "this daemon runs no governor"))
        }
        if operation != .emergencyStatus && phase != .running {
            return .failure(id: id, ControlError(.unavailable, "Warden is \(phase == .idle ? "not started yet" : "shutting down")"))
        }
        switch operation {
        case .emergencyOn:
            let manual: ManualEmergencyRequest
            switch (request.emergency ?? ControlEmergencyRequest()).manualRequest() {
            case .success(let value): manual = value
            case .failure(let error): return .failure(id: id, error)
            }
            switch driver.manualOn(manual, requestedBy: "\(peer)") {
            case .success(let status):
                return ControlResponse(id: id, message: "emergency on: tier \(status.tier), \(status.changes.count) value(s) changed", emergency: status)
            case .failure(let error):
                return .failure(id: id, error)
            }
        case .emergencyOff:
            switch driver.manualOff(requestedBy: "\(peer)") {
            case .success(let outcome): return ControlResponse(id: id, message: outcome.message, emergency: outcome.status)
            case .failure(let error): return .failure(id: id, error)
            }
        default:
            return ControlResponse(id: id, emergency: driver.status())
        }
    }
}

struct GovernorAttachment: @unchecked Sendable {
    let driver: GovernorDriver
}

/// Side table: supervisor identity → its governor.
let governorSideTable = Mutex<[ObjectIdentifier: GovernorAttachment]>([:])
