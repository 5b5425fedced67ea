/// An HTTP/1.1 request as Warden's one client writes it, for the health probe's `GET` and
/// the alert webhook's `POST`: the request line, `Host`, `Connection: close` (the client
/// reads one answer, then closes), the caller's fields, `Content-Length` whenever there is
/// a body or the method expects one, then the body.
public struct HTTPRequest: Hashable, Sendable {
    public struct Field: Hashable, Sendable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var method: String
    /// Path and query, starting with `/`.
    public var target: String
    /// The `Host` field's value: `host`, or `host:port` off the scheme's own port.
    public var authority: String
    public var fields: [Field]
    public var body: [UInt8]

    public init(method: String, target: String, authority: String, fields: [Field] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.authority = authority
        self.fields = fields
        self.body = body
    }

    /// A request to `url`'s host for its target.
    public init(method: String, url: HTTPURL, fields: [Field] = [], body: [UInt8] = []) {
        self.init(method: method, target: url.target, authority: url.authority, fields: fields, body: body)
    }

    /// The bytes on the wire.
    public var bytes: [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\n"
        for field in fields { head += "\(field.name): \(field.value)\r\n" }
        if !body.isEmpty || (method != "GET" && method != "HEAD") { head += "Content-Length: \(body.count)\r\n" }
        return Array((head + "\r\n").utf8) + body
    }

    /// `example.com`, `example.com:8443`, `[::1]:8080`: a host (IPv6 in brackets) with its
    /// port unless it is `defaultPort`.
    public static func authority(host: String, port: UInt16, defaultPort: UInt16) -> String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? shown : "\(shown):\(port)"
    }

    /// Why a request target would break the request line (it must start with `/` and hold
    /// no control character or space), or nil.
    public static func invalidTargetReason(_ target: String) -> String? {
        guard target.hasPrefix("/") else { return "the path '\(target)' does not start with '/'" }
        if target.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            return "the path contains a space or a control character"
        }
        return nil
    }
}
