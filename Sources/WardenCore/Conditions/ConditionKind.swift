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

    /// What it checks, for the reference.
    public var meaning: String {
        switch self {
        case .architecture: "the machine's architecture (uname)"
        case .firmware: "the firmware type or an SMBIOS field (/sys/class/dmi/id)"
        case .virtualization: "the virtualization Warden runs in, detected as systemd-detect-virt does"
        case .host: "the hostname or the machine ID"
        case .kernelCommandLine: "an option on the kernel command line (/proc/cmdline)"
        case .kernelVersion: "the kernel release (uname -r)"
        case .credential: "a credential passed to Warden ($CREDENTIALS_DIRECTORY)"
        case .environment: "a variable in Warden's own environment"
        case .security: "a security technology being enabled"
        case .capability: "a capability in Warden's bounding set"
        case .acPower: "the machine being on AC power"
        case .needsUpdate: "/usr being newer than the directory's .updated stamp"
        case .firstBoot: "the machine booting for the first time (no initialized /etc/machine-id)"
        case .pathExists: "the path existing"
        case .pathExistsGlob: "a path matching the glob existing"
        case .pathIsDirectory: "the path being a directory"
        case .pathIsSymbolicLink: "the path being a symbolic link"
        case .pathIsMountPoint: "the path being a mount point"
        case .pathIsReadWrite: "the path's file system being mounted read-write"
        case .pathIsEncrypted: "the path's file system being on an encrypted block device"
        case .directoryNotEmpty: "the path being a directory with an entry"
        case .fileNotEmpty: "the path being a regular file of non-zero size"
        case .fileIsExecutable: "the path being an executable regular file"
        case .user: "the user Warden runs as"
        case .group: "a group of Warden's (real, effective or supplementary)"
        case .controlGroupController: "cgroup controllers being available, or the cgroup hierarchy version"
        case .memory: "the machine's memory (the container's, in a container)"
        case .cpus: "the CPUs in Warden's affinity mask"
        case .cpuFeature: "a CPU feature"
        case .osRelease: "a field of os-release(5)"
        case .memoryPressure, .cpuPressure, .ioPressure: "the system's pressure (PSI) being at most a threshold"
        }
    }
}
