import Logging
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

/// The governor of a supervisor's stack: started by `warden run` after the control
/// socket, stood down by the supervisor when the last component has stopped (before the
/// cgroup subtree is removed), so every throttle is undone before Warden exits.
extension GovernorDriver {
    /// Creates the governor on the supervisor's loop and starts it (resume or restore from
    /// the state file, PSI triggers or sampling).
    public static func start(for supervisor: Supervisor, wiring: GovernorWiring = GovernorWiring()) -> GovernorDriver {
        supervisor.loop.executeAndWait { () -> GovernorDriver in
            let logger = supervisor.logger
            let effects = wiring.effects ?? defaultEffects(for: supervisor)
            let source = wiring.sampleSource ?? defaultSampleSource(effects, for: supervisor)
            let dispatcher = GovernorAlertDispatcher(
                sinks: WebhookAlerts.sinks(supervisor.configuration.settings.governor, logger: logger),
                onFailure: { [logger] error in logger.warning("governor alert not delivered: \(error)") })
            let driver = GovernorDriver(
                configuration: { [unowned supervisor] in supervisor.configuration }, effects: effects, source: source,
                options: GovernorDriverOptions(
                    stateDirectory: supervisor.options.stateDirectory, automaticWakeups: wiring.automaticWakeups,
                    clock: wiring.clock, bootID: wiring.bootID),
                logger: logger, alerts: dispatcher)
            supervisor.beforeExit.append { driver.shutDown() }
            driver.start(on: supervisor.loop)
            return driver
        }
    }

    static func defaultEffects(for supervisor: Supervisor) -> GovernorEffects {
        let (slices, reason) = SystemdSliceControl.connect()
        let files = LocalFileSystem()
        let own = (try? files.readFile("/proc/self/cgroup")).flatMap(ProcessCgroup.unifiedPath)
        // The components' groups: Warden's subtree, or systemd's scopes (the backend's own
        // bus connection has no short call timeout, so the governor opens its own).
        var groups: GovernorGroupControl? = supervisor.cgroups.map { CgroupfsGroupControl(manager: $0.manager) }
        var groupsReason = "Warden runs without a cgroup subtree of its own (see the start-up log)"
        if let scopes = supervisor.scopes {
            let (control, reason) = SystemdUnitGroupControl.connect(cgroupRoot: scopes.cgroupRoot)
            groups = control
            if let reason { groupsReason = "the components are systemd scopes and systemd is not reachable: \(reason)" }
        }
        let effects = GovernorEffects(
            groups: groups, groupsUnavailableReason: groupsReason,
            slices: slices, slicesUnavailableReason: reason, wardenCgroup: own,
            privateCgroupNamespace: GovernorPlacement.isPrivateCgroupNamespace(link: files.symbolicLinkTarget("/proc/self/ns/cgroup")))
        effects.componentsAreSystemdUnits = supervisor.scopes != nil
        return effects
    }

    static func defaultSampleSource(_ effects: GovernorEffects, for supervisor: Supervisor) -> GovernorSampleSource {
        let (protected, note) = protectedGroup(of: effects.targets(for: supervisor.configuration))
        if let note { supervisor.logger.notice("governor: \(note)") }
        // Load per CPU counts the CPUs Warden's cgroups let it use, not the machine's.
        let capacity = CapacityProbe.read()
        if capacity.isLimited { supervisor.logger.notice("governor: capacity within Warden's cgroups: \(capacity.summary)") }
        let online = capacity.cpus
        var sampler = GovernorSampler(
            host: HostSignalReader(), cgroups: effects.reader, protectedGroup: effects.reader == nil ? nil : protected,
            onlineCPUs: online)
        if let scopes = supervisor.scopes { sampler.systemdCgroupRoot = scopes.cgroupRoot }
        if effects.reader == nil, let own = CgroupDiscovery.discover().groupPath,
            case .success = PressureFile.read(own + "/cpu.pressure")
        {
            sampler.ownGroupDirectory = own
            supervisor.logger.notice(
                "governor: pressure judged on Warden's own cgroup \(own), which holds the components (no subtree of its own)")
        }
        return SystemSampleSource(sampler: sampler)
    }
}
