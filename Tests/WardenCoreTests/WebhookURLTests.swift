import Testing
import WardenCore

@Suite struct WebhookURLTests {
    @Test(arguments: [
        "https://hooks.slack.com/services/T0/B0/x",
        "https://discord.com/api/webhooks/1/abc",
        "https://example.com:8443/hook?token=x",
        "HTTPS://example.com/hook",
        "http://127.0.0.1:9000/relay",
        "http://127.1.2.3/relay",
        "http://localhost/relay",
        "http://[::1]:8080/relay",
    ])
    func accepted(_ url: String) {
        #expect(WebhookURL.problem(url) == nil)
    }

    @Test(arguments: [
        ("hooks.slack.com/x", "is not a webhook URL"),
        ("ftp://example.com/x", "is not a webhook URL"),
        ("https://", "names no host"),
        ("https:///path", "names no host"),
        ("http://example.com/hook", "unencrypted over the network"),
        ("http://127.0.0.1.example.com/hook", "unencrypted over the network"),
        ("http://127.0.0.256/hook", "unencrypted over the network"),
        ("http://localhost@evil.example/hook", "user name or password"),
        ("https://user@example.com:8443/hook", "user name or password"),
        ("https://example.com:99999/hook", "is not a port"),
        ("https://exa mple.com/hook", "a space"),
        ("http://10.0.0.1/hook", "unencrypted over the network"),
    ])
    func refused(_ url: String, _ reason: String) {
        let problem = WebhookURL.problem(url)
        #expect(problem?.contains(reason) == true, "\(url): \(problem ?? "accepted")")
    }
}
