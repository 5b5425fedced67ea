/// Every metric family Warden exports, in one table: names follow the Prometheus
/// conventions (base units, `_seconds`, `_bytes`, `_total` for counters, `_ratio` for
/// shares 0…1); labels are `component` (the unit name, `feed.service`), `slice`
/// (`trading.slice`), and per family `state`, `event`, `resource`, `stall`, `action`.
enum MetricsFamilies {
    // MARK: Components

    static let componentState = MetricFamilyName(
        "warden_component_state",
        "1 for the component's current systemd ActiveState (label state: active, reloading, inactive, failed, activating, deactivating), 0 for the others.")
    static let componentReady = MetricFamilyName(
        "warden_component_ready",
        "1 when the component's last start reached readiness (as Type= defines it) and it has not stopped since, else 0.")
    static let componentRestarts = MetricFamilyName(
        "warden_component_restarts_total",
        "Automatic restarts of the component (systemd's NRestarts); never decreases, also when a reload or reset-failed starts the unit's count again.")
    static let componentLastExitCode = MetricFamilyName(
        "warden_component_last_exit_code",
        "Exit code of the main process's last exit; absent when it was killed by a signal or has not exited yet.")
    static let componentLastExitSignal = MetricFamilyName(
        "warden_component_last_exit_signal",
        "Number of the signal that killed the main process last; absent when it exited by itself or has not exited yet.")
    static let componentCPU = MetricFamilyName(
        "warden_component_cpu_seconds_total",
        "CPU time used: the component's cgroup (cpu.stat usage_usec), or its main process alone (/proc/PID/stat utime+stime) when Warden runs without cgroups. Summed over the component's runs; the last moments of a run between the last scrape and its end are not counted.")
    static let componentThrottled = MetricFamilyName(
        "warden_component_cpu_throttled_seconds_total",
        "Time the component's cgroup was throttled by its CPU quota (cpu.stat throttled_usec), summed over its runs. Only with cgroups and the cpu controller.")
    static let componentMemoryCurrent = MetricFamilyName(
        "warden_component_memory_current_bytes",
        "Memory in use: the cgroup's memory.current, or the main process's resident set size without cgroups. Absent while the component is not running.")
    static let componentMemoryPeak = MetricFamilyName(
        "warden_component_memory_peak_bytes",
        "Highest memory use of the current run (the cgroup's memory.peak, kernel 5.19+). Only with cgroups.")
    static let componentMemoryEvents = MetricFamilyName(
        "warden_component_memory_events_total",
        "The cgroup's memory.events counters (label event: low, high, max, oom, oom_kill, oom_group_kill), summed over the component's runs; oom_kill counts processes the kernel's OOM killer killed. Only with cgroups.")
    static let componentTasks = MetricFamilyName(
        "warden_component_tasks",
        "Tasks (threads) of the component: the cgroup's pids.current, or the main process's threads without cgroups. Absent while the component is not running.")
    static let componentPressureAverage = MetricFamilyName(
        "warden_component_pressure_avg10_ratio",
        "Pressure stall information of the component's cgroup: share of the last 10 s in which some (label stall=some) or all non-idle (stall=full) tasks stalled on a resource (label resource: cpu, memory, io). Only with cgroups on a kernel with PSI.")
    static let componentPressureTotal = MetricFamilyName(
        "warden_component_pressure_stalled_seconds_total",
        "Pressure stall information of the component's cgroup: total stall time (labels resource and stall as for warden_component_pressure_avg10_ratio), summed over the component's runs.")

    // MARK: Slices

    static let sliceComponents = MetricFamilyName(
        "warden_slice_components",
        "Components configured in the slice.")
    static let sliceCPU = MetricFamilyName(
        "warden_slice_cpu_seconds_total",
        "CPU time used by the slice's cgroup and everything beneath it (cpu.stat usage_usec). Only with cgroups.")
    static let sliceThrottled = MetricFamilyName(
        "warden_slice_cpu_throttled_seconds_total",
        "Time the slice's cgroup was throttled by its CPU quota (cpu.stat throttled_usec). Only with cgroups and the cpu controller.")
    static let sliceMemoryCurrent = MetricFamilyName(
        "warden_slice_memory_current_bytes",
        "Memory in use by the slice's cgroup and everything beneath it (memory.current). Only with cgroups.")
    static let sliceMemoryPeak = MetricFamilyName(
        "warden_slice_memory_peak_bytes",
        "Highest memory use of the slice's cgroup since it was created (memory.peak, kernel 5.19+). Only with cgroups.")
    static let sliceMemoryEvents = MetricFamilyName(
        "warden_slice_memory_events_total",
        "The slice cgroup's memory.events counters (label event as for warden_component_memory_events_total). Only with cgroups.")
    static let sliceTasks = MetricFamilyName(
        "warden_slice_tasks",
        "Tasks (threads) in the slice's cgroup and beneath it (pids.current). Only with cgroups.")
    static let slicePressureAverage = MetricFamilyName(
        "warden_slice_pressure_avg10_ratio",
        "Pressure stall information of the slice's cgroup, share of the last 10 s (labels resource and stall as for warden_component_pressure_avg10_ratio). Only with cgroups on a kernel with PSI.")
    static let slicePressureTotal = MetricFamilyName(
        "warden_slice_pressure_stalled_seconds_total",
        "Pressure stall information of the slice's cgroup: total stall time (labels resource and stall). Only with cgroups on a kernel with PSI.")

    // MARK: Governor

    static let governorTier = MetricFamilyName(
        "warden_governor_tier",
        "The governor's tier: 0 normal, 1 warning, 2 critical, 3 severe.")
    static let governorManual = MetricFamilyName(
        "warden_governor_manual_emergency",
        "1 while an operator's `warden emergency on` holds the governor's tier, else 0.")
    static let governorActions = MetricFamilyName(
        "warden_governor_actions_total",
        "Actions the governor carried out since Warden started, by kind (label action: apply, restore, reclaim_memory, throttle_systemd_slice, restore_systemd_slice, alert).")

    // MARK: Warden itself

    static let residentMemory = MetricFamilyName(
        "process_resident_memory_bytes", "Resident memory of the Warden daemon (/proc/self/stat rss).")
    static let virtualMemory = MetricFamilyName(
        "process_virtual_memory_bytes", "Virtual memory size of the Warden daemon (/proc/self/stat vsize).")
    static let processCPU = MetricFamilyName(
        "process_cpu_seconds_total", "CPU time used by the Warden daemon, all threads (/proc/self/stat utime+stime).")
    static let loopLag = MetricFamilyName(
        "warden_event_loop_lag_seconds",
        "Event-loop lag measured by this scrape: from the moment the scrape request was complete (its handler ran on the supervisor's event loop) to the moment a zero-delay task queued then ran on the loop; the time any event arriving then would have waited for the loop.")
    static let renderDuration = MetricFamilyName(
        "warden_metrics_render_seconds",
        "Time the previous scrape took to gather its figures and render the exposition on the event loop (the loop handles nothing else meanwhile).")
    static let components = MetricFamilyName(
        "warden_components", "Components Warden supervises, including ones a reload removed that are still stopping.")
    static let buildInfo = MetricFamilyName(
        "warden_build_info", "Always 1; label version is Warden's version.")

    /// systemd's ActiveState values a Warden component can be in (`maintenance` and
    /// `refreshing` are for mounts and soft-reboot; no service of Warden's has them).
    static let activeStates = ["active", "reloading", "inactive", "failed", "activating", "deactivating"]
}
