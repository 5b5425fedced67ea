extension ServiceConfig {
    /// `Type=`, or systemd's default for a unit that leaves it unset: `oneshot` when the
    /// unit has no `ExecStart=`, `simple` otherwise.
    public var effectiveType: ServiceType {
        type ?? (execStart.isEmpty ? .oneshot : .simple)
    }

    /// The unit's supervision settings with systemd's defaults for what it leaves unset.
    public var restartPolicy: RestartPolicy {
        RestartPolicy(
            type: effectiveType,
            restart: restart ?? .no,
            restartUSec: restartSec ?? .milliseconds(100),
            restartSteps: restartSteps ?? 0,
            restartMaxDelayUSec: restartMaxDelaySec,
            restartPreventExitStatus: restartPreventExitStatus ?? ExitStatusSet(),
            successExitStatus: successExitStatus ?? ExitStatusSet(),
            startLimitBurst: startLimitBurst ?? 5,
            startLimitIntervalUSec: startLimitIntervalSec ?? .seconds(10),
            timeoutStartUSec: timeoutStartSec,
            timeoutStopUSec: timeoutStopSec ?? RestartPolicy.defaultTimeoutUSec,
            watchdogUSec: watchdogSec,
            killSignal: killSignal?.rawValue ?? SignalNumber.terminate.rawValue,
            finalKillSignal: finalKillSignal?.rawValue ?? SignalNumber.kill.rawValue,
            sendSIGKILL: sendSIGKILL ?? true,
            killMode: killMode ?? .controlGroup,
            cleanupSignal: cleanupSignal?.rawValue)
    }

    /// The shape of the command lists for the state machine.
    public var serviceCommands: ServiceCommands {
        func slots(_ list: [ConfiguredCommand]) -> [CommandSlot] {
            list.map { CommandSlot(ignoresFailure: $0.command.ignoreFailure) }
        }
        return ServiceCommands(
            startPre: slots(execStartPre), start: slots(execStart), startPost: slots(execStartPost),
            stop: slots(execStop), stopPost: slots(execStopPost))
    }

    /// `Requires=` and `BindsTo=`: the units whose failed start fails this one's.
    public var requiredUnits: Set<String> { Set(requires + bindsTo) }

    /// The configured command lines of one kind.
    public func commands(_ kind: CommandKind) -> [ConfiguredCommand] {
        switch kind {
        case .startPre: execStartPre
        case .start: execStart
        case .startPost: execStartPost
        case .stop: execStop
        case .stopPost: execStopPost
        }
    }

    /// The unit without where its settings were written: two units that differ only in
    /// file, line numbers or layout are the same component, and a reload leaves it alone.
    public var settingsOnly: ServiceConfig {
        var copy = self
        let nowhere = SourceLocation(file: "", line: 0)
        copy.location = nowhere
        copy.keyLocations = [:]
        func strip(_ list: [ConfiguredCommand]) -> [ConfiguredCommand] {
            list.map { ConfiguredCommand(command: $0.command, location: nowhere) }
        }
        copy.execStartPre = strip(execStartPre)
        copy.execStart = strip(execStart)
        copy.execStartPost = strip(execStartPost)
        copy.execReload = strip(execReload)
        copy.execStop = strip(execStop)
        copy.execStopPost = strip(execStopPost)
        return copy
    }

    /// True when a reload must restart the component to apply `other`.
    public func differsInSettings(from other: ServiceConfig) -> Bool {
        settingsOnly != other.settingsOnly
    }

    /// The name shown in logs: `SyslogIdentifier=`, else the unit name without `.service`.
    public var logTag: String {
        if let syslogIdentifier { return syslogIdentifier }
        let full = name.description
        return full.hasSuffix(".service") ? String(full.dropLast(".service".count)) : full
    }
}
