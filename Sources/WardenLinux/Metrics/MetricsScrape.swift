/// What the daemon knows about one scrape when it renders the body.
public struct MetricsScrape: Hashable, Sendable {
    /// Event-loop lag: from the moment the request was complete (its handler ran on the
    /// loop) to the moment the work queued for it with a zero-delay `EventLoop.execute`
    /// ran. That is the time the loop needed to get through every handler already due
    /// in its turn, plus one eventfd wakeup: what any event arriving then would have
    /// waited.
    public var loopLagSeconds: Double

    public init(loopLagSeconds: Double) {
        self.loopLagSeconds = loopLagSeconds
    }
}
