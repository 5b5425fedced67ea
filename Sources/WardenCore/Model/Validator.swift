/// Checks that need the whole configuration (or the host) rather than one value:
/// references between units, ordering cycles, limits that contradict each other, CPUs
/// that do not exist, commands that cannot run.
struct Validator {
    var configuration: Configuration
    var host: HostFacts?
    var fileSystem: any ConfigFileSystem
    var searchPath: [String]
    var conditionFacts: (any ConditionFacts)? = nil

    func crossCheck() -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let known = Set(configuration.services.map(\.name.description))
            .union(configuration.slices.map(\.name.description))
            .union(configuration.targets.map(\.name.description))
            .union(configuration.masked.keys)
            .union(configuration.aliases.keys)
        var warnedUnsupported: Set<String> = []
        for target in configuration.targets where !target.isImplicit {
            checkReferences(
                of: target.name.description, locations: target.keyLocations, fallback: target.location,
                hard: [("Requires", target.requires), ("BindsTo", target.bindsTo)],
                soft: [("Wants", target.wants), ("After", target.after), ("Before", target.before)],
                known: known, warnedUnsupported: &warnedUnsupported, &diagnostics)
        }
        for service in configuration.services {
            checkCommands(of: service, &diagnostics)
            checkReferences(
                of: service.name.description, locations: service.keyLocations, fallback: service.location,
                hard: [("Requires", service.requires), ("BindsTo", service.bindsTo)],
                soft: [("Wants", service.wants), ("After", service.after), ("Before", service.before)],
                known: known, warnedUnsupported: &warnedUnsupported, &diagnostics)
            if let slice = service.slice, !slice.hasSuffix(".slice") {
                diagnostics.append(.error(service.location, key: "Slice", "'\(slice)' is not a slice name"))
            }
            checkResources(service.resources, unit: service.name.description, at: service.location, &diagnostics)
            checkProcessSettings(of: service, &diagnostics)
        }
        for slice in configuration.slices where !slice.isImplicit {
            checkResources(slice.resources, unit: slice.name.description, at: slice.location, &diagnostics)
        }
        checkOrderingCycles(&diagnostics)
        checkGovernor(&diagnostics)
        return diagnostics
    }

    // MARK: Commands

    private func checkCommands(of service: ServiceConfig, _ diagnostics: inout [Diagnostic]) {
        // systemd 252 (service_verify): a service needs ExecStart=, ExecStop= or
        // SuccessAction=; only Type=oneshot (the default without ExecStart=) may have no
        // ExecStart= or several.
        let type = service.effectiveType
        // A command whose specifier failed already has its error.
        let unresolved = !service.unresolvedKeys.isDisjoint(with: ["ExecStart", "ExecStop", "Type"])
        if service.execStart.isEmpty, !unresolved {
            if service.execStop.isEmpty && !service.hasSuccessAction {
                diagnostics.append(
                    .error(
                        service.location, key: "ExecStart",
                        "missing; expected the command that runs the component (a service needs ExecStart=, ExecStop= or SuccessAction=)"))
            } else if type != .oneshot {
                diagnostics.append(
                    .error(
                        service.keyLocations["Type"] ?? service.location, key: "ExecStart",
                        "missing; only Type=oneshot may have no ExecStart=, expected a command for Type=\(type.rawValue)"))
            }
        } else if type != .oneshot, service.execStart.count > 1 {
            diagnostics.append(
                .error(
                    service.execStart[1].location, key: "ExecStart",
                    "more than one command; only Type=oneshot may have several (use ExecStartPre= or ExecStartPost=)"))
        }
        if type == .dbus { checkBusName(of: service, &diagnostics) }
        let all: [(String, [ConfiguredCommand])] = [
            ("ExecStartPre", service.execStartPre), ("ExecStart", service.execStart),
            ("ExecStartPost", service.execStartPost), ("ExecReload", service.execReload),
            ("ExecStop", service.execStop), ("ExecStopPost", service.execStopPost),
        ]
        // A unit that would be skipped here (or whose start would fail an assert) never
        // runs its commands on this machine: a missing program is no error.
        if checkConditions(of: service, &diagnostics) != .met { return }
        for (key, commands) in all + [("ExecCondition", service.execCondition)] {
            for configured in commands where !service.guardsPath(configured.command.path) {
                checkExecutable(configured, key: key, &diagnostics)
            }
        }
    }

    /// systemd refuses to load a `Type=dbus` unit without `BusName=`; without a system bus
    /// the name can never appear, so the start would fail.
    private func checkBusName(of service: ServiceConfig, _ diagnostics: inout [Diagnostic]) {
        guard let name = service.busName else {
            diagnostics.append(
                .error(
                    location(of: "Type", in: service), key: "Type",
                    "Type=dbus needs BusName=, the name whose appearance on the system bus means started"))
            return
        }
        if host?.systemBusPresent == false {
            diagnostics.append(
                .warning(
                    location(of: "Type", in: service), key: "Type",
                    "Type=dbus, but this host has no D-Bus system bus (/run/dbus/system_bus_socket): BusName=\(name) can never appear, so the start will fail; run dbus, or use Type=simple or notify"))
        }
    }

    private func checkExecutable(_ configured: ConfiguredCommand, key: String, _ diagnostics: inout [Diagnostic]) {
        let path = configured.command.path
        // A path built from environment variables is only known at start time.
        if path.contains("$") { return }
        let severity: Diagnostic.Severity = configured.command.ignoreFailure ? .warning : .error
        if path.hasPrefix("/") {
            if fileSystem.isExecutableFile(path) { return }
            diagnostics.append(
                Diagnostic(severity, configured.location, key: key, "\(path) does not exist or is not an executable file"))
            return
        }
        if ExecutableSearch.resolve(path, in: searchPath, fileSystem: fileSystem) != nil { return }
        diagnostics.append(
            Diagnostic(
                severity, configured.location, key: key,
                "'\(path)' not found in \(searchPath.joined(separator: ":")); expected an absolute path or a program in one of these directories"))
    }

    // MARK: Conditions

    /// What the unit's `Condition…=`/`Assert…=` lines say on this machine (when it is
    /// given): a note for a unit that would be skipped here, a warning for one whose start
    /// would fail an assert, a note naming the checks that cannot be evaluated here.
    private func checkConditions(of service: ServiceConfig, _ diagnostics: inout [Diagnostic]) -> ConditionVerdict.Outcome {
        guard let conditionFacts, !service.conditions.isEmpty || !service.asserts.isEmpty else { return .met }
        let verdict = ConditionEvaluator(facts: conditionFacts).evaluate(conditions: service.conditions, asserts: service.asserts)
        func location(_ conditions: [UnitCondition]) -> SourceLocation {
            conditions.first.flatMap { service.keyLocations[$0.key] } ?? service.location
        }
        switch verdict.outcome {
        case .met:
            break
        case .conditionUnmet(let failed):
            diagnostics.append(
                .note(
                    location(failed), key: failed.first?.key,
                    "would be skipped here: \(ConditionVerdict.notMet(failed))"))
        case .assertFailed(let failed):
            diagnostics.append(
                .warning(
                    location(failed), key: failed.first?.key,
                    "would fail to start here: \(ConditionVerdict.notMet(failed))"))
        }
        if !verdict.unevaluated.isEmpty {
            diagnostics.append(
                .note(
                    location(verdict.unevaluated), key: verdict.unevaluated.first?.key,
                    "cannot be evaluated here, treated as met: " + verdict.unevaluated.map(\.description).joined(separator: ", ")))
        }
        return verdict.outcome
    }

    // MARK: References

    /// Every name a dependency key gives must be a unit Warden knows: a component, a
    /// slice, a target, a masked unit, an alias, or one of systemd's special units. A
    /// unit type Warden cannot have is explained: an error for a hard dependency, which
    /// could never be met, a warning (once per name) for the others, which are ignored.
    private func checkReferences(
        of unit: String, locations: [String: SourceLocation], fallback: SourceLocation,
        hard: [(String, [String])], soft: [(String, [String])], known: Set<String>,
        warnedUnsupported: inout Set<String>, _ diagnostics: inout [Diagnostic]
    ) {
        for (key, names) in hard + soft {
            let isHard = hard.contains { $0.0 == key }
            let location = locations[key] ?? fallback
            // systemd loads a masked unit and fails its start job, and the dependent's with it.
            for name in names where isHard && configuration.masked[name] != nil {
                diagnostics.append(
                    .warning(
                        location, key: key,
                        "\(name) is masked: systemd fails the start of \(unit) for it, and so does Warden: \(unit) is not started"))
            }
            for name in names where !known.contains(name) && !WellKnownUnits.names.contains(name) {
                if let parsed = UnitName(parsing: name), let reason = UnsupportedUnitKinds.reason(for: parsed.kind) {
                    if isHard && UnsupportedUnitKinds.isOwnSocket(parsed, of: unit, ownName: configuration.canonicalName) {
                        diagnostics.append(
                            .warning(location, key: key, "\(name): \(reason); \(unit) starts without it and opens its own sockets, as it does when no socket is passed; the dependency is ignored"))
                    } else if isHard {
                        diagnostics.append(
                            .error(location, key: key, "\(name): \(reason); \(UnsupportedUnitKinds.advice(for: parsed, requiredBy: unit, ownName: configuration.canonicalName))"))
                    } else if warnedUnsupported.insert(name).inserted {
                        diagnostics.append(.warning(location, key: key, "\(name): \(reason); the dependency is ignored"))
                    }
                    continue
                }
                if isHard {
                    diagnostics.append(.error(location, key: key, "\(name) is not a configured unit\(suggestion(name, known))"))
                } else {
                    diagnostics.append(
                        .warning(location, key: key, "\(name) is not a configured unit; the dependency is ignored\(suggestion(name, known))"))
                }
            }
        }
    }

    private func suggestion(_ name: String, _ known: Set<String>) -> String {
        Suggestion.closest(to: name, in: known).map { " (did you mean \($0)?)" } ?? ""
    }

    /// Entries keep their own line; the model keeps only the unit's file, so find the line
    /// of the first assignment of the key for the message.
    private func location(of key: String, in service: ServiceConfig) -> SourceLocation {
        service.keyLocations[key] ?? service.location
    }

    // MARK: Resources

    private func checkResources(
        _ resources: ResourceControl, unit: String, at location: SourceLocation, _ diagnostics: inout [Diagnostic]
    ) {
        if let high = resources.memoryHigh, let max = resources.memoryMax,
            let highBytes = high.comparableBytes(on: host),
            let maxBytes = max.comparableBytes(on: host), highBytes > maxBytes
        {
            diagnostics.append(
                .error(
                    location, key: "MemoryHigh",
                    "\(high) is above MemoryMax=\(max); expected MemoryHigh ≤ MemoryMax (the throttle point must come before the OOM kill)"))
        }
        if let low = resources.memoryLow, let min = resources.memoryMin,
            let lowBytes = low.comparableBytes(on: host),
            let minBytes = min.comparableBytes(on: host), minBytes > lowBytes
        {
            diagnostics.append(
                .warning(location, key: "MemoryMin", "\(min) is above MemoryLow=\(low); MemoryLow has no effect"))
        }
        if let cpus = resources.allowedCPUs, let online = host?.onlineCPUs, !cpus.isSubset(of: online) {
            diagnostics.append(
                .error(location, key: "AllowedCPUs", "\(cpus) names CPUs this host does not have; expected a subset of \(online)"))
        }
    }

    // MARK: Per-process settings

    private func checkProcessSettings(of service: ServiceConfig, _ diagnostics: inout [Diagnostic]) {
        if let cpus = service.cpuAffinity, let online = host?.onlineCPUs, !cpus.isSubset(of: online) {
            diagnostics.append(
                .error(
                    location(of: "CPUAffinity", in: service), key: "CPUAffinity",
                    "\(cpus) names CPUs this host does not have; expected a subset of \(online)"))
        }
        if service.cpuSchedulingPriority != nil, ![.fifo, .rr].contains(service.cpuSchedulingPolicy) {
            diagnostics.append(
                .warning(
                    location(of: "CPUSchedulingPriority", in: service), key: "CPUSchedulingPriority",
                    "has no effect unless CPUSchedulingPolicy=fifo or rr"))
        }
        if let ambient = service.ambientCapabilities, let bounding = service.capabilityBoundingSet,
            !ambient.isSubset(of: bounding)
        {
            diagnostics.append(
                .error(
                    location(of: "AmbientCapabilities", in: service), key: "AmbientCapabilities",
                    "\(ambient.subtracting(bounding)) not in CapabilityBoundingSet=; an ambient capability must also be in the bounding set"))
        }
        if let base = service.restartSec, let max = service.restartMaxDelaySec, max < base {
            diagnostics.append(
                .error(
                    location(of: "RestartMaxDelaySec", in: service), key: "RestartMaxDelaySec",
                    "is below RestartSec=; expected a maximum delay ≥ RestartSec"))
        }
        if service.healthCheckTarget == nil {
            for key in ["HealthCheckIntervalSec", "HealthCheckTimeoutSec", "HealthCheckFailures"]
            where service.keyLocations[key] != nil {
                diagnostics.append(.warning(service.keyLocations[key]!, key: key, "has no effect without HealthCheck="))
            }
        }
        if configuration.effectivePriority(of: service) == .critical, service.emergencyCPUQuota != nil {
            diagnostics.append(
                .warning(
                    location(of: "EmergencyCPUQuota", in: service), key: "EmergencyCPUQuota",
                    "critical components are never throttled; the emergency quota is ignored"))
        }
    }

    // MARK: Ordering

    private func checkOrderingCycles(_ diagnostics: inout [Diagnostic]) {
        let graph = DependencyGraph(configuration: configuration)
        if let cycle = graph.orderingCycle(), let first = cycle.units.first {
            let service = configuration.service(named: first)
            let key = service?.keyLocations["After"] != nil ? "After" : "Before"
            diagnostics.append(
                .error(
                    service.map { location(of: key, in: $0) } ?? SourceLocation(file: first, line: 0), key: key,
                    "\(cycle); expected no unit to be ordered, directly or through others, after itself"))
        }
    }

    // MARK: Governor

    private func checkGovernor(_ diagnostics: inout [Diagnostic]) {
        let g = configuration.settings.governor
        let d = GovernorSettings.defaults
        let pairs: [(String, String, Int?, Int?, Int, Int)] = [
            ("LoadPerCPUWarning", "LoadPerCPUCritical", g.loadPerCPUWarningHundredths, g.loadPerCPUCriticalHundredths, d.loadPerCPUWarningHundredths, d.loadPerCPUCriticalHundredths),
            ("MemoryWarning", "MemoryCritical", g.memoryWarningPercent, g.memoryCriticalPercent, d.memoryWarningPercent, d.memoryCriticalPercent),
            ("CPUWarning", "CPUCritical", g.cpuWarningPercent, g.cpuCriticalPercent, d.cpuWarningPercent, d.cpuCriticalPercent),
            ("CPUPressureWarning", "CPUPressureCritical", g.cpuPressureWarningPercent, g.cpuPressureCriticalPercent, d.cpuPressureWarningPercent, d.cpuPressureCriticalPercent),
        ]
        for (warningKey, criticalKey, warning, critical, warningDefault, criticalDefault) in pairs
        where warning != nil || critical != nil {
            if (warning ?? warningDefault) >= (critical ?? criticalDefault) {
                diagnostics.append(
                    .error(
                        configuration.settings.keyLocations[warningKey] ?? configuration.settings.keyLocations[criticalKey]
                            ?? configuration.settings.location,
                        key: warningKey, "must be below \(criticalKey)="))
            }
        }
        if let window = g.pressureWindowSec, window < .milliseconds(500) || window > .seconds(10) {
            diagnostics.append(
                .error(
                    configuration.settings.keyLocations["PressureWindowSec"] ?? configuration.settings.location,
                    key: "PressureWindowSec", "expected 500ms…10s (the kernel's PSI trigger window limits)"))
        }
    }
}

/// Resolution of a plain command name, the way the runtime does it at start.
public enum ExecutableSearch {
    public static func resolve(_ name: String, in searchPath: [String], fileSystem: any ConfigFileSystem) -> String? {
        if name.hasPrefix("/") { return fileSystem.isExecutableFile(name) ? name : nil }
        if name.contains("/") { return nil }
        for directory in searchPath {
            let candidate = joinPath(directory, name)
            if fileSystem.isExecutableFile(candidate) { return candidate }
        }
        return nil
    }
}
