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

/// The series of one component or slice (one label set): found with one lookup per
/// scrape, its series then by small integer slots, so a scrape of many components does
/// not hash every series' labels. Slots are the caller's: one per family and label
/// variant (`warden_component_state{state="failed"}` has its own).
final class SeriesGroup {
    let owner: String
    let labels: [(String, String)]
    fileprivate var gauges: [Int: MetricsExporter.GaugeSeries] = [:]
    fileprivate var counters: [Int: MetricsExporter.CounterSeries] = [:]
    fileprivate var scrape: Int

    fileprivate init(owner: String, labels: [(String, String)], scrape: Int) {
        self.owner = owner
        self.labels = labels
        self.scrape = scrape
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
///
/// Cost note: the registry copies a family's table of series each time a series is
/// added or removed, so the first scrape of N components costs O(N²) in the largest
/// family (six state series per component); later scrapes only set values.
final class MetricsExporter {
    let registry = PrometheusCollectorRegistry()

    fileprivate struct SeriesKey: Hashable {
        var name: String
        var labels: [String]
    }

    fileprivate final class GaugeSeries {
        let gauge: Gauge
        var scrape: Int
        init(_ gauge: Gauge, scrape: Int) {
            self.gauge = gauge
            self.scrape = scrape
        }
    }

    fileprivate final class CounterSeries {
        let counter: Counter
        let owner: String
        var source = MonotonicCounterSource()
        init(_ counter: Counter, owner: String) {
            self.counter = counter
            self.owner = owner
        }

        func advance(to value: Double, sourceID: UInt64) {
            let delta = source.advance(to: value, sourceID: sourceID)
            guard delta > 0 else { return }
            if delta == delta.rounded(.towardZero) && delta < 9e15 {
                counter.increment(by: Int64(delta))
            } else {
                counter.increment(by: delta)
            }
        }
    }

    private var gauges: [SeriesKey: GaugeSeries] = [:]
    private var counters: [SeriesKey: CounterSeries] = [:]
    private var groups: [String: SeriesGroup] = [:]
    private var liveOwners: Set<String> = []
    private var scrape = 0

    /// Series in the registry now (tests, and the exposition's own size).
    var seriesCount: Int {
        gauges.count + counters.count + groups.values.reduce(0) { $0 + $1.gauges.count + $1.counters.count }
    }

    func beginScrape() {
        scrape += 1
        liveOwners.removeAll(keepingCapacity: true)
    }

    /// Counters owned by `owner` stay in this scrape even when not advanced.
    func keep(owner: String) {
        liveOwners.insert(owner)
    }

    // MARK: Grouped series (components, slices)

    /// The group of `owner`, live in this scrape. `labels` are used when it is created.
    func group(owner: String, labels: @autoclosure () -> [(String, String)]) -> SeriesGroup {
        if let group = groups[owner] {
            group.scrape = scrape
            return group
        }
        let group = SeriesGroup(owner: owner, labels: labels(), scrape: scrape)
        groups[owner] = group
        return group
    }

    func gauge(
        _ group: SeriesGroup, slot: Int, _ family: MetricFamilyName, labels extraLabels: @autoclosure () -> [(String, String)] = [],
        value: Double
    ) {
        if let series = group.gauges[slot] {
            series.gauge.set(to: value.isFinite ? value : 0)
            series.scrape = scrape
            return
        }
        let series = GaugeSeries(makeGauge(family, group.labels + extraLabels()), scrape: scrape)
        series.gauge.set(to: value.isFinite ? value : 0)
        group.gauges[slot] = series
    }

    func counter(
        _ group: SeriesGroup, slot: Int, _ family: MetricFamilyName, labels extraLabels: @autoclosure () -> [(String, String)] = [],
        value: Double, sourceID: UInt64
    ) {
        let series: CounterSeries
        if let existing = group.counters[slot] {
            series = existing
        } else {
            series = CounterSeries(makeCounter(family, group.labels + extraLabels()), owner: group.owner)
            group.counters[slot] = series
        }
        series.advance(to: value, sourceID: sourceID)
    }

    // MARK: Single series

    func gauge(_ family: MetricFamilyName, _ labels: [(String, String)], _ value: Double) {
        let key = SeriesKey(name: family.name, labels: Self.flatten(labels))
        if let series = gauges[key] {
            series.gauge.set(to: value.isFinite ? value : 0)
            series.scrape = scrape
            return
        }
        let series = GaugeSeries(makeGauge(family, labels), scrape: scrape)
        series.gauge.set(to: value.isFinite ? value : 0)
        gauges[key] = series
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
            series = CounterSeries(makeCounter(family, labels), owner: owner)
            counters[key] = series
        }
        series.advance(to: value, sourceID: sourceID)
    }

    // MARK: Scrape end, rendering

    /// Removes gauges not set in this scrape, counters whose owner is gone, and groups
    /// not used in this scrape (a component a reload removed).
    func endScrape() {
        for (key, series) in gauges where series.scrape != scrape {
            registry.unregisterGauge(series.gauge)
            gauges[key] = nil
        }
        for (key, series) in counters where !liveOwners.contains(series.owner) {
            registry.unregisterCounter(series.counter)
            counters[key] = nil
        }
        for (owner, group) in groups {
            guard group.scrape == scrape else {
                for series in group.gauges.values { registry.unregisterGauge(series.gauge) }
                for series in group.counters.values { registry.unregisterCounter(series.counter) }
                groups[owner] = nil
                continue
            }
            for (slot, series) in group.gauges where series.scrape != scrape {
                registry.unregisterGauge(series.gauge)
                group.gauges[slot] = nil
            }
        }
    }

    func render(into buffer: inout [UInt8]) {
        registry.emit(into: &buffer)
    }

    private func makeGauge(_ family: MetricFamilyName, _ labels: [(String, String)]) -> Gauge {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: family.name, unitName: "", helpText: family.help), labels: labels)
    }

    private func makeCounter(_ family: MetricFamilyName, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: family.name, unitName: "", helpText: family.help), labels: labels)
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
