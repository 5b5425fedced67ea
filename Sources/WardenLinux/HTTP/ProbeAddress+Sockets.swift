import Glibc
import WardenCore

extension ProbeAddress {
    /// A literal address (`inet_pton`; IPv6 may carry `%scope`, an interface name or
    /// index), or nil for a name.
    init?(numericHost: String, port: UInt16) {
        var v4 = in_addr()
        if inet_pton(AF_INET, numericHost, &v4) == 1 {
            self.init(family: .ipv4, host: numericHost, port: port)
            return
        }
        let parts = numericHost.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, String(parts[0]), &v6) == 1 else { return nil }
        var scope: UInt32 = 0
        if parts.count == 2 {
            let name = String(parts[1])
            if let number = UInt32(name) {
                scope = number
            } else {
                scope = if_nametoindex(name)
                guard scope != 0 else { return nil }
            }
        }
        self.init(family: .ipv6, host: numericHost, port: port, scopeID: scope)
    }

    /// `AF_INET` or `AF_INET6`.
    var socketFamily: Int32 { family == .ipv4 ? AF_INET : AF_INET6 }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        let numeric = String(host.split(separator: "%", maxSplits: 1).first ?? "")
        if family == .ipv4 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            _ = inet_pton(AF_INET, numeric, &address.sin_addr)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_scope_id = scopeID
        _ = inet_pton(AF_INET6, numeric, &address.sin6_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}
