/// Which of the `ThrottleSlices=` an emergency may throttle: `warden emergency on` without
/// `--target` takes the host's slices (default `system.slice user.slice`) minus every one
/// that holds a protected process, each left out with its reason, since throttling it
/// would throttle what the emergency is meant to protect.
public enum ThrottleSliceGuard {
    /// A slice left out, and why.
    public struct Skipped: Hashable, Sendable, CustomStringConvertible {
        public var slice: String
        public var holders: [String]

        public var description: String {
            "\(slice) is not throttled: it holds \(holders.joined(separator: ", "))"
        }
    }

    /// `slices` split into those that may be throttled (in order) and those left out.
    public static func split(_ slices: [String], protecting protected: [ProtectedProcess]) -> (kept: [String], skipped: [Skipped]) {
        var kept: [String] = []
        var skipped: [Skipped] = []
        for slice in slices {
            let holders = protected.filter { GovernorTarget.holds(slice: slice, cgroup: $0.cgroup) }.map(\.what)
            if holders.isEmpty {
                kept.append(slice)
            } else {
                skipped.append(Skipped(slice: slice, holders: holders))
            }
        }
        return (kept, skipped)
    }
}
