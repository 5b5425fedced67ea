/// Where one connection to `host:port` is tried, in order, and the words for its
/// failures: the part of Warden's HTTP client that the health probe (driven on the event
/// loop) and the alert webhook (blocking its own thread) share between the URL and the
/// connected socket.
///
/// A host that is a literal address is used as it is; a name from the loopback table
/// (`ProbeAddress.loopback`) maps without a lookup; any other name is resolved first.
/// Addresses are tried in order until one connects.
public struct ConnectAttempts: Hashable, Sendable {
    public let host: String
    public let port: UInt16
    public private(set) var addresses: [ProbeAddress]
    private let hostIsName: Bool
    private var nextIndex = 0
    private var failures: [Failure] = []

    private struct Failure: Hashable, Sendable {
        var address: ProbeAddress
        var reason: String
    }

    /// `literal` is the host as a numeric address, nil for a name (parsing a literal is
    /// the effects layer's: the zone of `fe80::1%eth0` names one of the host's interfaces).
    public init(host: String, port: UInt16, literal: ProbeAddress?) {
        self.host = host
        self.port = port
        hostIsName = literal == nil
        addresses = literal.map { [$0] } ?? ProbeAddress.loopback(forName: host, port: port) ?? []
    }

    /// The host is a name to look up before anything can be tried.
    public var needsLookup: Bool { addresses.isEmpty && nextIndex == 0 }

    /// The lookup's answer; the failure's reason when it gave no address.
    public mutating func resolved(_ found: [ProbeAddress]) -> String? {
        guard !found.isEmpty else { return "resolve \(host): no IPv4 or IPv6 address" }
        addresses = found
        return nil
    }

    /// `resolve example.com: Name or service not known`.
    public func lookupFailed(_ message: String) -> String { "resolve \(host): \(message)" }

    /// The next address to connect to; nil when every one was tried.
    public mutating func next() -> ProbeAddress? {
        guard nextIndex < addresses.count else { return nil }
        nextIndex += 1
        return addresses[nextIndex - 1]
    }

    /// The address being connected to failed; `reason` is the errno's text.
    public mutating func failed(_ address: ProbeAddress, reason: String) {
        failures.append(Failure(address: address, reason: reason))
    }

    /// `127.0.0.1:9000` for a literal host; `localhost:9000 (127.0.0.1)` for a name.
    public func describe(_ address: ProbeAddress) -> String {
        guard hostIsName else { return address.display }
        return "\(ProbeAddress.formatHost(host)):\(port) (\(address.host))"
    }

    /// `connect 127.0.0.1:9000: Connection refused`, or for a name with several
    /// addresses `connect localhost:9000 (127.0.0.1: Connection refused; ::1: …)`.
    public var failureReason: String {
        if failures.count == 1, let only = failures.first { return "connect \(describe(only.address)): \(only.reason)" }
        let each = failures.map { "\($0.address.host): \($0.reason)" }
        let detail = each.isEmpty ? "no address" : each.joined(separator: "; ")
        return "connect \(ProbeAddress.formatHost(host)):\(port) (\(detail))"
    }
}
