import Glibc
import Logging
import Synchronization
import WardenCore
import WardenLinux

/// The Prometheus endpoint of a supervisor (`MetricsListen=`): the `MetricsServer` runs on
/// the supervisor's loop, and every figure is gathered at scrape time on the loop thread,
/// from the supervisor's state as it is, the components' cgroups (or main processes) and
/// `/proc/self`. Nothing is sampled in the background: an idle Warden stays idle.
///
/// The server, the series kept between scrapes and the governor's source live in a side
/// table keyed by the supervisor's identity, as the control socket's do.
extension Supervisor {
    /// Opens the endpoint as `warden.conf` says (`MetricsListen=`; nothing when unset).
    /// A failure to bind is logged with the address and the errno and the daemon runs on
    /// without metrics: an occupied port must not take the supervised stack down. A
    /// non-loopback address is used, with a warning (the key's documentation: keep it on
    /// loopback; the endpoint has no authentication).
    public func startMetrics(settings: WardenSettings) {
        guard let address = settings.metricsListen else { return }
        do {
            let server = try startMetricsServer(host: address.host, port: address.port)
            if !server.isLoopback {
                logger.warning(
                    "MetricsListen=\(address) is not a loopback address: whoever reaches it can read the metrics (there is no authentication)")
            }
            logger.info("metrics at http://\(address)/metrics")
        } catch {
            logger.error("metrics endpoint not opened; running without it: MetricsListen=\(address): \(error)")
        }
    }

    /// Opens the endpoint on `host:port` (port 0: the kernel picks one; see
    /// `MetricsServer.port`). Replaces an endpoint opened before.
    @discardableResult
    public func startMetricsServer(
        host: String, port: UInt16, requestTimeout: TimeSpan = MetricsServer.defaultRequestTimeout
    ) throws(ProcessControlError) -> MetricsServer {
        let attachment = metricsAttachment()
        let server = try MetricsServer(
            host: host, port: port, loop: loop, requestTimeout: requestTimeout,
            handler: { [unowned self] scrape in self.renderMetrics(scrape) },
            probe: { [unowned self] which in self.answerProbe(which) })
        let previous = metricsSideTable.withLock { _ in
            let old = attachment.server
            attachment.server = server
            return old
        }
        if let previous { loop.execute { previous.close() } }
        return server
    }

    /// `/healthz`: the loop answered, so Warden supervises. `/readyz`: `StackReadiness`.
    /// Loop thread.
    func answerProbe(_ probe: HTTPRequestHead.Probe) -> (ok: Bool, text: String) {
        switch probe {
        case .health:
            // Alive whenever the loop answers, shutting down included: a liveness probe
            // that failed during a graceful stop would have the container killed mid-stop.
            return (true, phase == .running || phase == .idle ? "ok" : "ok (shutting down)")
        case .readiness:
            let readiness = StackReadiness(snapshots(of: allComponentsByName), shuttingDown: phase != .running)
            return (readiness.ready, readiness.text)
        }
    }

    /// Closes the endpoint and forgets the series and the governor's source. `close()`
    /// calls it.
    public func stopMetricsServer() {
        let key = ObjectIdentifier(self)
        guard let attachment = metricsSideTable.withLock({ $0.removeValue(forKey: key) }),
            let server = attachment.server
        else { return }
        if loop.isOnLoopThread {
            server.close()
        } else {
            loop.executeAndWait { server.close() }
        }
    }

    /// Where `/metrics` gets the governor's tier and action counts; nil (the default),
    /// or a source that returns nil, leaves the governor's series out. Called on the
    /// loop thread at each scrape. Set it before `start()`, or from the loop thread.
    public var governorMetricsSource: (() -> GovernorMetricsSnapshot?)? {
        get {
            let attachment = metricsAttachment()
            return metricsSideTable.withLock { _ in attachment.governorSource }
        }
        set {
            let attachment = metricsAttachment()
            metricsSideTable.withLock { _ in attachment.governorSource = newValue }
        }
    }

    /// The exposition as a scrape would get it now (tests, benchmarks). The loop lag is
    /// measured the same way, from this thread's hand-over to the loop.
    public func metricsExposition() -> String {
        let requested = EventLoop.monotonicNanoseconds()
        let bytes = loop.executeAndWait { [self] in
            renderMetrics(MetricsScrape(loopLagSeconds: Double(EventLoop.monotonicNanoseconds() &- requested) / 1e9))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Rendering (loop thread)

    func metricsAttachment() -> MetricsAttachment {
        let key = ObjectIdentifier(self)
        return metricsSideTable.withLock { table in
            if let existing = table[key] { return existing }
            let created = MetricsAttachment()
            table[key] = created
            return created
        }
    }

    func renderMetrics(_ scrape: MetricsScrape) -> [UInt8] {
        let started = EventLoop.monotonicNanoseconds()
        let attachment = metricsAttachment()
        let governorSource = metricsSideTable.withLock { _ in attachment.governorSource }
        let exporter = attachment.exporter
        exporter.beginScrape()
        var reader = ProcessStatReader()
        let list = allComponents
        for c in list { exportComponent(c, exporter, &reader) }
        exportSlices(exporter)
        if let snapshot = governorSource?() { exportGovernor(snapshot, exporter) }
        exportSelf(scrape, attachment, componentCount: list.count, &reader)
        exporter.endScrape()
        var body: [UInt8] = []
        body.reserveCapacity(attachment.lastBodyBytes + 4096)
        exporter.render(into: &body)
        attachment.lastBodyBytes = body.count
        attachment.lastRenderSeconds = Double(EventLoop.monotonicNanoseconds() &- started) / 1e9
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
        if let cgroups, let path = cgroups.path(of: c.name) {
            usage = CgroupUsageReader.read(cgroups.manager, path: path)
        }
        if usage == nil, let pid = c.main?.pid {
            usage = reader.usage(pid: pid)
        }
        guard let usage else { return }
        exportUsage(usage, group, exporter, families: Self.componentUsageFamilies)
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
        for c in components.values { counts[c.config.effectiveSlice, default: 0] += 1 }
        for (slice, count) in counts { exporter.gauge(MetricsFamilies.sliceComponents, [("slice", slice)], Double(count)) }
        guard let cgroups else { return }
        for plan in cgroups.plan where plan.unit.hasSuffix(".slice") {
            let group = exporter.group(owner: "slice\u{0}\(plan.unit)", labels: [("slice", plan.unit)])
            // A slice with no running component may have been removed; it comes back
            // with the next start in it.
            guard let usage = CgroupUsageReader.read(cgroups.manager, path: plan.path) else { continue }
            exportUsage(usage, group, exporter, families: Self.sliceUsageFamilies)
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

    private func exportSelf(
        _ scrape: MetricsScrape, _ attachment: MetricsAttachment, componentCount: Int, _ reader: inout ProcessStatReader
    ) {
        typealias F = MetricsFamilies
        let exporter = attachment.exporter
        exporter.keep(owner: "process")
        if let own = reader.read(pid: nil) {
            exporter.gauge(F.residentMemory, [], Double(own.residentPages &* ProcessStatReader.pageBytes))
            exporter.gauge(F.virtualMemory, [], Double(own.virtualBytes))
            if ProcessStatReader.clockTicksPerSecond > 0 {
                exporter.counter(
                    F.processCPU, [], owner: "process", value: Double(own.cpuTicks) / ProcessStatReader.clockTicksPerSecond,
                    sourceID: 0)
            }
        }
        exporter.gauge(F.loopLag, [], scrape.loopLagSeconds)
        if let previous = attachment.lastRenderSeconds { exporter.gauge(F.renderDuration, [], previous) }
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

/// What a supervisor's metrics endpoint keeps. The exporter and the render figures are
/// touched on the loop thread only; `server` and `governorSource` under the side table's
/// lock.
final class MetricsAttachment: @unchecked Sendable {
    var server: MetricsServer?
    var governorSource: (() -> GovernorMetricsSnapshot?)?
    let exporter = MetricsExporter()
    var lastRenderSeconds: Double?
    var lastBodyBytes = 0
}

/// Side table: supervisor identity → its metrics endpoint (see the extension's comment).
let metricsSideTable = Mutex<[ObjectIdentifier: MetricsAttachment]>([:])
