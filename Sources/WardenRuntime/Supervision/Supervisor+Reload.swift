import Logging
import WardenCore
import WardenLinux

/// Reading the configuration again and applying the difference (loop thread).
extension Supervisor {
    // MARK: Reload

    func reloadFromSource() {
        guard let reloadSource else {
            logger.warning("reload requested, but no configuration source is set")
            return
        }
        logger.info("reloading the configuration")
        serviceManagerReloading()
        applyReload(reloadSource())
        serviceManagerReloaded()
    }

    func applyReload(_ result: ConfigurationLoader.Result) {
        guard phase == .running else {
            logger.notice("reload ignored: not running")
            return
        }
        guard let new = result.configuration else {
            for diagnostic in result.diagnostics { logger.error("\(diagnostic.description)") }
            let errors = result.diagnostics.filter { $0.severity == .error }.count
            logger.error("reload refused: the configuration has \(errors) error(s); nothing changed")
            return
        }
        for diagnostic in result.diagnostics { logger.notice("\(diagnostic.description)") }
        if new.settings.settingsOnlyChangesNeedRestart(comparedTo: configuration.settings) {
            logger.notice("changes to [Warden] settings take effect at the next start of warden")
        }
        let changes = ReloadChanges(current: components.mapValues(\.config), new: new)
        for name in changes.removed {
            guard let c = components.removeValue(forKey: name) else { continue }
            c.pendingConfig = nil
            retired.append(c)
            if c.stack.retire() { queue.append((c, .stopRequested)) }
        }
        for service in new.services {
            let name = service.name.description
            let priority = new.effectivePriority(of: service)
            if let c = components[name] {
                if changes.changed.contains(name) {
                    c.pendingConfig = service
                    let replacement = StackMember.Replacement(priority: priority, requiredUnits: service.requiredUnits)
                    if c.stack.await(replacement) {
                        // An operator's stop under way stays one: it ends down either way.
                        if currentIntent(of: c) != .stop { recordIntent(.replace, for: c) }
                        queue.append((c, .stopRequested))
                    }
                } else {
                    c.refreshLocations(service, priority: priority)
                }
            } else {
                let c = Component(config: service, priority: priority)
                c.stack.wantsStart = true
                components[name] = c
            }
        }
        scopes?.configurationReloaded(from: configuration, to: new, logger: logger)
        configuration = new
        planner.graph = DependencyGraph(configuration: new)
        host = HostProbe.facts()
        if let cgroups {
            for problem in cgroups.replacePlan(CgroupPlan.plan(for: new, host: host)) {
                logger.warning("not enforced after reload: \(problem)")
            }
        }
        func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.sorted().joined(separator: ", ") }
        logger.info("reloaded: added \(list(changes.added)); changed \(list(changes.changed)); removed \(list(changes.removed))")
        pump()
    }
}

extension WardenSettings {
    /// True when a reload brings `[Warden]` settings the running daemon cannot apply.
    func settingsOnlyChangesNeedRestart(comparedTo old: WardenSettings) -> Bool {
        stateDirectory != old.stateDirectory || controlSocket != old.controlSocket || logTarget != old.logTarget
            || cgroupBackend != old.cgroupBackend
    }
}
