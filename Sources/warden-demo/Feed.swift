/// The market-data feed: one tick line per period, the price a multiplicative
/// random walk (at most ±0.05 % a tick, so it drifts like a quiet market).
struct Feed: DemoRole {
    static let options = ["interval-ms", "symbol", "price"]
    static let usage = """
        feed [--interval-ms N] [--symbol NAME] [--price P]
            Market-data feed: prints "tick SYMBOL PRICE seq=N" every N ms (default 100).
        """

    let periodNanoseconds: UInt64
    let symbol: String
    private var price: Double
    private var sequence: UInt64 = 0

    init(_ arguments: RoleArguments) throws(UsageError) {
        periodNanoseconds = UInt64(try arguments.integer("interval-ms", default: 100, in: 1...60_000))
            * nanosecondsPerMillisecond
        symbol = arguments.text("symbol", default: "BTC-USD")
        price = try arguments.number("price", default: 43_000, in: 0.01...1e9)
        say("feed \(symbol) starting at \(fixed(price, decimals: 2))")
    }

    mutating func tick(nowNanoseconds: UInt64, latenessNanoseconds: UInt64) {
        sequence += 1
        price *= 1 + Double.random(in: -0.0005...0.0005)
        say("tick \(symbol) \(fixed(price, decimals: 2)) seq=\(sequence)")
    }

    mutating func reload() {
        say("reloading: resubscribing to \(symbol)")
    }

    mutating func finish() {
        say("feed closed after \(sequence) ticks")
    }
}
