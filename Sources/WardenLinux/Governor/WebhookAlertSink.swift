import CWebhook
import WardenCore

/// `AlertWebhooks=`: Slack- and Discord-compatible incoming webhooks take a POST of a JSON
/// body. Delivered through libcurl (TLS with the system's CA store, certificates verified,
/// no redirects followed), one attempt per alert: the pure core already spaces alerts by
/// `AlertCooldownSec=`, and a failure is reported, never retried in a loop that could
/// pile up behind a dead endpoint.
///
/// Health probes do not go through libcurl: they need a non-blocking client on the event
/// loop and no TLS (`HealthProbe` says why).
public struct WebhookAlertSink: GovernorAlertSink {
    public var url: String
    public var timeoutMilliseconds: Int

    public init(url: String, timeoutMilliseconds: Int = 10_000) {
        self.url = url
        self.timeoutMilliseconds = timeoutMilliseconds
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
        var status = 0
        var message = [CChar](repeating: 0, count: 512)
        let bytes = Array(body.utf8)
        let code = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                warden_webhook_post(url, chars.baseAddress, chars.count, timeoutMilliseconds, &status, &message, message.count)
            }
        }
        guard code == 0 else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(GovernorAlertDeliveryError(sink: name, reason: text))
        }
        guard (200..<300).contains(status) else {
            return .failure(GovernorAlertDeliveryError(sink: name, reason: "answered HTTP \(status)"))
        }
        return .success(())
    }
}
