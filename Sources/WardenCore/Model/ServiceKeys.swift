// The keys of `NAME.service` and `NAME.slice` units. Meaning and syntax follow
// systemd.unit(5), systemd.service(5), systemd.exec(5), systemd.kill(5) and
// systemd.resource-control(5); where Warden differs, the doc says so. The
// resource-control keys, shared by both unit types, are the rows of `ResourceKeys`.

private let unitSection: Set<String> = ["Unit"]
private let serviceSection: Set<String> = ["Service"]
private let wardenSection: Set<String> = ["X-Warden"]

private func timeSpan(_ text: String) -> Result<TimeSpan, ValueError> {
    TimeSpan.parse(text, defaultUnit: .seconds(1))
}

/// `PIDFile=`: systemd takes a relative path below /run.
private func pidFilePath(_ text: String) -> Result<String, ValueError> {
    PlainValue.absolutePath(text.hasPrefix("/") ? text : "/run/" + text)
}

private func nonNegativeTimeSpan(_ text: String) -> Result<TimeSpan, ValueError> { timeSpan(text) }

private func unitName(kind: UnitName.Kind?) -> @Sendable (String) -> ValueError? {
    { word in
        guard let name = UnitName(parsing: word) else {
            return ValueError("'\(word)' is not a valid unit name; expected e.g. market-data.service")
        }
        if let kind, name.kind != kind {
            return ValueError("'\(word)' is not a .\(kind.rawValue) unit")
        }
        return nil
    }
}

extension KeyRule {
    /// A rule for a nested part of the model, applied to the whole model.
    func lifted<Whole>(_ part: WritableKeyPath<Whole, Model> & Sendable) -> KeyRule<Whole> {
        let apply = self.apply
        return KeyRule<Whole>(key, in: sections, doc) { whole, entry, diagnostics in
            apply(&whole[keyPath: part], entry, &diagnostics)
        }
    }
}

extension KeyRule where Model == ServiceConfig {
    /// `TimeoutSec=`: systemd's shorthand that sets `TimeoutStartSec=` and
    /// `TimeoutStopSec=` at once; a later assignment of either overrides its half.
    static let timeoutBoth = KeyRule(
        "TimeoutSec", in: serviceSection,
        KeyDoc(
            "Sets TimeoutStartSec= and TimeoutStopSec= at once.", syntax: "time span or infinity", default: "90s",
            mapsTo: "start and stop timers")
    ) { model, entry, diagnostics in
        if entry.value.isEmpty {
            model.timeoutStartSec = nil
            model.timeoutStopSec = nil
            return
        }
        switch timeSpan(entry.value) {
        case .success(let value):
            model.timeoutStartSec = value
            model.timeoutStopSec = value
        case .failure(let error):
            diagnostics.append(.error(entry.location, key: entry.key, error.message))
        }
    }

    /// `User=`/`Group=`: systemd's relaxed name rules, with a warning for names that
    /// only the relaxed rules accept (they break `useradd` and many tools).
    static func identity(_ key: String, _ field: WritableKeyPath<ServiceConfig, String?> & Sendable, _ doc: KeyDoc) -> KeyRule {
        KeyRule(key, in: serviceSection, doc) { model, entry, diagnostics in
            if entry.value.isEmpty {
                model[keyPath: field] = nil
                return
            }
            switch UserGroupName.parse(entry.value) {
            case .success(let name):
                model[keyPath: field] = name.description
                if !name.isStrictName {
                    diagnostics.append(
                        .warning(
                            entry.location, key: entry.key,
                            "'\(entry.value)' is accepted only by systemd's relaxed naming rules; expected letters, digits, _ and -, starting with a letter or _"))
                }
            case .failure(let error):
                diagnostics.append(.error(entry.location, key: entry.key, error.message))
            }
        }
    }
}

extension ServiceConfig {
    /// Every key a `.service` unit may set.
    public static let rules: [KeyRule<ServiceConfig>] = {
        var rules: [KeyRule<ServiceConfig>] = [
            .value(
                "Description", in: unitSection, \.description,
                KeyDoc("Human-readable name shown by `warden status`.", syntax: "text", default: "none", mapsTo: "status output"),
                parse: PlainValue.string),
            .list(
                "After", in: unitSection, \.after,
                KeyDoc(
                    "Start this component after the listed units are started (ready), stop it before them.",
                    syntax: "space-separated unit names", default: "none", mapsTo: "start/stop order"),
                validate: unitName(kind: nil)),
            .list(
                "Before", in: unitSection, \.before,
                KeyDoc(
                    "Start this component before the listed units.", syntax: "space-separated unit names",
                    default: "none", mapsTo: "start/stop order"),
                validate: unitName(kind: nil)),
            .list(
                "Requires", in: unitSection, \.requires,
                KeyDoc(
                    "Hard dependency: the listed units are started too, and if one is stopped or fails this one is stopped. Ordering needs After= as well.",
                    syntax: "space-separated unit names", default: "none", mapsTo: "dependency graph"),
                validate: unitName(kind: nil)),
            .list(
                "Wants", in: unitSection, \.wants,
                KeyDoc(
                    "Soft dependency: the listed units are started too; their failure does not affect this one.",
                    syntax: "space-separated unit names", default: "none", mapsTo: "dependency graph"),
                validate: unitName(kind: nil)),
            .list(
                "BindsTo", in: unitSection, \.bindsTo,
                KeyDoc(
                    "Like Requires=, and this component is also stopped when a listed unit stops on its own.",
                    syntax: "space-separated unit names", default: "none", mapsTo: "dependency graph"),
                validate: unitName(kind: nil)),
            .value(
                "StartLimitBurst", in: ["Unit", "Service"], \.startLimitBurst,
                KeyDoc(
                    "Starts allowed within StartLimitIntervalSec= before the component is marked failed and left down.",
                    syntax: "integer ≥ 0 (0 disables the limit)", default: "5", mapsTo: "restart state machine"),
                parse: PlainValue.integer(0...Int(Int32.max), what: "a number of starts")),
            .value(
                "StartLimitIntervalSec", in: ["Unit"], \.startLimitIntervalSec,
                KeyDoc(
                    "Window for StartLimitBurst=.", syntax: "time span (0 disables the limit)", default: "10s",
                    mapsTo: "restart state machine"),
                parse: timeSpan),
            .value(
                "StartLimitInterval", in: ["Unit", "Service"], \.startLimitIntervalSec,
                KeyDoc(
                    "systemd's older name of StartLimitIntervalSec=, still read in [Unit] and [Service].",
                    syntax: "time span (0 disables the limit)", default: "10s", mapsTo: "restart state machine"),
                parse: timeSpan),

            .choice(
                "Type", in: serviceSection, \.type,
                KeyDoc(
                    "When the component counts as started: simple on spawn, exec after execve succeeded, notify on READY=1 over $NOTIFY_SOCKET, oneshot when it exits 0, forking when the ExecStart= process exited 0 and the daemon it left is known (PIDFile=, GuessMainPID=), dbus when it holds BusName= on the system bus, idle as simple but spawned after the rest of its start wave (at most 5 s later), notify-reload as notify with reload by ReloadSignal=.",
                    syntax: "simple | exec | notify | oneshot | forking | dbus | idle | notify-reload", default: "simple",
                    mapsTo: "readiness",
                    systemd: .differs("notify-reload is systemd 253's; Type=dbus needs the system bus (/run/dbus/system_bus_socket), else its start fails"))),
            .commands(
                "ExecCondition", \.execCondition,
                KeyDoc(
                    "Commands run in order before ExecStartPre=; exit 1–254 skips the start (inactive, not failed), 255 or an abnormal end fails it.",
                    syntax: "command line (repeatable)", default: "none", mapsTo: "fork+execve")),
            .commands(
                "ExecStartPre", \.execStartPre,
                KeyDoc(
                    "Commands run in order before ExecStart=; a failing one fails the start unless prefixed with -.",
                    syntax: "command line (repeatable)", default: "none", mapsTo: "fork+execve")),
            .commands(
                "ExecStart", \.execStart,
                KeyDoc(
                    "The component's main command. Exactly one, except for Type=oneshot.",
                    syntax: "command line: absolute path or plain name, arguments with systemd quoting; prefixes - @ : + !",
                    default: "required", mapsTo: "fork+execve")),
            .commands(
                "ExecStartPost", \.execStartPost,
                KeyDoc(
                    "Commands run after the component is started (ready).", syntax: "command line (repeatable)",
                    default: "none", mapsTo: "fork+execve")),
            .commands(
                "ExecReload", \.execReload,
                KeyDoc(
                    "Commands run in order by `warden reload NAME` while the component runs, with $MAINPID set; bounded by TimeoutStartSec=. A failing command ends the reload and leaves the component running; without ExecReload= (and Type=notify-reload) a reload is refused.",
                    syntax: "command line (repeatable)", default: "none", mapsTo: "fork+execve")),
            .commands(
                "ExecStop", \.execStop,
                KeyDoc(
                    "Commands run first when the component is stopped, before KillSignal=.",
                    syntax: "command line (repeatable); $MAINPID is set", default: "none", mapsTo: "fork+execve")),
            .commands(
                "ExecStopPost", \.execStopPost,
                KeyDoc(
                    "Commands run after the component has stopped, with $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS set.",
                    syntax: "command line (repeatable)", default: "none", mapsTo: "fork+execve")),
            .choice(
                "Restart", in: serviceSection, \.restart,
                KeyDoc(
                    "Which exits restart the component (systemd.service(5), table 2).",
                    syntax: "no | on-success | on-failure | on-abnormal | on-abort | on-watchdog | always",
                    default: "no", mapsTo: "restart state machine")),
            .value(
                "RestartSec", in: serviceSection, \.restartSec,
                KeyDoc("Delay before a restart.", syntax: "time span", default: "100ms", mapsTo: "restart timer"),
                parse: timeSpan),
            .value(
                "RestartSteps", in: serviceSection, \.restartSteps,
                KeyDoc(
                    "Number of steps over which the restart delay grows exponentially from RestartSec= to RestartMaxDelaySec=.",
                    syntax: "integer 0…3600", default: "0 (constant delay)", mapsTo: "restart timer"),
                parse: PlainValue.integer(0...3600, what: "a number of steps")),
            .value(
                "RestartMaxDelaySec", in: serviceSection, \.restartMaxDelaySec,
                KeyDoc(
                    "Upper bound of the growing restart delay.", syntax: "time span or infinity",
                    default: "infinity", mapsTo: "restart timer"),
                parse: timeSpan),
            .value(
                "RestartPreventExitStatus", in: serviceSection, \.restartPreventExitStatus,
                KeyDoc(
                    "Exit codes and signals that never lead to a restart, whatever Restart= says.",
                    syntax: "exit codes 0…255 and signal names", default: "none", mapsTo: "restart state machine"),
                parse: ExitStatusSet.parse),
            .value(
                "SuccessExitStatus", in: serviceSection, \.successExitStatus,
                KeyDoc(
                    "Exit codes and signals counted as a clean exit besides 0 and SIGHUP/SIGINT/SIGTERM/SIGPIPE.",
                    syntax: "exit codes 0…255 and signal names", default: "none", mapsTo: "restart state machine"),
                parse: ExitStatusSet.parse),
            .value(
                "TimeoutStartSec", in: serviceSection, \.timeoutStartSec,
                KeyDoc(
                    "Time allowed from spawn to ready; past it the start fails with result timeout.",
                    syntax: "time span or infinity", default: "90s", mapsTo: "start timer"),
                parse: timeSpan),
            .timeoutBoth,
            .value(
                "TimeoutStopSec", in: serviceSection, \.timeoutStopSec,
                KeyDoc(
                    "Time allowed for ExecStop= and for the processes to exit after KillSignal=; then FinalKillSignal= is sent.",
                    syntax: "time span or infinity", default: "90s", mapsTo: "stop timer"),
                parse: timeSpan),
            .value(
                "WatchdogSec", in: serviceSection, \.watchdogSec,
                KeyDoc(
                    "The component must send WATCHDOG=1 at least this often (it gets $WATCHDOG_USEC); a miss is a failure with result watchdog.",
                    syntax: "time span (0 disables)", default: "0", mapsTo: "sd_notify watchdog"),
                parse: timeSpan),
            .value(
                "KillSignal", in: serviceSection, \.killSignal,
                KeyDoc(
                    "Signal that asks the component to stop.", syntax: "signal name or number (SIGTERM, TERM, 15)",
                    default: "SIGTERM", mapsTo: "pidfd_send_signal / kill"),
                parse: SignalNumber.parse),
            .choice(
                "KillMode", in: serviceSection, \.killMode,
                KeyDoc(
                    "Which processes get KillSignal=: control-group all of them, mixed the main process (the rest get only the final kill), process only the main process.",
                    syntax: "control-group | mixed | process", default: "control-group", mapsTo: "cgroup.procs / process group")),
            .value(
                "FinalKillSignal", in: serviceSection, \.finalKillSignal,
                KeyDoc(
                    "Signal sent to every remaining process after TimeoutStopSec=.", syntax: "signal name or number",
                    default: "SIGKILL", mapsTo: "cgroup.kill or kill(2)"),
                parse: SignalNumber.parse),
            .value(
                "SendSIGKILL", in: serviceSection, \.sendSIGKILL,
                KeyDoc(
                    "Whether FinalKillSignal= is sent at all after TimeoutStopSec=.", syntax: "boolean",
                    default: "yes", mapsTo: "stop sequence"),
                parse: parseBoolean),
            .value(
                "RemainAfterExit", in: serviceSection, \.remainAfterExit,
                KeyDoc(
                    "Whether the component stays active (exited) once its processes ended successfully; a stop then runs ExecStop=.",
                    syntax: "boolean", default: "no", mapsTo: "state machine"),
                parse: parseBoolean),
            .value(
                "PIDFile", in: serviceSection, \.pidFile,
                KeyDoc(
                    "Type=forking: the file the daemon writes its PID to, read once the ExecStart= process exited (waited for until TimeoutStartSec=); the PID must be a process of the component.",
                    syntax: "path (relative: below /run)", default: "none", mapsTo: "main process"),
                parse: pidFilePath),
            .value(
                "GuessMainPID", in: serviceSection, \.guessMainPID,
                KeyDoc(
                    "Type=forking without PIDFile=: take the daemon left in the component (its one process re-parented to Warden) as the main process; with several there is none, and the component runs until all its processes are gone.",
                    syntax: "boolean", default: "yes", mapsTo: "main process"),
                parse: parseBoolean),
            .value(
                "BusName", in: serviceSection, \.busName,
                KeyDoc(
                    "Type=dbus: the well-known D-Bus name whose appearance on the system bus means started.",
                    syntax: "D-Bus well-known name (org.example.Name)", default: "none (required by Type=dbus)",
                    mapsTo: "readiness"),
                parse: BusNameSyntax.parse),
            .value(
                "ReloadSignal", in: serviceSection, \.reloadSignal,
                KeyDoc(
                    "Type=notify-reload: the signal a reload sends to the main process.", syntax: "signal name or number",
                    default: "SIGHUP", mapsTo: "reload",
                    systemd: .differs("systemd 253's key, read here for Type=notify-reload")),
                parse: SignalNumber.parse),

            .identity(
                "User", \.user,
                KeyDoc(
                    "User the component runs as.", syntax: "user name or numeric UID", default: "Warden's own (root)",
                    mapsTo: "setuid(2) before execve")),
            .identity(
                "Group", \.group,
                KeyDoc(
                    "Primary group.", syntax: "group name or numeric GID", default: "the user's primary group",
                    mapsTo: "setgid(2)")),
            .list(
                "SupplementaryGroups", in: serviceSection, \.supplementaryGroups,
                KeyDoc(
                    "Additional groups.", syntax: "space-separated group names", default: "none",
                    mapsTo: "setgroups(2)"),
                validate: { name in
                    if case .failure(let error) = UserGroupName.parse(name) { return error }
                    return nil
                }),
            .value(
                "SyslogIdentifier", in: serviceSection, \.syslogIdentifier,
                KeyDoc(
                    "The name the component's output and Warden's lines about it are logged under: the journal's SYSLOG_IDENTIFIER (journalctl -t) and the warden[NAME] prefix on stderr.",
                    syntax: "text without spaces", default: "the unit name without .service", mapsTo: "journal SYSLOG_IDENTIFIER="),
                parse: { text in
                    guard !text.contains(where: { $0 == " " || $0 == "\t" }) else {
                        return .failure(ValueError("'\(text)' is not a syslog identifier; expected text without spaces"))
                    }
                    return .success(text)
                }),
            .value(
                "WorkingDirectory", in: serviceSection, \.workingDirectory,
                KeyDoc(
                    "Working directory; a leading - ignores a missing directory, ~ is the user's home.",
                    syntax: "absolute path, -path or ~", default: "/", mapsTo: "chdir(2)"),
                parse: { text in
                    let path = text.hasPrefix("-") ? String(text.dropFirst()) : text
                    if path == "~" { return .success(text) }
                    return PlainValue.absolutePath(path).map { _ in text }
                }),
            KeyRule(
                "Environment", in: serviceSection,
                KeyDoc(
                    "Environment variables; repeatable, later assignments win; an empty assignment clears the list.",
                    syntax: "space-separated NAME=value, quoted when the value has spaces", default: "PATH and the notify/watchdog variables",
                    mapsTo: "execve envp")
            ) { model, entry, diagnostics in
                if entry.value.isEmpty {
                    model.environment = []
                    return
                }
                switch SystemdWords.parseEnvironment(entry.value) {
                case .success(let parsed):
                    model.environment += parsed.assignments
                    for problem in parsed.problems {
                        diagnostics.append(.error(entry.location, key: entry.key, "\(problem)"))
                    }
                case .failure(let error):
                    diagnostics.append(.error(entry.location, key: entry.key, "\(error)"))
                }
            },
            KeyRule(
                "EnvironmentFile", in: serviceSection,
                KeyDoc(
                    "File of NAME=value lines read at each start; a leading - ignores a missing file.",
                    syntax: "absolute path or -path (repeatable)", default: "none", mapsTo: "execve envp")
            ) { model, entry, diagnostics in
                if entry.value.isEmpty {
                    model.environmentFiles = []
                    return
                }
                let ignore = entry.value.hasPrefix("-")
                let path = ignore ? String(entry.value.dropFirst()) : entry.value
                switch PlainValue.absolutePath(path) {
                case .success: model.environmentFiles.append(EnvironmentFileReference(path: path, ignoreIfMissing: ignore))
                case .failure(let error): diagnostics.append(.error(entry.location, key: entry.key, error.message))
                }
            },
            .value(
                "UMask", in: serviceSection, \.umask,
                KeyDoc("File mode creation mask.", syntax: "octal, e.g. 0027", default: "0022", mapsTo: "umask(2)"),
                parse: { UMask.parse($0).map(\.value) }),
            .value(
                "Nice", in: serviceSection, \.nice,
                KeyDoc(
                    "Scheduling niceness; lower is favoured (the runbooks use -10 for the trading bot).",
                    syntax: "integer -20…19", default: "0 (inherited)", mapsTo: "setpriority(2)"),
                parse: PlainValue.integer(Int32(-20)...19, what: "a nice level")),
            .value(
                "CPUAffinity", in: serviceSection, \.cpuAffinity,
                KeyDoc(
                    "CPUs the processes may run on, set per process (what `taskset -c` does); AllowedCPUs= is the cgroup form.",
                    syntax: "CPU list, e.g. 0-3", default: "all", mapsTo: "sched_setaffinity(2)"),
                parse: CPUSet.parse),
            .choice(
                "CPUSchedulingPolicy", in: serviceSection, \.cpuSchedulingPolicy,
                KeyDoc(
                    "Scheduling policy; fifo and rr are real-time.", syntax: "other | batch | idle | fifo | rr",
                    default: "other", mapsTo: "sched_setscheduler(2)")),
            .value(
                "CPUSchedulingPriority", in: serviceSection, \.cpuSchedulingPriority,
                KeyDoc(
                    "Real-time priority for fifo and rr.", syntax: "integer 1…99", default: "0",
                    mapsTo: "sched_setscheduler(2)"),
                parse: PlainValue.integer(Int32(1)...99, what: "a real-time priority")),
            .value(
                "OOMScoreAdjust", in: serviceSection, \.oomScoreAdjust,
                KeyDoc(
                    "Bias for the kernel's OOM killer; negative protects, -1000 exempts.",
                    syntax: "integer -1000…1000", default: "0 (inherited)", mapsTo: "/proc/PID/oom_score_adj"),
                parse: PlainValue.integer(Int32(-1000)...1000, what: "an OOM score adjustment")),
            KeyRule(
                "AmbientCapabilities", in: serviceSection,
                KeyDoc(
                    "Capabilities kept across execve for a non-root user, e.g. CAP_NET_BIND_SERVICE, CAP_SYS_NICE.",
                    syntax: "space-separated CAP_ names; ~ inverts; repeatable", default: "none",
                    mapsTo: "capset(2) + PR_CAP_AMBIENT_RAISE")
            ) { model, entry, diagnostics in
                model.foldCapabilities(entry, key: .ambient, into: \.ambientCapabilities, &diagnostics)
            },
            KeyRule(
                "CapabilityBoundingSet", in: serviceSection,
                KeyDoc(
                    "Capabilities the processes may ever hold; all others are dropped from the bounding set.",
                    syntax: "space-separated CAP_ names; ~ inverts; repeatable", default: "all",
                    mapsTo: "prctl(PR_CAPBSET_DROP)")
            ) { model, entry, diagnostics in
                model.foldCapabilities(entry, key: .boundingSet, into: \.capabilityBoundingSet, &diagnostics)
            },
            .value(
                "IgnoreSIGPIPE", in: serviceSection, \.ignoreSIGPIPE,
                KeyDoc(
                    "Start the process with SIGPIPE ignored, so a write to a closed pipe fails with EPIPE instead of killing it (a component Warden re-adopted after its own restart writes to the old Warden's pipe).",
                    syntax: "boolean", default: "yes", mapsTo: "SIG_IGN for SIGPIPE before exec"),
                parse: parseBoolean),
            .value(
                "NoNewPrivileges", in: serviceSection, \.noNewPrivileges,
                KeyDoc(
                    "Forbid gaining privileges through setuid binaries or file capabilities.", syntax: "boolean",
                    default: "no", mapsTo: "prctl(PR_SET_NO_NEW_PRIVS)"),
                parse: parseBoolean),
            .value(
                "StandardOutput", in: serviceSection, \.standardOutput,
                KeyDoc(
                    "Where stdout goes: Warden's log (inherit/journal), nowhere, or a file.",
                    syntax: "inherit | journal | null | file:PATH | append:PATH | truncate:PATH",
                    default: "journal (Warden's log target, tagged with the component's name)", mapsTo: "pipe read by Warden, or the file"),
                parse: OutputTarget.parse),
            .value(
                "StandardError", in: serviceSection, \.standardError,
                KeyDoc(
                    "Where stderr goes.", syntax: "as StandardOutput=", default: "inherit (same as stdout)",
                    mapsTo: "pipe read by Warden, or the file"),
                parse: OutputTarget.parse),
            .value(
                "Slice", in: serviceSection, \.slice,
                KeyDoc(
                    "The resource group the component runs in; slices nest by name (trading-critical.slice is inside trading.slice).",
                    syntax: "NAME.slice", default: "system.slice", mapsTo: "cgroup directory"),
                parse: { text in
                    if let problem = unitName(kind: .slice)(text) { return .failure(problem) }
                    return .success(text)
                }),

            .choice(
                "Priority", in: wardenSection, \.priority,
                KeyDoc(
                    "Who the governor protects and who gives way: critical is never throttled, batch is throttled first.",
                    syntax: "critical | normal | batch", default: "the slice's, else normal", mapsTo: "governor",
                    systemd: .wardenOnly)),
            .choice(
                "Duplicates", in: wardenSection, \.duplicates,
                KeyDoc(
                    "What to do when a copy of this component runs that Warden did not start. Set: checked before every start, automatic restarts included. Unset: warn, checked when a start is asked for (not at automatic restarts).",
                    syntax: "refuse | kill | adopt | warn", default: "warn", mapsTo: "/proc scan before start",
                    systemd: .wardenOnly)),
            .value(
                "DuplicateMatch", in: wardenSection, \.duplicateMatch,
                KeyDoc(
                    "How a stray copy is recognised.",
                    syntax: "executable | executable+arguments | pattern:GLOB | pidfile:PATH", default: "executable+arguments",
                    mapsTo: "/proc/PID/exe, /proc/PID/cmdline", systemd: .wardenOnly),
                parse: DuplicateMatch.parse),
            .value(
                "HealthCheck", in: wardenSection, \.healthCheckTarget,
                KeyDoc(
                    "Periodic liveness probe; HealthCheckFailures= failures in a row restart the component per Restart=.",
                    syntax: "exec:COMMAND | tcp:HOST:PORT | http://HOST:PORT/PATH", default: "none",
                    mapsTo: "probe run by Warden", systemd: .wardenOnly),
                parse: HealthCheckTarget.parse),
            .value(
                "HealthCheckIntervalSec", in: wardenSection, \.healthCheckIntervalSec,
                KeyDoc("Time between probes.", syntax: "time span", default: "30s", mapsTo: "probe timer", systemd: .wardenOnly),
                parse: timeSpan),
            .value(
                "HealthCheckTimeoutSec", in: wardenSection, \.healthCheckTimeoutSec,
                KeyDoc("Time a probe may take.", syntax: "time span > 0", default: "10s", mapsTo: "probe timer", systemd: .wardenOnly),
                parse: { text in
                    // A probe without a timeout could hang forever and never count as failed.
                    timeSpan(text).flatMap { span in
                        span == .zero || span.isInfinite
                            ? .failure(ValueError("'\(text)' would let a probe hang forever; expected a time span above 0, e.g. 10s"))
                            : .success(span)
                    }
                }),
            .value(
                "HealthCheckFailures", in: wardenSection, \.healthCheckFailures,
                KeyDoc(
                    "Consecutive failed probes before a restart.", syntax: "integer 1…100", default: "3",
                    mapsTo: "probe counter", systemd: .wardenOnly),
                parse: PlainValue.integer(1...100, what: "a number of probes")),
            .value(
                "CleanupSignal", in: wardenSection, \.cleanupSignal,
                KeyDoc(
                    "Signal sent before ExecStop= and KillSignal= so the process can free memory and flush state.",
                    syntax: "signal name or number", default: "none", mapsTo: "pidfd_send_signal", systemd: .wardenOnly),
                parse: SignalNumber.parse),
            .value(
                "EmergencyCPUQuota", in: wardenSection, \.emergencyCPUQuota,
                KeyDoc(
                    "CPU quota the governor applies to this component in an overload (batch and normal components only).",
                    syntax: "percentage, as CPUQuota=", default: "[Governor] EmergencyCPUQuota= (50%)", mapsTo: "cpu.max",
                    systemd: .wardenOnly),
                parse: nonEmpty(CPUQuota.parse)),
        ]
        rules += KeyRule.conditionRules
        rules += ResourceKeys.rules(in: "Service", of: \ServiceConfig.resources)
        rules += ExecDirectoryKeys.rules
        for kind in ResourceLimitKind.allCases {
            rules.append(
                KeyRule(
                    kind.rawValue, in: serviceSection,
                    KeyDoc(
                        "Resource limit \(kind.rawValue.dropFirst("Limit".count)) of each process.",
                        syntax: "value or soft:hard, or infinity\(kind.syntaxNote)", default: "inherited from Warden",
                        mapsTo: "setrlimit(2) \(kind.linuxName)")
                ) { model, entry, diagnostics in
                    if entry.value.isEmpty {
                        model.resourceLimits[kind] = nil
                        return
                    }
                    switch ResourceLimit.parse(entry.value, kind: kind) {
                    case .success(let limit): model.resourceLimits[kind] = limit
                    case .failure(let error): diagnostics.append(.error(entry.location, key: entry.key, error.message))
                    }
                })
        }
        return rules
    }()
}

extension SliceConfig {
    /// Every key a `.slice` unit may set.
    public static let rules: [KeyRule<SliceConfig>] = {
        var rules: [KeyRule<SliceConfig>] = [
            .value(
                "Description", in: unitSection, \.description,
                KeyDoc("Human-readable name.", syntax: "text", default: "none", mapsTo: "status output"),
                parse: PlainValue.string),
            .choice(
                "Priority", in: wardenSection, \.priority,
                KeyDoc(
                    "Priority of every component in the slice that does not set its own.",
                    syntax: "critical | normal | batch", default: "normal", mapsTo: "governor", systemd: .wardenOnly)),
            .value(
                "EmergencyCPUQuota", in: wardenSection, \.emergencyCPUQuota,
                KeyDoc(
                    "CPU quota the governor applies to the whole slice in an overload.", syntax: "percentage",
                    default: "[Governor] EmergencyCPUQuota=", mapsTo: "cpu.max", systemd: .wardenOnly),
                parse: nonEmpty(CPUQuota.parse)),
        ]
        rules += ResourceKeys.rules(in: "Slice", of: \SliceConfig.resources)
        return rules
    }()
}

/// systemd's boolean spellings.
func parseBoolean(_ text: String) -> Result<Bool, ValueError> { SystemdBoolean.parse(text) }
