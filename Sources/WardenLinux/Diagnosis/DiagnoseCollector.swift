import Glibc
import WardenCore

/// Collects a `HostSnapshot` from `/proc`, `/sys` and `systemctl`. Works without a
/// running Warden; reads only, signals nothing.
public struct DiagnoseCollector: Sendable {
    public var procRoot: String
    /// Prefix of `/sys` and `/run` (empty for the host).
    public var root: String
    /// Time between the two /proc samples that give each process's CPU share.
    public var sampleInterval: TimeSpan
    public var topCount: Int

    public init(procRoot: String = "/proc", root: String = "", sampleInterval: TimeSpan = .milliseconds(250), topCount: Int = 10) {
        self.procRoot = procRoot
        self.root = root
        self.sampleInterval = sampleInterval
        self.topCount = topCount
    }

    /// `sameCommandGroups`: with no configuration (no `targets`), look for groups of
    /// processes running the same program with the same arguments instead, as `warden
    /// duplicates` does there; `loginShells` are never such a copy.
    public func collect(
        targets: [DuplicateTarget], warden: WardenProcesses, tradingSlices: Set<String>, sameCommandGroups: Bool = false,
        loginShells: Set<String> = []
    ) -> HostSnapshot {
        let sameCommand = sameCommandGroups && targets.isEmpty
        let scanner = ProcScanner(procRoot: procRoot)
        let ticks = ProcScanner.ticksPerSecond
        // Sample 1: stat only (CPU ticks). Sample 2: the duplicate scan, whose stat fields
        // give the CPU shares as well; its cost is what `scanMilliseconds` reports.
        let firstStart = monotonicMicroseconds()
        let first = scanner.scan([])
        SystemCall.sleep(nanoseconds: sampleInterval.usec * 1000)
        let secondStart = monotonicMicroseconds()
        let detection = DuplicateDetector(procRoot: procRoot).detect(targets, warden: warden)
        let second =
            sameCommand
            ? scanner.scan([.executable, .executableFile, .commandLine, .user])
            : targets.isEmpty ? scanner.scan([]) : detection.processes
        let scanMicroseconds = monotonicMicroseconds() - secondStart
        let elapsed = Double(secondStart - firstStart) / 1_000_000
        let cpu = CPUUsage.percentages(before: first, after: second, elapsedSeconds: elapsed, ticksPerSecond: ticks)

        let wardenPIDs = warden.members(of: second)
        var users = UserNames()
        var completed: [Int32: ScannedProcess] = [:]
        func usage(_ stub: ScannedProcess) -> ProcessUsage? {
            // Top lists are short: their command lines, cgroups and users are read now.
            guard let process = completed[stub.pid] ?? scanner.complete(stub, with: [.commandLine, .cgroup, .user]) else {
                return nil
            }
            completed[stub.pid] = process
            let (placement, slice) = ProcessPlacement.classify(
                pid: process.pid, cgroup: process.cgroup, wardenPIDs: wardenPIDs, tradingSlices: tradingSlices)
            return ProcessUsage(
                pid: process.pid, user: process.uid.map { users.name($0) } ?? "?", cpuPercent: cpu[process.pid] ?? 0,
                rssBytes: process.rssBytes, commandLine: process.commandLine, cgroup: process.cgroup, placement: placement,
                slice: slice)
        }
        let byCPU = second.sorted { (cpu[$0.pid] ?? 0, $1.pid) > (cpu[$1.pid] ?? 0, $0.pid) }.lazy.compactMap(usage).prefix(topCount)
        let byMemory = second.sorted { ($0.rssBytes, $1.pid) > ($1.rssBytes, $0.pid) }.lazy.compactMap(usage).prefix(topCount)
        var components = detection.copies
        if sameCommand {
            // This command's own ancestors (the shell, a terminal) are never copies.
            let parents = Dictionary(second.map { ($0.pid, $0.parentPID) }, uniquingKeysWith: { first, _ in first })
            var excluded = wardenPIDs
            var current = parents[getpid()] ?? 0
            while current > 1, excluded.insert(current).inserted, let parent = parents[current] { current = parent }
            components = DuplicateScan.sameCommandGroups(in: second, excluding: excluded, loginShells: loginShells)
        }
        for copy in components { for process in copy.duplicates { if let uid = process.uid { _ = users.name(uid) } } }

        var snapshot = HostSnapshot(
            uptimeSeconds: scanner.uptimeSeconds(), cpuCount: CapacityProbe.read().cpus,
            loadAverageHundredths: readLoadAverage(), memory: readMemory(), pressure: readPressure(), topByCPU: Array(byCPU),
            topByMemory: Array(byMemory), components: components, cpuGovernors: readGovernors(), failedUnits: failedUnits(),
            processCount: second.count, scanMilliseconds: Double(scanMicroseconds) / 1000, userNames: users.names)
        snapshot.componentsAreSameCommandGroups = sameCommand
        return snapshot
    }

    func read(_ path: String) -> String? { try? LocalFileSystem().readFile(path) }

    /// `0.52 0.40 0.33 1/234 5678` → [52, 40, 33].
    func readLoadAverage() -> [Int]? {
        read(procRoot + "/loadavg").flatMap(LoadAverage.parse)
    }

    func readMemory() -> MemoryInfo? {
        guard let text = read(procRoot + "/meminfo"), case .success(let info) = MemoryInfo.parse(text) else { return nil }
        return info
    }

    func readPressure() -> PressureSnapshot? {
        let directory = procRoot + "/pressure"
        let cpu = read(directory + "/cpu").flatMap(PressureFigures.parse)
        let memory = read(directory + "/memory").flatMap(PressureFigures.parse)
        let io = read(directory + "/io").flatMap(PressureFigures.parse)
        if cpu == nil && memory == nil && io == nil { return nil }
        return PressureSnapshot(cpu: cpu, memory: memory, io: io)
    }

    func readGovernors() -> [String]? {
        let base = root + "/sys/devices/system/cpu"
        let cpus = (LocalFileSystem().listDirectory(base) ?? []).compactMap { name -> Int? in
            guard name.hasPrefix("cpu") else { return nil }
            return Int(name.dropFirst(3))
        }.sorted()
        let governors = cpus.compactMap { read("\(base)/cpu\($0)/cpufreq/scaling_governor")?.trimmingCharacters() }
        return governors.isEmpty ? nil : governors
    }

    /// `systemctl --failed` only where systemd is init (`/run/systemd/system` exists, the
    /// test `sd_booted(3)` makes): elsewhere systemctl would only complain.
    func failedUnits() -> FailedUnits {
        guard SystemdHost.isBooted(root: root) else { return .systemdNotRunning }
        guard let systemctl = ([String](["/usr/bin/systemctl", "/bin/systemctl"])).first(where: { access($0, X_OK) == 0 }) else {
            return .systemdNotRunning
        }
        switch CommandOutput.run(systemctl, ["systemctl", "--failed", "--plain", "--no-legend", "--no-pager"], timeout: .seconds(5)) {
        case .success(let (status, output)):
            guard status == .exited(code: 0) else { return .unavailable("systemctl --failed ended with \(status)") }
            return .listed(output.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        case .failure(let why):
            return .unavailable(why.message)
        }
    }
}
