import WardenCore

/// `AlertWebhooks=`: Slack- and Discord-compatible incoming webhooks take a POST of a JSON
/// body. Delivered through Warden's one HTTP client (`HTTPClient`, the health probe's
/// pieces driven blocking on the alert dispatcher's thread; TLS from OpenSSL's libssl,
/// loaded at the first https webhook, with the system's CA store, certificates verified
/// and the host checked; no redirects followed), one attempt per alert: the pure core
/// already spaces alerts by `AlertCooldownSec=`, and a failure is reported, never retried
/// in a loop that could pile up behind a dead endpoint. Why not libcurl: the header of
/// `CTLS` (Sources/CTLS/include/warden_tls.h).
public struct WebhookAlertSink: GovernorAlertSink {
    public var url: String
    public var timeoutMilliseconds: Int
    /// Whose certificates an https endpoint may present; the system's CA store unless a
    /// test gives its own.
    public var trust: HTTPClient.Trust

    public init(url: String, timeoutMilliseconds: Int = 10_000, trust: HTTPClient.Trust = .system) {
        self.url = url
        self.timeoutMilliseconds = timeoutMilliseconds
        self.trust = trust
    }

    /// The URL without a path or query: webhook paths carry their secret token, which
    /// must not reach the log.
    public var name: String {
        let scheme = url.prefix { $0 != ":" }
        guard url.dropFirst(scheme.count).hasPrefix("://") else { return "webhook" }
        let authority = url.dropFirst(scheme.count + 3).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@").last.map(String.init) ?? ""
        return "webhook \(scheme)://\(host)/…"
    }

    public func deliver(_ alert: GovernorAlert) -> Result<Void, GovernorAlertDeliveryError> {
        post(WebhookAlerts.payload(alert))
    }

    /// Sends one JSON body; success only on a 2xx answer.
    public func post(_ body: String) -> Result<Void, GovernorAlertDeliveryError> {
        let target: HTTPURL
        switch HTTPURL.parse(url) {
        case .success(let parsed): target = parsed
        case .failure(let why): return .failure(GovernorAlertDeliveryError(sink: name, reason: "unusable URL: \(why.message)"))
        }
        let request = HTTPRequest(
            method: "POST", url: target,
            fields: [HTTPRequest.Field("Content-Type", "application/json"), HTTPRequest.Field("User-Agent", "warden")],
            body: Array(body.utf8))
        let timeout = TimeSpan.milliseconds(UInt64(max(1, timeoutMilliseconds)))
        switch HTTPClient.exchange(request, with: target, timeout: timeout, trust: trust) {
        case .success(let status) where (200..<300).contains(status):
            return .success(())
        case .success(let status):
            return .failure(GovernorAlertDeliveryError(sink: name, reason: "answered HTTP \(status)"))
        case .failure(let failure):
            return .failure(GovernorAlertDeliveryError(sink: name, reason: failure.reason))
        }
    }
}
