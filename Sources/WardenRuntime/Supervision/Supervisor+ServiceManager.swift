import WardenCore
import WardenLinux

/// Warden as a systemd service (`Type=notify`): READY=1 once every component that is to
/// start has settled, a one-line STATUS=, WATCHDOG=1 from the loop itself (a hung loop
/// stops the pings, so systemd's watchdog sees the hang), RELOADING=1 around reloads,
/// STOPPING=1 and EXTEND_TIMEOUT_USEC= during shutdown. All of it does nothing when
/// `$NOTIFY_SOCKET` is not set.
extension Supervisor {
    func startServiceManagerLink() {
        guard serviceManager.isActive else { return }
        if let interval = serviceManager.watchdogPingInterval {
            logger.info("systemd watchdog: pinging every \(interval.systemdString())")
            scheduleWatchdogPing(every: interval)
        }
    }

    private func scheduleWatchdogPing(every interval: TimeSpan) {
        _ = loop.addTimer(after: interval) { [unowned self] in
            guard self.phase != .finished else { return }
            _ = try? self.serviceManager.watchdog()
            self.scheduleWatchdogPing(every: interval)
        }
    }

    /// Called at the end of every pump: READY=1 the first time everything has settled,
    /// then STATUS= whenever the summary changes.
    func updateServiceManager() {
        guard serviceManager.isActive else { return }
        let all = Array(components.values)
        let up = all.filter(\.isUp).count
        let failed = all.filter(\.isFailed).count
        var summary: String
        switch phase {
        case .shuttingDown, .finished:
            summary = "stopping: \(all.filter { !$0.isDown }.count) of \(all.count) still up"
        case .idle, .running:
            summary = "\(up)/\(all.count) running"
            if failed > 0 { summary += ", \(failed) failed" }
        }
        if phase == .running, !announcedReady, all.allSatisfy(\.hasSettled) {
            announcedReady = true
            announcedStatus = summary
            _ = try? serviceManager.ready(status: summary)
            return
        }
        if summary != announcedStatus {
            announcedStatus = summary
            _ = try? serviceManager.status(summary)
        }
    }

    func serviceManagerReloading() {
        _ = try? serviceManager.reloading(status: "reloading the configuration")
    }

    func serviceManagerReloaded() {
        _ = try? serviceManager.ready(status: announcedStatus)
    }

    /// STOPPING=1, and the stop timeout extended to the shutdown budget plus the kill
    /// grace, so systemd does not kill a shutdown that is still progressing.
    func serviceManagerStopping(budget: TimeSpan) {
        _ = try? serviceManager.stopping(status: "stopping \(components.count) component(s)")
        _ = try? serviceManager.extendTimeout(by: TimeSpan(usec: budget.usec + options.shutdownKillGrace.usec + 5_000_000))
    }
}

extension Component {
    /// Up, or down for good (failed, a finished oneshot, not started for a dependency):
    /// nothing is pending for it at start-up.
    var hasSettled: Bool {
        if stack.wantsStart || stack.startQueued { return false }
        return isUp || isDown
    }
}
