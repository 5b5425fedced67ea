/// The checks of systemd 252's `Condition…=` and `Assert…=` keys (systemd.unit(5),
/// "Conditions and Asserts"), named by what follows `Condition`/`Assert` in the key.
public enum ConditionKind: String, CaseIterable, Hashable, Sendable {
    case architecture = "Architecture"
    case firmware = "Firmware"
    case virtualization = "Virtualization"
    case host = "Host"
    case kernelCommandLine = "KernelCommandLine"
    case kernelVersion = "KernelVersion"
    case credential = "Credential"
    case environment = "Environment"
    case security = "Security"
    case capability = "Capability"
    case acPower = "ACPower"
    case needsUpdate = "NeedsUpdate"
    case firstBoot = "FirstBoot"
    case pathExists = "PathExists"
    case pathExistsGlob = "PathExistsGlob"
    case pathIsDirectory = "PathIsDirectory"
    case pathIsSymbolicLink = "PathIsSymbolicLink"
    case pathIsMountPoint = "PathIsMountPoint"
    case pathIsReadWrite = "PathIsReadWrite"
    case pathIsEncrypted = "PathIsEncrypted"
    case directoryNotEmpty = "DirectoryNotEmpty"
    case fileNotEmpty = "FileNotEmpty"
    case fileIsExecutable = "FileIsExecutable"
    case user = "User"
    case group = "Group"
    case controlGroupController = "ControlGroupController"
    case memory = "Memory"
    case cpus = "CPUs"
    case cpuFeature = "CPUFeature"
    case osRelease = "OSRelease"
    case memoryPressure = "MemoryPressure"
    case cpuPressure = "CPUPressure"
    case ioPressure = "IOPressure"

    /// systemd 252 has `ConditionFirmware=` but no `AssertFirmware=`.
    public var hasAssert: Bool { self != .firmware }

    /// The key: `ConditionPathExists` or `AssertPathExists`.
    public func key(assert: Bool) -> String { (assert ? "Assert" : "Condition") + rawValue }

    /// Every `Condition…`/`Assert…` key of systemd 252.
    public static let allKeys: [String] =
        allCases.map { $0.key(assert: false) } + allCases.filter(\.hasAssert).map { $0.key(assert: true) }

    /// Keys whose value is used as written: a pressure threshold is a percentage, whose
    /// `%` is not a specifier.
    public static let verbatimKeys: Set<String> = Set(
        [ConditionKind.memoryPressure, .cpuPressure, .ioPressure].flatMap { [$0.key(assert: false), $0.key(assert: true)] })

    /// The kind a key names, and whether it is an assert.
    public static func parse(key: String) -> (kind: ConditionKind, assert: Bool)? {
        for (prefix, assert) in [("Condition", false), ("Assert", true)] where key.hasPrefix(prefix) {
            guard let kind = ConditionKind(rawValue: String(key.dropFirst(prefix.count))) else { return nil }
            if assert && !kind.hasAssert { return nil }
            return (kind, assert)
        }
        return nil
    }

    /// The accepted syntax, for the reference.
    public var syntax: String {
        switch self {
        case .architecture: "architecture name (x86-64, arm64, …) or native"
        case .firmware: "uefi | device-tree | device-tree-compatible(VALUE) | smbios-field(FIELD OP VALUE)"
        case .virtualization: "boolean, vm, container, private-users or a technology (kvm, qemu, docker, podman, lxc, …)"
        case .host: "hostname glob or machine ID"
        case .kernelCommandLine: "WORD or WORD=VALUE"
        case .kernelVersion: "expressions [OP]VERSION; OP one of = != < <= == <> >= > $= !$= ($= when omitted)"
        case .credential: "credential name"
        case .environment: "NAME or NAME=VALUE"
        case .security: "selinux | apparmor | tomoyo | ima | smack | audit | uefi-secureboot | tpm2"
        case .capability: "capability name (CAP_…)"
        case .acPower, .firstBoot: "boolean"
        case .needsUpdate: "/etc or /var"
        case .pathExistsGlob: "absolute path glob"
        case .pathExists, .pathIsDirectory, .pathIsSymbolicLink, .pathIsMountPoint, .pathIsReadWrite,
            .pathIsEncrypted, .directoryNotEmpty, .fileNotEmpty, .fileIsExecutable:
            "absolute path"
        case .user: "user name, UID or @system"
        case .group: "group name or GID"
        case .controlGroupController: "controller names (cpu io memory pids …), or v1 or v2"
        case .memory: "[OP]SIZE; OP one of < <= = == != <> >= > (>= when omitted)"
        case .cpus: "[OP]COUNT; OP one of < <= = == != <> >= > (>= when omitted)"
        case .cpuFeature: "CPUID feature name (sse4_2, avx2, …)"
        case .osRelease: "KEY OP VALUE; OP one of = != < <= == <> >= > $= !$="
        case .memoryPressure, .cpuPressure, .ioPressure: "[SLICE:]N%[/10sec|/1min|/5min]"
        }
    }

    /// What must hold, as a clause, for the reference.
    public var meaning: String {
        switch self {
        case .architecture: "the machine's architecture (uname, in systemd's names) is the one named"
        case .firmware: "the firmware is of the type named, or the SMBIOS field (/sys/class/dmi/id) compares as written"
        case .virtualization: "Warden runs in the virtualization named (detected as systemd-detect-virt does; the innermost counts)"
        case .host: "the hostname matches the glob, or the machine ID is the one named"
        case .kernelCommandLine: "the option is on the kernel command line (/proc/cmdline; PID 1's in a container)"
        case .kernelVersion: "the kernel release (uname -r) satisfies every expression"
        case .credential: "a credential of that name was passed to Warden ($CREDENTIALS_DIRECTORY)"
        case .environment: "the variable is set (to the value, when one is given) in Warden's own environment"
        case .security: "the security technology is enabled"
        case .capability: "the capability is in Warden's bounding set"
        case .acPower: "the machine is on AC power (yes) or on battery only (no)"
        case .needsUpdate: "/usr is newer than the directory's .updated stamp"
        case .firstBoot: "the machine boots for the first time (/run/systemd/first-boot, or systemd.condition-first-boot=)"
        case .pathExists: "the path exists"
        case .pathExistsGlob: "a path matching the glob exists"
        case .pathIsDirectory: "the path is a directory"
        case .pathIsSymbolicLink: "the path is a symbolic link"
        case .pathIsMountPoint: "the path is a mount point"
        case .pathIsReadWrite: "the path's file system is mounted read-write"
        case .pathIsEncrypted: "the path's file system is on a dm-crypt block device"
        case .directoryNotEmpty: "the path is a directory with an entry (hidden and backup files do not count)"
        case .fileNotEmpty: "the path is a regular file of non-zero size"
        case .fileIsExecutable: "the path is a regular file marked executable"
        case .user: "Warden runs as the user named (real or effective UID)"
        case .group: "Warden has the group (real, effective or supplementary)"
        case .controlGroupController: "the cgroup controllers are available, or the hierarchy is of the version named"
        case .memory: "the machine's memory (the container's, in a container) compares as written"
        case .cpus: "the number of CPUs in Warden's affinity mask compares as written"
        case .cpuFeature: "the CPU has the feature (x86 only)"
        case .osRelease: "every os-release(5) field compares as written (a missing field is empty)"
        case .memoryPressure, .cpuPressure, .ioPressure:
            "the system's pressure (PSI, full, else some) over the window is at most the threshold"
        }
    }

    /// How Warden's check differs from systemd's, where it does.
    public var difference: String? {
        switch self {
        case .cpuFeature: "Warden reads /proc/cpuinfo's flags rather than CPUID itself; the names are systemd's"
        case .controlGroupController:
            "a BPF pseudo-controller (bpf-firewall, …) is unmet off the unified hierarchy and cannot be evaluated on it (treated as met, with a warning)"
        case .memoryPressure, .cpuPressure, .ioPressure:
            "a slice's pressure (SLICE:N%) cannot be evaluated before the component runs: treated as met, with a warning; the value is read verbatim (no % specifiers)"
        case .security: "audit is treated as met, with a warning, when the audit socket fails for another reason than its absence"
        default: nil
        }
    }
}
