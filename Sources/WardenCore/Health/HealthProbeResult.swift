/// The outcome of one health probe.
public enum HealthProbeResult: Hashable, Sendable, CustomStringConvertible {
    case passed
    /// `reason` is written for an operator: `connect 127.0.0.1:9000: Connection refused`,
    /// `HTTP 503 from http://127.0.0.1:8080/health`, `exec /usr/bin/check exited with status 2`.
    case failed(reason: String)

    public var description: String {
        switch self {
        case .passed: "passed"
        case .failed(let reason): "failed: \(reason)"
        }
    }
}
