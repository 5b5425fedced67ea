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
            handler: { [unowned self] scrape in self.renderMetrics(scrape) })
        let previous = metricsSideTable.withLock { _ in
            let old = attachment.server
            attachment.server = server
            return old
        }
        if let previous { loop.execute { previous.close() } }
        return server
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
        let labels = [("component", c.name), ("slice", c.config.effectiveSlice)]
        let owner = "component\u{0}\(c.name)\u{0}\(c.config.effectiveSlice)"
        exporter.keep(owner: owner)
        let active = c.machine.activeState
        for state in F.activeStates {
            exporter.gauge(F.componentState, labels + [("state", state)], active == state ? 1 : 0)
        }
        exporter.gauge(F.componentReady, labels, c.isUp ? 1 : 0)
        // The machine is replaced by a reload that changes the unit: its count then
        // starts again, which the counter absorbs (the source id stays the same; a
        // lower reading counts from zero).
        exporter.counter(F.componentRestarts, labels, owner: owner, value: Double(c.machine.restartCount), sourceID: 0)
        switch c.lastExit {
        case .exited(let code)?: exporter.gauge(F.componentLastExitCode, labels, Double(code))
        case .killed(let signal, _)?: exporter.gauge(F.componentLastExitSignal, labels, Double(signal))
        case nil: break
        }
        var usage: UsageReading?
        if let cgroups, let path = cgroups.path(of: c.name) {
            usage = CgroupUsageReader.read(cgroups.manager, path: path)
        }
        if usage == nil, let pid = c.main?.pid {
            usage = reader.usage(pid: pid)
        }
        guard let usage else { return }
        exportUsage(
            usage, labels: labels, owner: owner, exporter,
            families: UsageFamilies(
                cpu: F.componentCPU, throttled: F.componentThrottled, memoryCurrent: F.componentMemoryCurrent,
                memoryPeak: F.componentMemoryPeak, memoryEvents: F.componentMemoryEvents, tasks: F.componentTasks,
                pressureAverage: F.componentPressureAverage, pressureTotal: F.componentPressureTotal))
    }

    private func exportSlices(_ exporter: MetricsExporter) {
        typealias F = MetricsFamilies
        var counts: [String: Int] = [:]
        for c in components.values { counts[c.config.effectiveSlice, default: 0] += 1 }
        for (slice, count) in counts { exporter.gauge(F.sliceComponents, [("slice", slice)], Double(count)) }
        guard let cgroups else { return }
        let families = UsageFamilies(
            cpu: F.sliceCPU, throttled: F.sliceThrottled, memoryCurrent: F.sliceMemoryCurrent,
            memoryPeak: F.sliceMemoryPeak, memoryEvents: F.sliceMemoryEvents, tasks: F.sliceTasks,
            pressureAverage: F.slicePressureAverage, pressureTotal: F.slicePressureTotal)
        for group in cgroups.plan where group.unit.hasSuffix(".slice") {
            let owner = "slice\u{0}\(group.unit)"
            exporter.keep(owner: owner)
            // A slice with no running component may have been removed; it comes back
            // with the next start in it.
            guard let usage = CgroupUsageReader.read(cgroups.manager, path: group.path) else { continue }
            exportUsage(usage, labels: [("slice", group.unit)], owner: owner, exporter, families: families)
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
        _ usage: UsageReading, labels: [(String, String)], owner: String, _ exporter: MetricsExporter,
        families: UsageFamilies
    ) {
        let source = usage.sourceID
        if let seconds = usage.cpuSeconds {
            exporter.counter(families.cpu, labels, owner: owner, value: seconds, sourceID: source)
        }
        if let seconds = usage.throttledSeconds {
            exporter.counter(families.throttled, labels, owner: owner, value: seconds, sourceID: source)
        }
        if let bytes = usage.memoryCurrentBytes { exporter.gauge(families.memoryCurrent, labels, Double(bytes)) }
        if let bytes = usage.memoryPeakBytes { exporter.gauge(families.memoryPeak, labels, Double(bytes)) }
        if let events = usage.memoryEvents {
            var named: [(String, UInt64)] = [
                ("low", events.low), ("high", events.high), ("max", events.max), ("oom", events.oom),
                ("oom_kill", events.oomKill),
            ]
            if let group = events.oomGroupKill { named.append(("oom_group_kill", group)) }
            for (event, count) in named {
                exporter.counter(
                    families.memoryEvents, labels + [("event", event)], owner: owner, value: Double(count), sourceID: source)
            }
        }
        if let tasks = usage.tasks { exporter.gauge(families.tasks, labels, Double(tasks)) }
        for (resource, pressure) in usage.pressure {
            let lines: [(String, PressureLine)] = [("some", pressure.some)] + (pressure.full.map { [("full", $0)] } ?? [])
            for (stall, line) in lines {
                let series = labels + [("resource", resource), ("stall", stall)]
                exporter.gauge(families.pressureAverage, series, line.avg10Percent / 100)
                exporter.counter(
                    families.pressureTotal, series, owner: owner, value: Double(line.totalUSec) / 1e6, sourceID: source)
            }
        }
    }
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
