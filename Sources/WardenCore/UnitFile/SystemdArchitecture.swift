/// systemd's names for CPU architectures (systemd.unit(5), `ConditionArchitecture=`), the
/// value of `%a`, from the kernel's `uname -m`. systemd does not pass `uname -m` through:
/// it folds the x86 and arm sub-models into one name each.
public enum SystemdArchitecture {
    /// The name for the machine `uname -m` reports, nil for one systemd has no name for.
    /// `littleEndian` tells the byte order where `uname -m` does not (mips, ppc).
    public static func name(unameMachine machine: String, littleEndian: Bool = true) -> String? {
        if let fixed = exact[machine] { return fixed }
        switch machine {
        case "mips", "mips64":
            return littleEndian ? machine + "-le" : machine
        case "ppc64":
            return littleEndian ? "ppc64-le" : "ppc64"
        default:
            break
        }
        // armv4l … armv8l are arm; armv4b … armv8b and armeb are arm-be.
        if machine.hasPrefix("arm") {
            return machine.hasSuffix("b") ? "arm-be" : "arm"
        }
        if machine.hasPrefix("sh") {
            return machine == "sh64" || machine == "sh5" ? "sh64" : "sh"
        }
        return nil
    }

    private static let exact: [String: String] = [
        "x86_64": "x86-64", "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86",
        "aarch64": "arm64", "aarch64_be": "arm64-be",
        "ppc64le": "ppc64-le", "ppc": "ppc", "ppcle": "ppc-le",
        "ia64": "ia64", "parisc": "parisc", "parisc64": "parisc64",
        "s390": "s390", "s390x": "s390x", "sparc": "sparc", "sparc64": "sparc64",
        "alpha": "alpha", "m68k": "m68k", "tilegx": "tilegx", "crisv32": "cris",
        "arc": "arc", "arceb": "arc-be", "riscv32": "riscv32", "riscv64": "riscv64",
        "loongarch64": "loongarch64",
    ]
}
