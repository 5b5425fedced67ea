/// The strategy: a moving-average rule over its own synthetic ticks (ten a second),
/// with one decision line a second. It reads nothing, so it runs without the feed.
struct Strategy: DemoRole {
    static let options = ["window"]
    static let usage = """
        strategy [--window N]
            Strategy: moving average over the last N synthetic ticks (default 20);
            logs "price P, ma(N) M: buy|sell|hold" every second.
        """

    let periodNanoseconds = 100 * nanosecondsPerMillisecond
    private let window: Int
    private var price = 43_000.0
    private var recent: [Double] = []
    private var ticks = 0
    private var decisions: [String: Int] = ["buy": 0, "sell": 0, "hold": 0]

    init(_ arguments: RoleArguments) throws(UsageError) {
        window = try arguments.integer("window", default: 20, in: 2...10_000)
        say("strategy ready: ma(\(window)) crossover")
    }

    mutating func tick(nowNanoseconds: UInt64, latenessNanoseconds: UInt64) {
        price *= 1 + Double.random(in: -0.0005...0.0005)
        recent.append(price)
        if recent.count > window { recent.removeFirst(recent.count - window) }
        ticks += 1
        guard ticks % 10 == 0 else { return }
        let average = recent.reduce(0, +) / Double(recent.count)
        // A band of ±0.02 % around the average keeps noise from flipping the decision.
        let decision = price > average * 1.0002 ? "buy" : price < average * 0.9998 ? "sell" : "hold"
        decisions[decision, default: 0] += 1
        say("price \(fixed(price, decimals: 2)), ma(\(window)) \(fixed(average, decimals: 2)): \(decision)")
    }

    mutating func freeCaches() {
        let dropped = recent.count
        recent.removeAll(keepingCapacity: false)
        say("freeing caches: dropped \(dropped) ticks of history")
    }

    mutating func finish() {
        say("decisions: \(decisions["buy"]!) buy, \(decisions["sell"]!) sell, \(decisions["hold"]!) hold")
    }
}
