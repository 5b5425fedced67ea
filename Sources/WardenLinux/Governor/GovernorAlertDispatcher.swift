import Dispatch
import Logging
import WardenCore

/// Hands alerts to the sinks on a queue of its own. `post` never blocks: when
/// `maximumPending` alerts are already waiting (a sink hangs), the new one is dropped and
/// counted. Failures are reported to `onFailure` on the dispatcher's queue.
public final class GovernorAlertDispatcher: @unchecked Sendable {
    private let sinks: [any GovernorAlertSink]
    private let queue = DispatchQueue(label: "warden.governor.alerts")
    private let lock = PthreadLock()
    private var pending = 0
    private var droppedCount = 0
    private let maximumPending: Int
    private let onFailure: @Sendable (GovernorAlertDeliveryError) -> Void

    public init(
        sinks: [any GovernorAlertSink], maximumPending: Int = 64,
        onFailure: @escaping @Sendable (GovernorAlertDeliveryError) -> Void = { _ in }
    ) {
        self.sinks = sinks
        self.maximumPending = maximumPending
        self.onFailure = onFailure
    }

    /// Queues the alert for every sink; false when it was dropped because the queue is full.
    @discardableResult
    public func post(_ alert: GovernorAlert) -> Bool {
        let accepted = lock.withLock {
            guard pending < maximumPending else {
                droppedCount += 1
                return false
            }
            pending += 1
            return true
        }
        guard accepted else { return false }
        queue.async { [self] in
            for sink in sinks {
                if case .failure(let error) = sink.deliver(alert) { onFailure(error) }
            }
            lock.withLock { pending -= 1 }
        }
        return true
    }

    /// Alerts dropped so far because the sinks fell behind.
    public var dropped: Int { lock.withLock { droppedCount } }

    /// Waits until every queued alert has been handed to the sinks (for shutdown and tests).
    public func drain() { queue.sync {} }
}
