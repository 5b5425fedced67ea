import Prometheus

/// One metric family of Warden's exposition: its name (with the unit and `_total`
/// suffixes of the Prometheus conventions) and its `# HELP` text.
struct MetricFamilyName: Hashable, Sendable {
    let name: String
    let help: String

    init(_ name: String, _ help: String) {
        self.name = name
        self.help = help
    }
}

/// A counter fed from a cumulative value Warden does not own (`cpu.stat usage_usec`,
/// `memory.events oom_kill`, a machine's restart count): what the exported counter
/// adds when the source is read again.
///
/// The source can start again from zero: a component's cgroup is removed at each stop
/// and made anew at the next start, a new main process has new CPU times, a reload
/// gives a component a new restart count. The exported counter must never go down
/// (Prometheus would read a reset, and `increase()` over a window with a restart would
/// lose a run), so the counter keeps its own total and adds the source's growth:
/// - same source as last time, value not lower: the difference;
/// - a new source (`sourceID` changed: another cgroup inode, another pid/start time),
///   or the same one reading lower (reset in place): the whole value, since a source
///   counts from zero.
/// What a run counted between the last read and its end is not seen (its source is
/// gone by the next scrape); rates over many scrapes are unaffected by that, only the
/// last partial interval of each run is missing.
struct MonotonicCounterSource: Hashable, Sendable {
    private(set) var sourceID: UInt64?
    private(set) var lastValue: Double?

    init() {}

    /// The amount to add for a new reading `value` of source `sourceID`.
    mutating func advance(to value: Double, sourceID: UInt64) -> Double {
        defer {
            self.sourceID = sourceID
            self.lastValue = value
        }
        guard value.isFinite, value >= 0 else { return 0 }
        guard let lastValue, self.sourceID == sourceID, value >= lastValue else { return value }
        return value - lastValue
    }
}

/// Warden's series in a `PrometheusCollectorRegistry`, kept from scrape to scrape.
///
/// Gauges are set at each scrape; one not set in a scrape is removed (a component that
/// stopped has no memory figure, not a stale one). Counters advance by what their
/// source grew (`MonotonicCounterSource`) and stay while their owner — the label set of
/// a component or slice that still exists — is live, so a stopped component's CPU
/// seconds stay where they were instead of vanishing and coming back from zero.
/// Loop-thread confined.
final class MetricsExporter {
    let registry = PrometheusCollectorRegistry()

    private struct SeriesKey: Hashable {
        var name: String
        var labels: [String]
    }

    private final class GaugeSeries {
        let gauge: Gauge
        var scrape: Int
        init(_ gauge: Gauge, scrape: Int) {
            self.gauge = gauge
            self.scrape = scrape
        }
    }

    private final class CounterSeries {
        let counter: Counter
        let owner: String
        var source = MonotonicCounterSource()
        init(_ counter: Counter, owner: String) {
            self.counter = counter
            self.owner = owner
        }
    }

    private var gauges: [SeriesKey: GaugeSeries] = [:]
    private var counters: [SeriesKey: CounterSeries] = [:]
    private var liveOwners: Set<String> = []
    private var scrape = 0

    /// Series in the registry now (tests, and the exposition's own size).
    var seriesCount: Int { gauges.count + counters.count }

    func beginScrape() {
        scrape += 1
        liveOwners.removeAll(keepingCapacity: true)
    }

    /// Counters owned by `owner` stay in this scrape even when not advanced.
    func keep(owner: String) {
        liveOwners.insert(owner)
    }

    func gauge(_ family: MetricFamilyName, _ labels: [(String, String)], _ value: Double) {
        let key = SeriesKey(name: family.name, labels: Self.flatten(labels))
        if let series = gauges[key] {
            series.gauge.set(to: value.isFinite ? value : 0)
            series.scrape = scrape
            return
        }
        let gauge = registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: family.name, unitName: "", helpText: family.help), labels: labels)
        gauge.set(to: value.isFinite ? value : 0)
        gauges[key] = GaugeSeries(gauge, scrape: scrape)
    }

    /// Advances a counter by the growth of its external source (see `MonotonicCounterSource`).
    func counter(
        _ family: MetricFamilyName, _ labels: [(String, String)], owner: String, value: Double, sourceID: UInt64
    ) {
        let key = SeriesKey(name: family.name, labels: Self.flatten(labels))
        let series: CounterSeries
        if let existing = counters[key] {
            series = existing
        } else {
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: family.name, unitName: "", helpText: family.help),
                labels: labels)
            series = CounterSeries(counter, owner: owner)
            counters[key] = series
        }
        let delta = series.source.advance(to: value, sourceID: sourceID)
        guard delta > 0 else { return }
        if delta == delta.rounded(.towardZero) && delta < 9e15 {
            series.counter.increment(by: Int64(delta))
        } else {
            series.counter.increment(by: delta)
        }
    }

    /// Removes gauges not set in this scrape and counters whose owner is gone.
    func endScrape() {
        for (key, series) in gauges where series.scrape != scrape {
            registry.unregisterGauge(series.gauge)
            gauges[key] = nil
        }
        for (key, series) in counters where !liveOwners.contains(series.owner) {
            registry.unregisterCounter(series.counter)
            counters[key] = nil
        }
    }

    func render(into buffer: inout [UInt8]) {
        registry.emit(into: &buffer)
    }

    private static func flatten(_ labels: [(String, String)]) -> [String] {
        var flat: [String] = []
        flat.reserveCapacity(labels.count * 2)
        for (name, value) in labels {
            flat.append(name)
            flat.append(value)
        }
        return flat
    }
}
