/// An `http://` or `https://` URL as Warden's HTTP client uses it: where to connect, and
/// the request target. No user name or password (`user@host`): a webhook carries its
/// secret in the path, and the client sends no `Authorization` header.
public struct HTTPURL: Hashable, Sendable {
    public enum Scheme: String, Hashable, Sendable {
        case http, https

        public var defaultPort: UInt16 { self == .http ? 80 : 443 }
    }

    public var scheme: Scheme
    /// A name or a numeric address; an IPv6 address without its brackets.
    public var host: String
    public var port: UInt16
    /// The path and query as the request line carries them (`/hooks/T0?x=1`); `/` when the
    /// URL has neither. The fragment (`#…`) is the reader's and never sent.
    public var target: String

    public init(scheme: Scheme, host: String, port: UInt16, target: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
    }

    /// The URL's parts, or why it is not one Warden can send to. The reason never quotes
    /// the URL (its path may hold a secret): a caller that may show it adds it.
    public static func parse(_ text: String) -> Result<HTTPURL, ValueError> {
        let name = text.prefix { $0 != ":" }
        let afterName = text[name.endIndex...]
        guard afterName.hasPrefix("://"), let scheme = Scheme(rawValue: name.lowercased()) else {
            return .failure(ValueError("the scheme is not http:// or https://"))
        }
        let rest = afterName.dropFirst(3)
        let authorityEnd = rest.firstIndex(where: Self.endsAuthority) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if authority.contains("@") {
            return .failure(ValueError("a user name or password (user@host) in the URL is not supported"))
        }
        if authority.isEmpty { return .failure(ValueError("it names no host")) }
        if authority.unicodeScalars.contains(where: { scalar in scalar.value <= 0x20 || scalar.value >= 0x7F }) {
            return .failure(ValueError("the host holds a space, a control character or a non-ASCII letter (write a name in its xn-- form)"))
        }
        let host: String
        let port: UInt16
        switch HostPort.parse(String(authority), defaultPort: scheme.defaultPort) {
        case .success(let found): (host, port) = found
        case .failure(let why): return .failure(ValueError(why.reason))
        }
        var target = rest[authorityEnd...]
        if let fragment = target.firstIndex(of: "#") { target = target[..<fragment] }
        let path = target.isEmpty || target.hasPrefix("?") ? "/" + target : String(target)
        if let why = HTTPRequest.invalidTargetReason(path) { return .failure(ValueError(why)) }
        return .success(HTTPURL(scheme: scheme, host: host, port: port, target: path))
    }

    private static func endsAuthority(_ character: Character) -> Bool {
        character == "/" || character == "?" || character == "#"
    }

    /// Host and port as a Host header and messages show them: `example.com` on the
    /// scheme's own port, `[::1]:8080` otherwise. Never the path.
    public var authority: String { HTTPRequest.authority(host: host, port: port, defaultPort: scheme.defaultPort) }
}
