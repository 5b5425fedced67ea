import CLibcap
import Glibc

/// What the running kernel knows about capabilities, through libcap. The spawn path
/// itself uses raw `capset`/`prctl` (no allocation is allowed in the child).
public enum Capabilities {
    /// The highest capability number the running kernel supports (40 on Linux 5.9+).
    /// A unit naming a higher one must be rejected: the kernel would refuse it at spawn.
    public static var lastSupportedCapability: Int { Int(cap_max_bits()) - 1 }

    /// Bit mask of every capability the kernel supports.
    public static var allSupported: UInt64 {
        let last = min(lastSupportedCapability, 63)
        return last == 63 ? .max : (UInt64(1) << UInt64(last + 1)) - 1
    }

    /// libcap's name for a capability (`cap_net_bind_service`), or its number as text.
    public static func name(of capability: Int) -> String {
        guard let text = cap_to_name(cap_value_t(capability)) else { return "capability \(capability)" }
        defer { cap_free(text) }
        return String(cString: text)
    }

    /// The number of a capability named as in unit files (`CAP_NET_BIND_SERVICE`, any
    /// case), or nil when libcap does not know it.
    public static func number(named name: String) -> Int? {
        var value: cap_value_t = 0
        guard cap_from_name(name.lowercased(), &value) == 0 else { return nil }
        return Int(value)
    }
}
