/// A numeric IPv4 or IPv6 address and a port: where Warden's HTTP client (a network
/// health probe, an alert webhook) connects.
public struct ProbeAddress: Hashable, Sendable {
    public enum Family: Hashable, Sendable {
        case ipv4, ipv6
    }

    public var family: Family
    /// Numeric form: `127.0.0.1`, `::1`, `fe80::1%eth0`.
    public var host: String
    public var port: UInt16
    /// The IPv6 zone (`%eth0` as an interface index); 0 for none.
    public var scopeID: UInt32

    public init(family: Family, host: String, port: UInt16, scopeID: UInt32 = 0) {
        self.family = family
        self.host = host
        self.port = port
        self.scopeID = scopeID
    }

    /// `127.0.0.1:9000` or `[::1]:9000`.
    public var display: String { "\(Self.formatHost(host)):\(port)" }

    /// An IPv6 host in brackets, as in a URL; anything else as it is.
    public static func formatHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    /// A name every resolver answers locally, without a lookup (RFC 6761;
    /// systemd-resolved synthesizes the same records).
    enum LoopbackName {
        case exactly(String)
        /// Any name below this domain (`api.localhost`).
        case below(String)

        func matches(_ lowercased: String) -> Bool {
            switch self {
            case .exactly(let name): lowercased == name
            case .below(let domain): lowercased.hasSuffix("." + domain)
            }
        }
    }

    /// The loopback table: each name and its addresses, in the order they are tried.
    static let loopbackTable: [(name: LoopbackName, addresses: [(Family, String)])] = [
        (.exactly("localhost"), [(.ipv4, "127.0.0.1"), (.ipv6, "::1")]),
        (.below("localhost"), [(.ipv4, "127.0.0.1"), (.ipv6, "::1")]),
        (.exactly("localhost.localdomain"), [(.ipv4, "127.0.0.1"), (.ipv6, "::1")]),
        (.exactly("ip6-localhost"), [(.ipv6, "::1")]),
        (.exactly("ip6-loopback"), [(.ipv6, "::1")]),
    ]

    /// The loopback addresses of a name from the loopback table (matched without regard
    /// to case or a final dot), IPv4 first; nil for any other name.
    public static func loopback(forName name: String, port: UInt16) -> [ProbeAddress]? {
        var lower = name.lowercased()
        if lower.hasSuffix(".") { lower.removeLast() }
        guard let row = loopbackTable.first(where: { $0.name.matches(lower) }) else { return nil }
        return row.addresses.map { ProbeAddress(family: $0.0, host: $0.1, port: port) }
    }
}
