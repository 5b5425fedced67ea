import Logging
import WardenCore

/// The JSON body of a webhook alert, and the sinks a configuration asks for.
public enum WebhookAlerts {
    /// The log sink plus one webhook sink per `AlertWebhooks=` URL.
    public static func sinks(_ settings: GovernorSettings, logger: Logger) -> [any GovernorAlertSink] {
        [LogAlertSink(logger: logger)] + settings.alertWebhooks.map { WebhookAlertSink(url: $0) }
    }

    /// `{"text": …, "content": …}`: Slack reads `text`, Discord reads `content`, each ignores
    /// the other.
    public static func payload(_ alert: GovernorAlert) -> String {
        let text = json(alert.text)
        return "{\"text\":\(text),\"content\":\(text)}"
    }

    static func json(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
