import Logging
import WardenCore
import WardenLinux

/// The Prometheus endpoint (`MetricsListen=`) with the probes a kubelet asks
/// (`/healthz`, `/readyz`): a `MetricsServer` on the supervisor's loop. Every figure is
/// gathered at scrape time on the loop thread, from the stack as it is, the components'
/// cgroups (or main processes) and `/proc/self`. Nothing is sampled in the background:
/// an idle Warden stays idle.
public final class MetricsEndpoint: @unchecked Sendable {
    let supervisor: Supervisor
    /// The series kept between scrapes, so counters survive a restart of their source.
    let exporter = MetricsExporter()
    /// Where the governor's tier and action counts come from; nil, or a source that
    /// returns nil, leaves the governor's series out. Loop thread.
    var governorSource: (() -> GovernorMetricsSnapshot?)?
    private var server: MetricsServer?
    private var lastRenderSeconds: Double?
    private var lastBodyBytes = 0
    /// The port the endpoint listens on (the kernel's pick for port 0).
    public private(set) var port: UInt16 = 0
    public private(set) var isLoopback = true

    /// Opens the endpoint on `host:port` (port 0: the kernel picks one).
    public init(
        host: String, port: UInt16, supervisor: Supervisor,
        requestTimeout: TimeSpan = MetricsServer.defaultRequestTimeout
    ) throws(ProcessControlError) {
        self.supervisor = supervisor
        let server = try MetricsServer(
            host: host, port: port, loop: supervisor.loop, requestTimeout: requestTimeout,
            handler: { [unowned self] scrape in self.render(scrape) },
            probe: { [unowned self] which in self.answerProbe(which) })
        self.port = server.port
        self.isLoopback = server.isLoopback
        self.server = server
    }

    /// Opens the endpoint as `warden.conf` says (`MetricsListen=`; nothing when unset),
    /// fed by `governor` when there is one. A failure to bind is logged with the address
    /// and the errno and the daemon runs on without metrics: an occupied port must not
    /// take the supervised stack down. A non-loopback address is used, with a warning
    /// (the key's documentation: keep it on loopback; the endpoint has no
    /// authentication).
    public static func open(settings: WardenSettings, supervisor: Supervisor, governor: GovernorDriver? = nil)
        -> MetricsEndpoint?
    {
        guard let address = settings.metricsListen else { return nil }
        let logger = supervisor.logger
        do {
            let endpoint = try MetricsEndpoint(host: address.host, port: address.port, supervisor: supervisor)
            if let governor { endpoint.readGovernor(governor) }
            if !endpoint.isLoopback {
                logger.warning(
                    "MetricsListen=\(address) is not a loopback address: whoever reaches it can read the metrics (there is no authentication)")
            }
            logger.info("metrics at http://\(address)/metrics")
            return endpoint
        } catch {
            logger.error("metrics endpoint not opened; running without it: MetricsListen=\(address): \(error)")
            return nil
        }
    }

    /// Reports `governor`'s tier and action counts from now on.
    public func readGovernor(_ governor: GovernorDriver) {
        setGovernorSource { [weak governor] in governor?.metricsSnapshot }
    }

    /// Sets where the governor's series come from (called at each scrape, on the loop).
    public func setGovernorSource(_ source: (() -> GovernorMetricsSnapshot?)?) {
        let box = UncheckedBox(source)
        supervisor.loop.executeAndWait { [self] in governorSource = box.value }
    }

    /// Closes the endpoint; before the supervisor's `close()`.
    public func close() {
        supervisor.loop.executeAndWait { [self] in
            server?.close()
            server = nil
        }
    }

    /// The exposition as a scrape would get it now (tests, benchmarks). The loop lag is
    /// measured the same way, from this thread's hand-over to the loop.
    public func exposition() -> String {
        let requested = EventLoop.monotonicNanoseconds()
        let bytes = supervisor.loop.executeAndWait { [self] in
            render(MetricsScrape(loopLagSeconds: Double(EventLoop.monotonicNanoseconds() &- requested) / 1e9))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Answers (loop thread)

    /// `/healthz`: the loop answered, so Warden supervises. `/readyz`: `StackReadiness`.
    func answerProbe(_ probe: HTTPRequestHead.Probe) -> (ok: Bool, text: String) {
        let phase = supervisor.phase
        switch probe {
        case .health:
            // Alive whenever the loop answers, shutting down included: a liveness probe
            // that failed during a graceful stop would have the container killed mid-stop.
            return (true, phase == .running || phase == .idle ? "ok" : "ok (shutting down)")
        case .readiness:
            let readiness = StackReadiness(
                supervisor.snapshots(of: supervisor.allComponentsByName), shuttingDown: phase != .running)
            return (readiness.ready, readiness.text)
        }
    }

    func render(_ scrape: MetricsScrape) -> [UInt8] {
        let started = EventLoop.monotonicNanoseconds()
        exporter.beginScrape()
        var reader = ProcessStatReader()
        let list = supervisor.allComponents
        for c in list { exportComponent(c, exporter, &reader) }
        exportSlices(exporter)
        if let snapshot = governorSource?() { exportGovernor(snapshot, exporter) }
        exportSelf(scrape, componentCount: list.count, &reader)
        exporter.endScrape()
        var body: [UInt8] = []
        body.reserveCapacity(lastBodyBytes + 4096)
        exporter.render(into: &body)
        lastBodyBytes = body.count
        lastRenderSeconds = Double(EventLoop.monotonicNanoseconds() &- started) / 1e9
        return body
    }

    private func exportComponent(_ c: Component, _ exporter: MetricsExporter, _ reader: inout ProcessStatReader) {
        typealias F = MetricsFamilies
        let slice = c.config.effectiveSlice
        let group = exporter.group(owner: "component\u{0}\(c.name)\u{0}\(slice)", labels: [("component", c.name), ("slice", slice)])
        let active = c.machine.activeState
        for (index, state) in F.activeStates.enumerated() {
            exporter.gauge(group, slot: MetricsSlot.state + index, F.componentState, labels: [("state", state)], value: active == state ? 1 : 0)
        }
        exporter.gauge(group, slot: MetricsSlot.ready, F.componentReady, value: c.isUp ? 1 : 0)
        // The machine is replaced by a reload that changes the unit: its count then
        // starts again, which the counter absorbs (the source id stays the same; a
        // lower reading counts from zero).
        exporter.counter(
            group, slot: MetricsSlot.restarts, F.componentRestarts, value: Double(c.machine.restartCount), sourceID: 0)
        switch c.lastExit {
        case .exited(let code)?: exporter.gauge(group, slot: MetricsSlot.lastExitCode, F.componentLastExitCode, value: Double(code))
        case .killed(let signal, _)?:
            exporter.gauge(group, slot: MetricsSlot.lastExitSignal, F.componentLastExitSignal, value: Double(signal))
        case .unknown?, nil: break
        }
        var usage: UsageReading?
        if let cgroups = supervisor.cgroups, let path = cgroups.path(of: c.name) {
            usage = CgroupUsageReader.read(cgroups.manager, path: path)
        }
        if usage == nil, let pid = c.main?.pid {
            usage = reader.usage(pid: pid)
        }
        guard let usage else { return }
        exportUsage(usage, group, exporter, families: MetricsEndpoint.componentUsageFamilies)
    }

    static let componentUsageFamilies = UsageFamilies(
        cpu: MetricsFamilies.componentCPU, throttled: MetricsFamilies.componentThrottled,
        memoryCurrent: MetricsFamilies.componentMemoryCurrent, memoryPeak: MetricsFamilies.componentMemoryPeak,
        memoryEvents: MetricsFamilies.componentMemoryEvents, tasks: MetricsFamilies.componentTasks,
        pressureAverage: MetricsFamilies.componentPressureAverage, pressureTotal: MetricsFamilies.componentPressureTotal)

    static let sliceUsageFamilies = UsageFamilies(
        cpu: MetricsFamilies.sliceCPU, throttled: MetricsFamilies.sliceThrottled,
        memoryCurrent: MetricsFamilies.sliceMemoryCurrent, memoryPeak: MetricsFamilies.sliceMemoryPeak,
        memoryEvents: MetricsFamilies.sliceMemoryEvents, tasks: MetricsFamilies.sliceTasks,
        pressureAverage: MetricsFamilies.slicePressureAverage, pressureTotal: MetricsFamilies.slicePressureTotal)

    private func exportSlices(_ exporter: MetricsExporter) {
        var counts: [String: Int] = [:]
        for c in supervisor.components.values { counts[c.config.effectiveSlice, default: 0] += 1 }
        for (slice, count) in counts { exporter.gauge(MetricsFamilies.sliceComponents, [("slice", slice)], Double(count)) }
        guard let cgroups = supervisor.cgroups else { return }
        for plan in cgroups.plan where plan.unit.hasSuffix(".slice") {
            let group = exporter.group(owner: "slice\u{0}\(plan.unit)", labels: [("slice", plan.unit)])
            // A slice with no running component may have been removed; it comes back
            // with the next start in it.
            guard let usage = CgroupUsageReader.read(cgroups.manager, path: plan.path) else { continue }
            exportUsage(usage, group, exporter, families: MetricsEndpoint.sliceUsageFamilies)
        }
    }

    private func exportGovernor(_ snapshot: GovernorMetricsSnapshot, _ exporter: MetricsExporter) {
        typealias F = MetricsFamilies
        exporter.keep(owner: "governor")
        exporter.gauge(F.governorTier, [], Double(GovernorTier.allCases.firstIndex(of: snapshot.tier) ?? 0))
        exporter.gauge(F.governorManual, [], snapshot.manualEmergency ? 1 : 0)
        for (kind, count) in snapshot.actionCounts {
            exporter.counter(F.governorActions, [("action", kind)], owner: "governor", value: Double(count), sourceID: 0)
        }
    }

    private func exportSelf(_ scrape: MetricsScrape, componentCount: Int, _ reader: inout ProcessStatReader) {
        typealias F = MetricsFamilies
        exporter.keep(owner: "process")
        if let own = reader.read(pid: nil) {
            if let pages = own.residentPages { exporter.gauge(F.residentMemory, [], Double(pages &* ProcessStatReader.pageBytes)) }
            if let bytes = own.virtualBytes { exporter.gauge(F.virtualMemory, [], Double(bytes)) }
            if ProcessStatReader.clockTicksPerSecond > 0 {
                exporter.counter(
                    F.processCPU, [], owner: "process", value: Double(own.cpuTicks) / ProcessStatReader.clockTicksPerSecond,
                    sourceID: 0)
            }
        }
        exporter.gauge(F.loopLag, [], scrape.loopLagSeconds)
        if let previous = lastRenderSeconds { exporter.gauge(F.renderDuration, [], previous) }
        exporter.gauge(F.components, [], Double(componentCount))
        exporter.gauge(F.buildInfo, [("version", wardenVersion)], 1)
    }

    private func exportUsage(
        _ usage: UsageReading, _ group: SeriesGroup, _ exporter: MetricsExporter, families: UsageFamilies
    ) {
        let source = usage.sourceID
        if let seconds = usage.cpuSeconds {
            exporter.counter(group, slot: MetricsSlot.cpu, families.cpu, value: seconds, sourceID: source)
        }
        if let seconds = usage.throttledSeconds {
            exporter.counter(group, slot: MetricsSlot.throttled, families.throttled, value: seconds, sourceID: source)
        }
        if let bytes = usage.memoryCurrentBytes {
            exporter.gauge(group, slot: MetricsSlot.memoryCurrent, families.memoryCurrent, value: Double(bytes))
        }
        if let bytes = usage.memoryPeakBytes {
            exporter.gauge(group, slot: MetricsSlot.memoryPeak, families.memoryPeak, value: Double(bytes))
        }
        if let events = usage.memoryEvents {
            let counts: [UInt64?] = [events.low, events.high, events.max, events.oom, events.oomKill, events.oomGroupKill]
            for (index, count) in counts.enumerated() {
                guard let count else { continue }
                exporter.counter(
                    group, slot: MetricsSlot.memoryEvents + index, families.memoryEvents,
                    labels: [("event", MetricsSlot.memoryEventNames[index])], value: Double(count), sourceID: source)
            }
        }
        if let tasks = usage.tasks { exporter.gauge(group, slot: MetricsSlot.tasks, families.tasks, value: Double(tasks)) }
        for (resource, pressure) in usage.pressure {
            guard let resourceIndex = MetricsSlot.pressureResources.firstIndex(of: resource) else { continue }
            for (stallIndex, line) in [pressure.some, pressure.full].enumerated() {
                guard let line else { continue }
                let variant = resourceIndex * 2 + stallIndex
                let labels = [("resource", resource), ("stall", stallIndex == 0 ? "some" : "full")]
                exporter.gauge(
                    group, slot: MetricsSlot.pressureAverage + variant, families.pressureAverage, labels: labels,
                    value: line.avg10Percent / 100)
                exporter.counter(
                    group, slot: MetricsSlot.pressureTotal + variant, families.pressureTotal, labels: labels,
                    value: Double(line.totalUSec) / 1e6, sourceID: source)
            }
        }
    }
}

/// Hands a non-Sendable value to the loop thread, which alone uses it from then on.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Slots of a component's or slice's series in its `SeriesGroup`.
enum MetricsSlot {
    static let state = 0  // + index in MetricsFamilies.activeStates (6)
    static let ready = 10
    static let restarts = 11
    static let lastExitCode = 12
    static let lastExitSignal = 13
    static let cpu = 14
    static let throttled = 15
    static let memoryCurrent = 16
    static let memoryPeak = 17
    static let tasks = 18
    static let memoryEvents = 20  // + index in memoryEventNames (6)
    static let pressureAverage = 30  // + resource index × 2 + (0 some, 1 full)
    static let pressureTotal = 40  // same variants
    static let memoryEventNames = ["low", "high", "max", "oom", "oom_kill", "oom_group_kill"]
    static let pressureResources = ["cpu", "memory", "io"]
}

/// The families one usage reading feeds: the component's or the slice's.
struct UsageFamilies {
    var cpu, throttled, memoryCurrent, memoryPeak, memoryEvents, tasks, pressureAverage, pressureTotal: MetricFamilyName
}
