import Logging
import WardenCore
import WardenLinux

public protocol GovernorSampleSource: AnyObject {
    func sample(at now: MonotonicInstant, firedTriggers: [FiredTrigger]) -> (GovernorSample, [GovernorReadError])
    /// The PSI file whose triggers are evidence for `resource`: the protected group's (the
    /// host's when nothing is critical). Nil: no trigger for it.
    func triggerPath(_ resource: PressureResource) -> String?
    /// A host PSI file to wake up on (a look, not evidence), when the protected group is
    /// not the host. Nil: none.
    func wakeUpPath(_ resource: PressureResource) -> String?
    /// When a sample could first read a signal the last one could not (CPU use after a
    /// fresh baseline); nil when nothing waits. The governor samples then.
    var followUpAt: MonotonicInstant? { get }
    /// A host PSI file woke the governor: the next sample starts a fresh CPU-use window and
    /// asks for a follow-up, as a sample a trigger causes does.
    func pressureWokeUp()
    /// The longest span CPU use may be judged over (`GovernorThresholds.longestCPUUseSpan`),
    /// told before each sample so a reload that changes the window takes effect.
    func useLongestCPUUseSpan(_ span: TimeSpan)
    /// What the critical tier would throttle (`Governor.throttleTargets`), told before each
    /// sample: the groups whose CPU use says whether an overload has a contender.
    func useThrottleTargets(_ targets: [GovernorTarget])
}

extension GovernorSampleSource {
    public var followUpAt: MonotonicInstant? { nil }
    public func pressureWokeUp() {}
    public func useLongestCPUUseSpan(_ span: TimeSpan) {}
    public func useThrottleTargets(_ targets: [GovernorTarget]) {}
}

/// `GovernorSampler` on the real files.
public final class SystemSampleSource: GovernorSampleSource {
    var sampler: GovernorSampler

    public init(sampler: GovernorSampler) { self.sampler = sampler }

    public func sample(at now: MonotonicInstant, firedTriggers: [FiredTrigger]) -> (GovernorSample, [GovernorReadError]) {
        sampler.sample(at: now, firedTriggers: firedTriggers)
    }

    public func triggerPath(_ resource: PressureResource) -> String? { sampler.pressurePath(resource) }

    public var followUpAt: MonotonicInstant? {
        Governor.nextLook(among: [sampler.cpuUseReadableAt, sampler.targetsUsageReadableAt].compactMap { $0 })
    }

    public func pressureWokeUp() { sampler.freshCPUWindowRequested = true }

    public func useLongestCPUUseSpan(_ span: TimeSpan) { sampler.longestCPUUseSpan = span }

    public func useThrottleTargets(_ targets: [GovernorTarget]) { sampler.throttleTargets = targets }

    public func wakeUpPath(_ resource: PressureResource) -> String? {
        guard sampler.protectedGroup != nil, sampler.cgroups != nil else { return nil }
        return sampler.host.procRoot + "/pressure/" + resource.rawValue
    }
}

/// How a `GovernorDriver` runs.
