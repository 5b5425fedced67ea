/// The innermost virtualization, as systemd-detect-virt reports it.
public struct DetectedVirtualization: Hashable, Sendable {
    /// A container technology (`docker`, `podman`, `lxc`, …), nil outside containers.
    public var container: String?
    /// A virtual machine technology (`kvm`, `qemu`, …), nil on bare metal.
    public var virtualMachine: String?
    /// In a user namespace (`private-users`).
    public var privateUsers: Bool

    public init(container: String? = nil, virtualMachine: String? = nil, privateUsers: Bool = false) {
        self.container = container
        self.virtualMachine = virtualMachine
        self.privateUsers = privateUsers
    }

    /// What `systemd-detect-virt` prints: the container if any, else the VM, else `none`.
    public var innermost: String { container ?? virtualMachine ?? "none" }
}
