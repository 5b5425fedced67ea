/// What one `Condition…=`/`Assert…=` checks, parsed: the argument after the `|` and `!`
/// prefixes. A malformed argument is refused at load time with what was expected
/// (systemd finds most of these only when it evaluates, and counts them as unmet).
public enum ConditionTest: Hashable, Sendable {
    case architecture(String)
    case firmware(FirmwareTest)
    case virtualization(VirtualizationTest)
    /// A hostname glob, or a machine ID (32 hex digits, dashes allowed).
    case host(String)
    /// `WORD` (as is, or as the left side of an assignment) or `WORD=VALUE`.
    case kernelCommandLine(String)
    case kernelVersion([VersionExpression])
    case credential(String)
    /// `NAME` or `NAME=VALUE`.
    case environment(String)
    case security(SecurityTechnology)
    /// A capability number (`CAP_SYS_ADMIN` is 21).
    case capability(Int)
    case acPower(Bool)
    case needsUpdate(String)
    case firstBoot(Bool)
    case path(PathTest, String)
    case pathGlob(String)
    case user(UserMatch)
    case group(String)
    case controlGroupController(ControllerTest)
    case memory(ComparisonOperator, bytes: UInt64)
    case cpus(ComparisonOperator, count: UInt64)
    case cpuFeature(String)
    case osRelease([VersionExpression])
    case pressure(PressureResource, PressureThreshold)

    /// The path checks that take one absolute path.
    public enum PathTest: String, Hashable, Sendable {
        case exists, isDirectory, isSymbolicLink, isMountPoint, isReadWrite, isEncrypted
        case directoryNotEmpty, fileNotEmpty, fileIsExecutable
    }

    /// `ConditionFirmware=`.
    public enum FirmwareTest: Hashable, Sendable {
        case uefi
        case deviceTree
        case deviceTreeCompatible(String)
        /// `smbios-field(FIELD OP VALUE)`, FIELD a file of /sys/class/dmi/id/.
        case smbiosField(String, ComparisonOperator, String)
    }

    /// `ConditionVirtualization=`.
    public enum VirtualizationTest: Hashable, Sendable {
        /// A boolean: any virtualization at all (yes) or none (no).
        case any(Bool)
        case vm
        case container
        case privateUsers
        /// A technology by systemd's name (`kvm`, `docker`, …).
        case technology(String)
    }

    /// `ConditionSecurity=`.
    public enum SecurityTechnology: String, CaseIterable, Hashable, Sendable {
        case selinux, apparmor, tomoyo, ima, smack, audit
        case uefiSecureboot = "uefi-secureboot"
        case tpm2
    }

    /// `ConditionUser=`.
    public enum UserMatch: Hashable, Sendable {
        case uid(UInt32)
        case name(String)
        /// `@system`: a UID in the system range (0…999 on Debian, systemd's default).
        case system
    }

    /// `ConditionControlGroupController=`.
    public enum ControllerTest: Hashable, Sendable {
        case version(Int)
        /// Every listed controller systemd knows must be available.
        case controllers([String])
    }

    /// `ConditionMemoryPressure=` and its siblings.
    public enum PressureResource: String, Hashable, Sendable {
        case memory, cpu, io
    }

    public struct PressureThreshold: Hashable, Sendable {
        /// The slice whose group is measured; nil for the whole system.
        public var slice: String?
        /// The threshold in hundredths of a percent (systemd's permyriad).
        public var permyriad: Int
        /// The kernel's averaging window, `10`, `60` or `300` seconds.
        public var windowSeconds: Int
    }

    /// `KEY OP VALUE` (os-release) or `OP VALUE` (kernel version, `key` empty).
    public struct VersionExpression: Hashable, Sendable {
        public var key: String
        public var op: ComparisonOperator
        public var value: String
    }

    /// The architectures systemd names (`architecture_to_string()`).
    public static let architectures: [String] = [
        "x86", "x86-64", "ppc", "ppc-le", "ppc64", "ppc64-le", "ia64", "parisc", "parisc64", "s390", "s390x",
        "sparc", "sparc64", "mips", "mips-le", "mips64", "mips64-le", "alpha", "arm", "arm-be", "arm64",
        "arm64-be", "sh", "sh64", "m68k", "tilegx", "cris", "arc", "arc-be", "loongarch64", "riscv32", "riscv64",
    ]

    /// The virtualization technologies systemd names (`virtualization_to_string()`).
    public static let virtualMachines: [String] = [
        "kvm", "amazon", "qemu", "bochs", "xen", "uml", "vmware", "oracle", "microsoft", "zvm", "parallels",
        "bhyve", "qnx", "acrn", "powervm", "apple", "sre", "google", "vm-other",
    ]
    public static let containers: [String] = [
        "systemd-nspawn", "lxc-libvirt", "lxc", "openvz", "docker", "podman", "rkt", "wsl", "proot", "pouch",
        "container-other",
    ]

    /// The CPUID features `ConditionCPUFeature=` knows (systemd 252).
    public static let cpuFeatures: [String] = [
        "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr", "pge", "mca", "cmov",
        "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2", "ht", "pni", "pclmul", "monitor", "ssse3", "fma3",
        "cx16", "sse4_1", "sse4_2", "movbe", "popcnt", "aes", "xsave", "osxsave", "avx", "f16c", "rdrand", "bmi1",
        "avx2", "bmi2", "rdseed", "adx", "sha_ni", "syscall", "rdtscp", "lm", "lahf_lm", "abm", "constant_tsc",
    ]

    /// The cgroup controllers systemd knows (`cgroup_controller_to_string()`); others in
    /// `ConditionControlGroupController=` are ignored, as by systemd.
    public static let knownControllers: Set<String> = [
        "cpu", "cpuacct", "cpuset", "io", "blkio", "memory", "devices", "pids", "bpf-firewall", "bpf-devices",
        "bpf-foreign", "bpf-socket-bind", "bpf-restrict-network-interfaces",
    ]
}
