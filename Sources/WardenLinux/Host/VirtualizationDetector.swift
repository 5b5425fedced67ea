import CWardenShims
import WardenCore

/// Which virtualization Warden runs in, in the order and with the names of
/// systemd-detect-virt (src/basic/virt.c): a container first (/run/systemd/container,
/// `container=` in PID 1's environment, then /run/.containerenv for podman and
/// /.dockerenv for docker; WSL and OpenVZ by their /proc traces), then a VM (the
/// /sys/class/dmi/id vendor strings, User Mode Linux in /proc/cpuinfo, the CPUID
/// hypervisor signature, Xen's /sys/hypervisor/type).
public struct VirtualizationDetector: Sendable {
    /// Prefixed to every path, so tests can seed a directory.
    public var root: String
    /// The CPUID hypervisor signature, nil without a hypervisor bit.
    public var cpuidSignature: @Sendable () -> String?

    public init(root: String = "", cpuidSignature: @escaping @Sendable () -> String? = VirtualizationDetector.cpuid) {
        self.root = root
        self.cpuidSignature = cpuidSignature
    }

    public func detect() -> DetectedVirtualization {
        DetectedVirtualization(container: container(), virtualMachine: virtualMachine(), privateUsers: privateUsers())
    }

    // MARK: Containers

    /// systemd's `container=` values; anything else is `container-other`.
    static let containerNames: Set<String> = [
        "lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman", "rkt", "wsl", "proot", "pouch",
    ]

    func container() -> String? {
        if exists("/proc/vz"), !exists("/proc/bc") { return "openvz" }
        if let release = text("/proc/sys/kernel/osrelease"), release.contains("Microsoft") || release.contains("WSL") {
            return "wsl"
        }
        if let value = text("/run/systemd/container")?.trimmingCharacters(), !value.isEmpty { return Self.containerName(value) }
        if let environ = read("/proc/1/environ") {
            for entry in environ.split(separator: 0) {
                let variable = String(decoding: entry, as: UTF8.self)
                if variable.hasPrefix("container="), variable.count > "container=".count {
                    return Self.containerName(String(variable.dropFirst("container=".count)))
                }
            }
        }
        if exists("/run/.containerenv") { return "podman" }
        if exists("/.dockerenv") { return "docker" }
        return nil
    }

    static func containerName(_ value: String) -> String {
        if value == "oci" { return "container-other" }
        return containerNames.contains(value) ? value : "container-other"
    }

    // MARK: Virtual machines

    static let dmiVendors: [(prefix: String, name: String)] = [
        ("KVM", "kvm"), ("OpenStack", "kvm"), ("KubeVirt", "kvm"), ("Amazon EC2", "amazon"), ("QEMU", "qemu"),
        ("VMware", "vmware"), ("VMW", "vmware"), ("innotek GmbH", "oracle"), ("VirtualBox", "oracle"),
        ("Oracle Corporation", "oracle"), ("Xen", "xen"), ("Bochs", "bochs"), ("Parallels", "parallels"),
        ("BHYVE", "bhyve"), ("Hyper-V", "microsoft"), ("Apple Virtualization", "apple"),
        ("Google Compute Engine", "google"),
    ]

    static let cpuidVendors: [String: String] = [
        "XenVMMXenVMM": "xen", "KVMKVMKVM": "kvm", "Linux KVM Hv": "kvm", "TCGTCGTCGTCG": "qemu",
        "VMwareVMware": "vmware", "Microsoft Hv": "microsoft", "bhyve bhyve ": "bhyve", "QNXQVMBSQG": "qnx",
        "ACRNACRNACRN": "acrn", "SRESRESRESRE": "sre", "Apple VZ": "apple",
    ]

    func virtualMachine() -> String? {
        let dmi = dmiVendor()
        // The DMI strings name these more precisely than CPUID does.
        if let dmi, ["oracle", "xen", "amazon"].contains(dmi) { return dmi }
        if let cpuinfo = text("/proc/cpuinfo"), cpuinfo.contains("User Mode Linux") { return "uml" }
        if let signature = cpuidSignature() {
            let trimmed = String(signature.prefix { $0 != "\0" })
            if let name = Self.cpuidVendors[trimmed] ?? Self.cpuidVendors[signature] { return name }
            return dmi ?? "vm-other"
        }
        if let dmi { return dmi }
        if text("/sys/hypervisor/type")?.trimmingCharacters() == "xen" { return "xen" }
        return nil
    }

    func dmiVendor() -> String? {
        for file in ["product_name", "sys_vendor", "board_vendor", "bios_vendor", "product_version"] {
            guard let value = text("/sys/class/dmi/id/" + file) else { continue }
            for (prefix, name) in Self.dmiVendors where value.hasPrefix(prefix) { return name }
        }
        return nil
    }

    /// In a user namespace: the UID map is not the identity over the whole range.
    func privateUsers() -> Bool {
        guard let map = text("/proc/self/uid_map") else { return false }
        let fields = map.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        return fields != ["0", "0", "4294967295"]
    }

    // MARK: Reading

    private func read(_ path: String) -> [UInt8]? {
        try? FileIO.read(root + path, limit: 1 << 16).get()
    }

    private func text(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    private func exists(_ path: String) -> Bool { FileIO.exists(root + path) }

    /// The running CPU's hypervisor signature.
    public static let cpuid: @Sendable () -> String? = {
        var vendor = [CChar](repeating: 0, count: 13)
        guard warden_cpuid_hypervisor(&vendor) == 1 else { return nil }
        return String(decoding: vendor.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
