import WardenCore
import WardenLinux

/// The governor's groups when the components are systemd's transient scopes
/// (`CgroupBackend=systemd`): each group is a systemd unit (the component's scope, or the
/// slice of that name), changed as `systemctl set-property --runtime`, `freeze` and `thaw`
/// would change it (`GovernorUnitWrite`), so systemd writes its own cgroup files and a
/// later `systemctl daemon-reload` does not undo the governor, nor the governor systemd.
/// The files are only read, except `memory.reclaim`: a one-off request to the kernel that
/// systemd has no setting for and keeps no state of.
public final class SystemdUnitGroupControl: GovernorGroupControl {
    let bus: GovernorBus
    public let reader: GovernorCgroupReader

    /// `cgroupRoot`: where the hierarchy systemd's `ControlGroup` paths are relative to is
    /// mounted.
    public init(bus: GovernorBus, cgroupRoot: String = "/sys/fs/cgroup") {
        self.bus = bus
        self.reader = GovernorCgroupReader(cgroupRoot: cgroupRoot)
    }

    /// Connects with a short call timeout (the governor calls it on its loop); nil and the
    /// reason when systemd is not reachable.
    public static func connect(
        cgroupRoot: String = "/sys/fs/cgroup", callTimeoutUSec: UInt64 = 2_000_000
    ) -> (SystemdUnitGroupControl?, String?) {
        do {
            return (SystemdUnitGroupControl(bus: try GovernorBus(callTimeoutUSec: callTimeoutUSec), cgroupRoot: cgroupRoot), nil)
        } catch {
            return (nil, error.errorMessage ?? error.description)
        }
    }

    public var record: GovernorGroupRecord { .systemdUnits(cgroupRoot: reader.cgroupRoot) }

    /// The unit whose group is at `path`: its last component (`warden-backtest.scope`,
    /// `trading-batch.slice`), as systemd names a unit's cgroup.
    static func unit(at path: String) -> String? {
        guard let last = path.split(separator: "/").last, last.hasSuffix(".scope") || last.hasSuffix(".slice") else { return nil }
        return String(last)
    }

    public func write(_ writes: [CgroupWrite], to path: String, target: String) -> [String] {
        guard let unit = Self.unit(at: path) else { return ["\(target): '\(path)' is not the group of a systemd scope or slice"] }
        var failures: [String] = []
        var properties: [SystemdProperty] = []
        var freezing: Bool?
        for write in writes {
            switch GovernorUnitWrite.translating(write) {
            case .success(.property(let property)): properties.append(property)
            case .success(.freeze): freezing = true
            case .success(.thaw): freezing = false
            case .failure(let error): failures.append("\(target) (\(unit)): \(error)")
            }
        }
        // A freeze first (the quickest relief), a thaw last (the group runs again under
        // the settings it is given back).
        if freezing == true { failures += setFrozen(true, unit, target) }
        if !properties.isEmpty { failures += set(properties, unit, target) }
        if freezing == false { failures += setFrozen(false, unit, target) }
        return failures
    }

    private func setFrozen(_ frozen: Bool, _ unit: String, _ target: String) -> [String] {
        do {
            try bus.call { bus throws(SystemdBusError) in try bus.setFrozen(frozen, unit: unit) }
            return []
        } catch {
            return ["\(target) (\(unit)): \(error)"]
        }
    }

    private func set(_ properties: [SystemdProperty], _ unit: String, _ target: String) -> [String] {
        do {
            try bus.call { bus throws(SystemdBusError) in try bus.setProperties(properties, of: unit, runtime: true) }
            return []
        } catch {
            return ["\(target) (\(unit)): \(error)"]
        }
    }

    public func reclaim(_ bytes: UInt64, from path: String, target: String) -> [String] {
        let directory = path.isEmpty ? reader.cgroupRoot : reader.cgroupRoot + "/" + path
        do {
            let group = try CgroupDirectory(openingPath: directory)
            defer { group.close() }
            if try !CgroupMemory.reclaim(group, bytes: bytes) { return ["\(target): memory.reclaim is not available (kernel before 5.19)"] }
            return []
        } catch {
            return ["\(target): \(error)"]
        }
    }
}
