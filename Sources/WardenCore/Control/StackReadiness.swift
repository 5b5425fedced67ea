/// Whether the stack is ready, as `/readyz` and `warden status --check` judge it: every
/// `Priority=critical` component active and ready; with no critical component, every
/// component active and ready, or stopped cleanly (a finished oneshot, an operator's
/// stop). What a kubelet's readiness probe or a deploy script waits for.
public struct StackReadiness: Hashable, Sendable {
    public var ready: Bool
    /// `feed.service (activating)` for each component that keeps the stack from ready.
    public var waitingFor: [String]

    public init(_ components: [ComponentSnapshot], shuttingDown: Bool = false) {
        let critical = components.filter { $0.priority == "critical" }
        let judged = critical.isEmpty ? components : critical
        var waiting: [String] = []
        for c in judged.sorted(by: { $0.name < $1.name }) {
            let up = c.activeState == "active" && c.ready
            let cleanlyDown = critical.isEmpty && c.activeState == "inactive" && c.result == "success"
            if !up && !cleanlyDown {
                waiting.append("\(c.name) (\(c.activeState == "active" ? "not ready" : c.activeState))")
            }
        }
        self.waitingFor = waiting
        self.ready = waiting.isEmpty && !shuttingDown
        if shuttingDown { waitingFor.insert("Warden is shutting down", at: 0) }
    }

    /// One line: `ready` or `not ready: …`.
    public var text: String {
        ready ? "ready" : "not ready: " + waitingFor.joined(separator: ", ")
    }
}
