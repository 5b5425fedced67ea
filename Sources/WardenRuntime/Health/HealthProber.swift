import Logging
import WardenCore
import WardenLinux

/// Runs one `[X-Warden] HealthCheck=` probe. The probes themselves (exec, TCP connect,
/// HTTP GET) live in the effects layer; this is the seam the supervisor calls through.
public protocol HealthProber: AnyObject {
    /// Starts one probe of `check` for `unit` on `loop`'s thread and calls `completion`
    /// once, on that thread, with nil when healthy or the reason it is not. Must not
    /// block. Returns a cancel action (the component stopped); after it ran the
    /// completion must not run.
    func probe(_ check: HealthCheck, unit: String, loop: EventLoop, completion: @escaping (String?) -> Void)
        -> () -> Void
}

extension Supervisor {
    /// Health checks run while the component is up: the first one an interval after
    /// readiness, then one interval after each result (never two at once).
    func startHealthChecks(_ c: Component) {
        guard let check = c.config.healthCheck else { return }
        guard healthProber != nil else {
            if c.health.timer == nil && !c.health.probing {
                logger.notice("HealthCheck= is set but no prober is available; not probing", metadata: unit(c))
            }
            return
        }
        scheduleHealthProbe(c, after: check.interval)
    }

    func stopHealthChecks(_ c: Component) {
        if let timer = c.health.timer { loop.cancelTimer(timer) }
        c.health.cancelProbe?()
        c.health = HealthState()
    }

    private func scheduleHealthProbe(_ c: Component, after delay: TimeSpan) {
        if let timer = c.health.timer { loop.cancelTimer(timer) }
        c.health.timer = loop.addTimer(after: delay) { [unowned self] in
            c.health.timer = nil
            self.runHealthProbe(c)
        }
    }

    private func runHealthProbe(_ c: Component) {
        guard let check = c.config.healthCheck, let prober = healthProber, c.isUp,
            !c.health.probing
        else { return }
        c.health.probing = true
        let invocation = c.invocationID
        c.health.cancelProbe = prober.probe(check, unit: c.name, loop: loop) { [unowned self] failure in
            // A result for an earlier run, or after the checks were stopped, is stale.
            guard c.health.probing, c.invocationID == invocation else { return }
            c.health.probing = false
            c.health.cancelProbe = nil
            if let failure {
                c.health.consecutiveFailures += 1
                self.logger.notice(
                    "health check failed (\(c.health.consecutiveFailures)/\(check.failuresBeforeRestart)): \(failure)",
                    metadata: self.unit(c))
                if c.health.consecutiveFailures >= check.failuresBeforeRestart {
                    c.health.consecutiveFailures = 0
                    self.post(c, .healthCheckFailed(reason: "\(check.failuresBeforeRestart) consecutive failures: \(failure)"))
                }
            } else {
                c.health.consecutiveFailures = 0
                self.post(c, .healthCheckPassed)
            }
            if c.isUp { self.scheduleHealthProbe(c, after: check.interval) }
        }
    }
}

/// The real prober: `HealthProbe`'s exec, TCP and HTTP probes on the supervisor's loop.
public final class LoopHealthProber: HealthProber {
    public init() {}

    public func probe(_ check: HealthCheck, unit: String, loop: EventLoop, completion: @escaping (String?) -> Void)
        -> () -> Void
    {
        let probe = HealthProbe.start(check.target, timeout: check.timeout, on: loop) { result in
            switch result {
            case .passed: completion(nil)
            case .failed(let reason): completion(reason)
            }
        }
        return { probe.cancel() }
    }
}
