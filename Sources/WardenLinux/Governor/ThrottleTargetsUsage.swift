import Glibc
import WardenCore

/// The CPU the throttle targets used together (`GovernorSample.targetsCPUUsage`): the sum
/// of their `cpu.stat` `usage_usec` now, less the sum at the previous reading, over the
/// time between. Keeps each group's previous value, since use is a difference.
///
/// `usage_usec` counts in microseconds, so a quarter of a second is enough to judge a share
/// (`shortestSpan`), unlike `/proc/stat`'s ticks. A previous reading older than the span CPU
/// use is judged over is not used (it would spread an overload that has just begun over the
/// calm before it): a fresh one is taken, the share is `measuring`, and `readableAt` says
/// when the next sample can judge it. A sample sooner than `shortestSpan` after the last
/// judged window repeats that window's share.
///
/// A group whose directory is missing while its hierarchy is there (a component that is not
/// running, a `user.slice` nobody logged in to) uses no CPU. Any other failure, or no group
/// to read, gives no reading at all: the governor then judges CPU signals as if it did not
/// know about contenders.
public struct ThrottleTargetsUsage: Sendable {
    /// One throttle target's cgroup directory, and the root of the hierarchy it lies in.
    public struct Group: Hashable, Sendable {
        public var directory: String
        public var hierarchyRoot: String

        public init(directory: String, hierarchyRoot: String) {
            self.directory = directory
            self.hierarchyRoot = hierarchyRoot
        }
    }

    /// The shortest window a share is judged on: the same quarter of a second the first CPU
    /// use and the confirmation of a trigger after a calm spell wait for, so measuring adds
    /// no wake-up of its own.
    public static let shortestSpan = TimeSpan(usec: 250_000)

    private var baseline: [String: UInt64] = [:]
    private var baselineAt: MonotonicInstant?
    private var lastShare: Percentage?
    /// When a fresh reading can first be judged; nil when none waits.
    public private(set) var readableAt: MonotonicInstant?

    public init() {}

    /// The share of one CPU the groups used since the previous reading (`.measuring` after
    /// a fresh one); nil with the errors when they could not be read.
    public mutating func judge(
        _ groups: [Group], at now: MonotonicInstant, longestSpan: TimeSpan
    ) -> (TargetsCPUUsage?, [GovernorReadError]) {
        let outermost = Self.outermost(groups)
        guard !outermost.isEmpty else {
            forget()
            return (nil, [])
        }
        var totals: [String: UInt64] = [:]
        for group in outermost {
            switch Self.usage(of: group) {
            case .success(let usage): totals[group.directory] = usage
            case .failure(let error):
                forget()
                return (nil, [error])
            }
        }
        guard let at = baselineAt, now >= at, now.since(at) <= longestSpan else {
            baseline = totals
            baselineAt = now
            lastShare = nil
            readableAt = now.advanced(by: Self.shortestSpan)
            return (.measuring, [])
        }
        let span = now.since(at)
        if span < Self.shortestSpan { return (lastShare.map { .measured($0) } ?? .measuring, []) }
        var used: UInt64 = 0
        for (directory, total) in totals {
            // A group added since the baseline (a reload) has no start value: it counts
            // from the next window on.
            guard let previous = baseline[directory] else { continue }
            // A counter that went back is a group created again: all it counts is new.
            let (sum, overflow) = used.addingReportingOverflow(total >= previous ? total - previous : total)
            used = overflow ? .max : sum
        }
        let (scaled, overflow) = used.multipliedReportingOverflow(by: 10_000)
        let hundredths = overflow ? UInt64(Int.max) : scaled / max(span.usec, 1)
        let share = Percentage(hundredths: Int(min(hundredths, UInt64(Int.max))))
        baseline = totals
        baselineAt = now
        lastShare = share
        readableAt = nil
        return (.measured(share), [])
    }

    private mutating func forget() {
        baseline = [:]
        baselineAt = nil
        lastShare = nil
        readableAt = nil
    }

    /// `usage_usec` of the group's `cpu.stat`; 0 for a group that is not there now.
    static func usage(of group: Group) -> Result<UInt64, GovernorReadError> {
        let path = group.directory + "/cpu.stat"
        switch readSignalFile(path) {
        case .success(let text):
            do throws(CgroupParseError) {
                return .success(try CPUStat.parse(text).usageUSec)
            } catch {
                return .failure(GovernorReadError(path: path, reason: error.description))
            }
        case .failure(let error):
            if error.errno == ENOENT, !FileIO.exists(group.directory), FileIO.exists(group.hierarchyRoot + "/cgroup.procs") {
                return .success(0)
            }
            return .failure(error)
        }
    }

    /// Each directory once, and none inside another: a parent's `usage_usec` counts its
    /// children's.
    static func outermost(_ groups: [Group]) -> [Group] {
        var unique: [Group] = []
        for group in groups where !unique.contains(where: { $0.directory == group.directory }) { unique.append(group) }
        return unique.filter { group in
            !unique.contains { $0.directory != group.directory && group.directory.hasPrefix($0.directory + "/") }
        }
    }
}
