/// systemd keys that Warden reads past without enforcing. A unit written for systemd
/// keeps working under Warden; these get a warning that says the setting has no effect
/// here, instead of the error an unknown or misspelt key gets.
enum SystemdOnlyKeys {
    /// Keys that only describe the unit: nothing to enforce, so nothing to warn about.
    static let informational: Set<String> = ["Documentation", "SourcePath"]

    static let unit: Set<String> = [
        "Conflicts", "PartOf", "Upholds", "PropagatesReloadTo", "ReloadPropagatedFrom",
        "PropagatesStopTo", "StopPropagatedFrom", "JoinsNamespaceOf", "RequiresMountsFor", "OnFailure",
        "OnSuccess", "OnFailureJobMode", "IgnoreOnIsolate", "StopWhenUnneeded", "RefuseManualStart",
        "RefuseManualStop", "AllowIsolate", "DefaultDependencies", "CollectMode", "FailureAction",
        "SuccessAction", "FailureActionExitStatus", "SuccessActionExitStatus", "JobTimeoutSec",
        "JobRunningTimeoutSec", "JobTimeoutAction", "JobTimeoutRebootArgument", "StartLimitAction",
        "RebootArgument", "SourcePath", "Requisite", "ConditionPathExists", "ConditionPathExistsGlob",
        "ConditionPathIsDirectory", "ConditionPathIsSymbolicLink", "ConditionPathIsMountPoint",
        "ConditionPathIsReadWrite", "ConditionDirectoryNotEmpty", "ConditionFileNotEmpty",
        "ConditionFileIsExecutable", "ConditionKernelCommandLine", "ConditionVirtualization", "ConditionHost",
        "ConditionSecurity", "ConditionCapability", "ConditionACPower", "ConditionNeedsUpdate",
        "ConditionFirstBoot", "ConditionUser", "ConditionGroup", "ConditionControlGroupController",
        "ConditionMemory", "ConditionCPUs", "ConditionEnvironment", "ConditionArchitecture",
        "AssertPathExists", "AssertFileIsExecutable", "AssertVirtualization", "AssertKernelCommandLine",
        "StartLimitInterval",
    ]

    static let service: Set<String> = [
        // service
        "RemainAfterExit", "GuessMainPID", "PIDFile", "BusName", "ExecCondition",
        "TimeoutAbortSec", "TimeoutStartFailureMode", "TimeoutStopFailureMode", "RuntimeMaxSec",
        "RuntimeRandomizedExtraSec", "RestartForceExitStatus", "RootDirectoryStartOnly", "NonBlocking",
        "NotifyAccess", "Sockets", "FileDescriptorStoreMax", "FileDescriptorStorePreserve", "USBFunctionDescriptors",
        "USBFunctionStrings", "OOMPolicy", "OpenFile", "ReloadSignal", "RestartMode", "ExitType",
        // exec: sandboxing and environment that Warden does not set up
        "PrivateTmp", "PrivateDevices", "PrivateNetwork", "PrivateIPC", "PrivateUsers", "PrivateMounts",
        "ProtectSystem", "ProtectHome", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
        "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc", "ProcSubset",
        "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths", "NoExecPaths", "TemporaryFileSystem",
        "BindPaths", "BindReadOnlyPaths", "MountFlags", "DynamicUser", "RestrictNamespaces",
        "RestrictRealtime", "RestrictSUIDSGID", "RestrictAddressFamilies", "RestrictFileSystems",
        "LockPersonality", "MemoryDenyWriteExecute", "SystemCallFilter", "SystemCallArchitectures",
        "SystemCallErrorNumber", "SystemCallLog", "RemoveIPC", "KeyringMode", "UnsetEnvironment",
        "PassEnvironment", "RootDirectory", "RootImage", "MountAPIVFS", "SecureBits", "Personality",
        "TTYPath", "TTYReset", "TTYVHangup", "TTYVTDisallocate", "StandardInput",
        "StandardInputText", "StandardInputData", "SyslogFacility", "SyslogLevel",
        "SyslogLevelPrefix", "LogLevelMax", "LogExtraFields", "LogRateLimitIntervalSec", "LogRateLimitBurst",
        "LogNamespace", "TimerSlackNSec",
        "IOSchedulingClass", "IOSchedulingPriority", "CPUSchedulingResetOnFork", "NUMAPolicy", "NUMAMask",
        "UtmpIdentifier", "UtmpMode", "SELinuxContext", "AppArmorProfile", "SmackProcessLabel",
        "LoadCredential", "LoadCredentialEncrypted", "SetCredential", "SetCredentialEncrypted",
        "ImportCredential", "PAMName", "CoredumpFilter", "NetworkNamespacePath", "IPCNamespacePath",
        "RestartKillSignal", "WatchdogSignal",
        "SendSIGHUP",
        // resource control that Warden does not map (v1-only, accounting switches, devices, BPF)
        "CPUAccounting", "MemoryAccounting", "TasksAccounting", "IOAccounting", "IPAccounting",
        "BlockIOAccounting", "CPUShares", "StartupCPUShares", "StartupCPUWeight", "StartupAllowedCPUs",
        "StartupAllowedMemoryNodes", "StartupIOWeight", "MemoryLimit", "IODeviceWeight",
        "IOReadBandwidthMax", "IOWriteBandwidthMax", "IOReadIOPSMax", "IOWriteIOPSMax", "IODeviceLatencyTargetSec",
        "BlockIOWeight", "BlockIODeviceWeight", "BlockIOReadBandwidth", "BlockIOWriteBandwidth",
        "IPAddressAllow", "IPAddressDeny", "IPIngressFilterPath", "IPEgressFilterPath", "DeviceAllow",
        "DevicePolicy", "Delegate", "DelegateSubgroup", "DisableControllers", "ManagedOOMSwap",
        "ManagedOOMMemoryPressure", "ManagedOOMMemoryPressureLimit", "ManagedOOMPreference",
        "MemoryPressureWatch", "MemoryPressureThresholdSec", "SocketBindAllow", "SocketBindDeny",
        "RestrictNetworkInterfaces", "MemoryOOMGroup",
    ]

    /// Keys of `service` (and systemd's slice defaults) whose values may be percentages:
    /// used verbatim, as systemd reads them, so a `%` in them is not taken for a specifier.
    static let percentValued: Set<String> = [
        "StartupMemoryLow", "StartupMemoryHigh", "StartupMemoryMax", "StartupMemorySwapMax",
        "StartupMemoryZSwapMax", "ManagedOOMMemoryPressureLimit", "DefaultMemoryLow", "DefaultMemoryMin",
    ]

    /// Sections systemd defines that Warden accepts and ignores.
    static let ignoredSections: Set<String> = ["Install"]
}
