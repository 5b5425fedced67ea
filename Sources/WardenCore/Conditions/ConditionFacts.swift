/// What the condition checks read from the host, injected so the evaluator stays pure:
/// WardenLinux answers from the running system, tests from fixtures. Each question is
/// asked only when a unit's conditions need it, at the moment of the start.
public protocol ConditionFacts: Sendable {
    /// A path check (following symbolic links, except `isSymbolicLink`); nil when it
    /// cannot be told here.
    func pathTest(_ test: ConditionTest.PathTest, _ path: String) -> Bool?
    /// Whether any path matches the glob (glob(3)).
    func globMatches(_ pattern: String) -> Bool
    /// The bytes of a small file, nil when it cannot be read.
    func readFile(_ path: String) -> [UInt8]?
    /// The modification time of a path (without following a final symbolic link), nil when missing.
    func modificationTime(_ path: String) -> (seconds: Int64, nanoseconds: Int64)?

    /// `uname(2)`'s machine field, e.g. `x86_64`.
    var machine: String { get }
    /// `uname -r`.
    var kernelRelease: String { get }
    /// The kernel command line (in a container, PID 1's).
    var kernelCommandLine: String { get }
    var hostname: String { get }
    /// `/etc/machine-id`, 32 lower-case hex digits; nil when unset.
    var machineID: String? { get }
    /// The innermost virtualization, as systemd-detect-virt names it.
    var virtualization: DetectedVirtualization { get }
    /// Warden's own environment, `NAME=VALUE` each.
    var managerEnvironment: [String] { get }
    /// Warden's capability bounding set.
    var boundingCapabilities: CapabilitySet { get }
    /// True when an AC connector is online or none is known, false when every known one
    /// is offline (systemd's `on_ac_power()`).
    var onACPower: Bool { get }
    /// Whether the kernel audit subsystem can be used; nil when it cannot be told.
    var auditAvailable: Bool? { get }
    var realUserID: UInt32 { get }
    var effectiveUserID: UInt32 { get }
    /// The user name of the real UID, nil when it has none.
    var userName: String? { get }
    func userID(named name: String) -> UInt32?
    /// Real, effective and supplementary GIDs.
    var groupIDs: Set<UInt32> { get }
    func groupID(named name: String) -> UInt32?
    /// 2 for the unified cgroup hierarchy, 1 for legacy or hybrid, nil without cgroups.
    var cgroupVersion: Int? { get }
    /// The controllers available in the root cgroup (`cgroup.controllers`).
    var cgroupControllers: Set<String> { get }
    /// The machine's memory in bytes (the container's, in a container).
    var memoryBytes: UInt64 { get }
    /// The CPUs in Warden's affinity mask.
    var cpuCount: Int { get }
    /// The CPU's feature flags as /proc/cpuinfo names them.
    var cpuFlags: Set<String> { get }
    /// os-release(5): /etc/os-release, else /usr/lib/os-release.
    var osRelease: [String: String] { get }
    /// The averages of the system-wide pressure of a resource; nil when the kernel has no PSI.
    func pressure(_ resource: ConditionTest.PressureResource) -> PressureAverages?
}
