/// The little of HTTP/1.x a scrape endpoint needs: where the request head ends, and
/// what its request line asks for. Header fields are not interpreted (a request body,
/// if any, is never read: the connection closes after the answer).
public enum HTTPRequestHead {
    /// The probes a kubelet (or any orchestrator) asks.
    public enum Probe: String, Hashable, Sendable {
        case health = "/healthz"
        case readiness = "/readyz"
    }

    public enum Route: Hashable, Sendable {
        case scrape(headOnly: Bool)
        /// `/healthz` (the loop answers) or `/readyz` (the stack is ready).
        case probe(Probe, headOnly: Bool)
        case notFound
        case methodNotAllowed
        case malformed
    }

    /// The index just past the empty line that ends the head (`\r\n\r\n`, or a bare
    /// `\n\n` from a lenient client), searching from `start`.
    public static func endOfHead(_ bytes: [UInt8], from start: Int = 0) -> Int? {
        let lf = UInt8(ascii: "\n")
        var index = max(0, start)
        while index < bytes.count {
            if bytes[index] == lf {
                if index + 1 < bytes.count && bytes[index + 1] == lf { return index + 2 }
                if index + 2 < bytes.count && bytes[index + 1] == UInt8(ascii: "\r") && bytes[index + 2] == lf {
                    return index + 3
                }
            }
            index += 1
        }
        return nil
    }

    /// `GET /metrics HTTP/1.1` → scrape. The path is compared without its query string
    /// (`/metrics?name[]=…` from Prometheus' federation-style scrapes still gets
    /// everything). `/healthz` and `/readyz` are the probes. Unknown paths are 404 whatever
    /// the method; a known path with another method than GET or HEAD is 405.
    public static func route(_ head: [UInt8]) -> Route {
        let lineEnd = head.firstIndex(of: UInt8(ascii: "\n")) ?? head.count
        var line = head[0..<lineEnd]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].first == UInt8(ascii: "/"),
            parts[2].starts(with: Array("HTTP/1.".utf8)),
            parts[0].allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
        else { return .malformed }
        let target = parts[1]
        let path = target[target.startIndex..<(target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex)]
        let method = String(decoding: parts[0], as: UTF8.self)
        guard method == "GET" || method == "HEAD" else {
            let known = path.elementsEqual("/metrics".utf8) || [Probe.health, .readiness].contains { path.elementsEqual($0.rawValue.utf8) }
            return known ? .methodNotAllowed : .notFound
        }
        let headOnly = method == "HEAD"
        if path.elementsEqual("/metrics".utf8) { return .scrape(headOnly: headOnly) }
        for probe in [Probe.health, .readiness] where path.elementsEqual(probe.rawValue.utf8) {
            return .probe(probe, headOnly: headOnly)
        }
        return .notFound
    }
}
