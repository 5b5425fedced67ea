/// The CPU the throttle targets used together: the evidence that an overload has a
/// contender the critical tier could hold back (`GovernorSample.targetsCPUUsage`).
public enum TargetsCPUUsage: Hashable, Sendable, CustomStringConvertible {
    /// Over the sample's window they used this share of one CPU (`150%` is one and a half
    /// CPUs).
    case measured(Percentage)
    /// A first reading was just taken (the last one is older than the span CPU use is
    /// judged over, or the targets changed): the share is known at the next sample, which
    /// the sampler asks for.
    case measuring

    public var description: String {
        switch self {
        case .measured(let share): "\(share) of a CPU"
        case .measuring: "being measured"
        }
    }

    /// True when the targets used at least `share` of one CPU.
    public func contends(atLeast share: Percentage) -> Bool {
        if case .measured(let used) = self { return used >= share }
        return false
    }
}
