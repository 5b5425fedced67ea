import Glibc
import WardenCore

/// Finds the processes `warden emergency on` without a daemon must not throttle the
/// slices of: the Warden daemons running on this host, and the main processes of the
/// configuration's `Priority=critical` components that a Warden recorded in its state
/// directory and that still run (a daemon killed under them leaves them running).
public enum ProtectedProcessScan {
    public static func scan(configuration: Configuration, stateDirectory: String, procRoot: String = "/proc") -> [ProtectedProcess] {
        let scanner = ProcScanner(procRoot: procRoot)
        var protected = ProtectedProcess.wardenDaemons(
            in: scanner.scan([.executable, .commandLine, .cgroup]), excluding: [getpid()])
        let critical = Set(
            configuration.services.filter { configuration.effectivePriority(of: $0) == .critical }.map(\.name.description))
        guard !critical.isEmpty else { return protected }
        for record in ComponentRecordStore(stateDirectory: stateDirectory).load().records where critical.contains(record.unit) {
            guard let process = scanner.process(record.process.pid, [.cgroup]),
                process.startTimeTicks == record.process.startTimeTicks, !process.hasExited,
                let cgroup = process.cgroup ?? record.cgroup
            else { continue }
            protected.append(
                ProtectedProcess(cgroup: cgroup, what: "\(record.unit) (Priority=critical, PID \(record.process.pid))"))
        }
        return protected
    }
}
