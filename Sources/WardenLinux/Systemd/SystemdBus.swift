import CSystemd
import Glibc
import WardenCore

/// A failed systemd D-Bus operation: what was being done, on which unit and property,
/// and what the bus or systemd said.
public struct SystemdBusError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The D-Bus method or step (`SetUnitProperties`, `Get`, `open system bus`).
    public var operation: String
    public var unit: String?
    /// The property with the value that was being set or read (`CPUQuotaPerSecUSec=…`).
    public var property: String?
    /// The D-Bus error name (`org.freedesktop.systemd1.NoSuchUnit`), when the peer sent one.
    public var errorName: String?
    /// The peer's error message, when it sent one.
    public var errorMessage: String?
    /// The errno libsystemd returned (positive).
    public var errno: Int32

    public init(
        operation: String, unit: String? = nil, property: String? = nil, errorName: String? = nil,
        errorMessage: String? = nil, errno: Int32
    ) {
        self.operation = operation
        self.unit = unit
        self.property = property
        self.errorName = errorName
        self.errorMessage = errorMessage
        self.errno = errno
    }

    public var description: String {
        var text = operation
        if let unit { text += " " + unit }
        if let property { text += " " + property }
        text += ": "
        if let errorName {
            text += errorName + (errorMessage.map { ": " + $0 } ?? "")
        } else {
            text += errorMessage ?? String(cString: strerror(errno))
        }
        return text
    }
}

/// One row of `ListUnitsFiltered` (`a(ssssssouso)`), as `systemctl list-units` shows it.
public struct UnitListing: Hashable, Sendable, Codable {
    public var name: String
    public var description: String
    /// `loaded`, `not-found`, `masked`, …
    public var loadState: String
    /// `active`, `failed`, `inactive`, `activating`, …
    public var activeState: String
    /// `running`, `failed`, `exited`, `dead`, …
    public var subState: String
    /// The unit this one follows (`following`), empty when none.
    public var following: String
    public var objectPath: String
    /// The queued job, when there is one.
    public var jobID: UInt32?
    public var jobType: String?
    public var jobPath: String?
}

/// Whether systemd's D-Bus API can be used here.
public enum SystemdAvailability: Hashable, Sendable {
    case available
    /// A sentence for the operator, e.g. "systemd is not running here (…)".
    case unavailable(reason: String)

    public var isAvailable: Bool { self == .available }
    public var reason: String? {
        if case .unavailable(let reason) = self { return reason }
        return nil
    }
}

/// A connection to systemd (`org.freedesktop.systemd1`) on the system bus through
/// libsystemd's sd-bus: resource properties of units Warden does not own (the
/// governor's host-wide throttle and its undo), and failed-unit cleanup.
///
/// Calls are synchronous, with `callTimeoutUSec` each; a lock serialises them (an
/// sd-bus connection is not thread-safe), so the object may be shared. The governor
/// should call it off the event loop thread: systemd may take tens of milliseconds.
///
/// Access control is systemd's: as root every call is allowed; as another user
/// polkit decides, and the refusal comes back as `org.freedesktop.DBus.Error.AccessDenied`
/// or `InteractiveAuthorizationRequired` in the thrown error.
public final class SystemdBus: @unchecked Sendable {
    static let destination = "org.freedesktop.systemd1"
    static let managerPath = "/org/freedesktop/systemd1"
    static let managerInterface = "org.freedesktop.systemd1.Manager"
    static let propertiesInterface = "org.freedesktop.DBus.Properties"
    static let unitInterface = "org.freedesktop.systemd1.Unit"

    /// The default for each call; systemd's own client default is 25 s.
    public static let defaultCallTimeoutUSec: UInt64 = 10_000_000

    private let bus: OpaquePointer
    private let lock = PthreadLock()
    public let callTimeoutUSec: UInt64

    /// Connects to the system bus. Throws with operation `open system bus` and the
    /// reason when systemd is not running or the bus is not there.
    public init(callTimeoutUSec: UInt64 = SystemdBus.defaultCallTimeoutUSec) throws(SystemdBusError) {
        if let reason = Self.notBootedReason() {
            throw SystemdBusError(operation: "open system bus", errorMessage: reason, errno: ENOENT)
        }
        if let reason = SystemdLibrary.loadError {
            throw SystemdBusError(operation: "open system bus", errorMessage: reason, errno: ELIBACC)
        }
        var connection: OpaquePointer?
        let result = warden_sd_bus_open_system(&connection)
        guard result >= 0, let connection else {
            throw SystemdBusError(
                operation: "open system bus", errorMessage: Self.openFailureReason(errno: -result), errno: -result)
        }
        bus = connection
        self.callTimeoutUSec = callTimeoutUSec
    }

    deinit { warden_sd_bus_flush_close_unref(bus) }

    /// Whether systemd's D-Bus API is usable here, with the reason when not. Opens and
    /// closes a connection to find out.
    public static func availability() -> SystemdAvailability {
        do {
            _ = try SystemdBus()
            return .available
        } catch {
            return .unavailable(reason: error.errorMessage ?? error.description)
        }
    }

    static func notBootedReason() -> String? {
        SystemdHost.isBooted()
            ? nil : "systemd is not running here (/run/systemd/system does not exist: PID 1 is not systemd)"
    }

    static func openFailureReason(errno code: Int32) -> String {
        var socket = "/run/dbus/system_bus_socket"
        if let address = getenv("DBUS_SYSTEM_BUS_ADDRESS") { socket = String(cString: address) }
        return "no system bus: sd_bus_open_system failed to connect to \(socket): "
            + String(cString: strerror(code)) + " (is dbus running?)"
    }

    // MARK: Resource properties

    /// The properties of the keys the governor may change (`ResourceKeys.governed`) as
    /// `unit` has them now: what the governor reads before throttling a unit it does not
    /// own (`system.slice`, a named slice), so it can put back exactly what it found by
    /// passing them to `setProperties`. `LoadUnit` first (loads the unit if systemd has
    /// not yet; a slice with no unit file is still a valid, empty unit), then
    /// `Properties.Get` on the unit type's interface, by each property's D-Bus type.
    public func readUnitProperties(unit: String) throws(SystemdBusError) -> [SystemdProperty] {
        try lock.withLock { () throws(SystemdBusError) -> [SystemdProperty] in
            let path = try loadUnit(unit)
            let interface = try Self.cgroupInterface(unit: unit)
            var properties: [SystemdProperty] = []
            for key in ResourceKeys.governed {
                let name = key.systemdPropertyName
                switch key.systemdSignature {
                case "t":
                    properties.append(
                        SystemdProperty(name, .uint64(try getUInt64(path: path, interface: interface, property: name, unit: unit))))
                case "ay":
                    properties.append(
                        SystemdProperty(name, .bytes(try getByteArray(path: path, interface: interface, property: name, unit: unit))))
                default:
                    throw SystemdBusError(
                        operation: "read resource properties", unit: unit, property: name,
                        errorMessage: "no reader for D-Bus type \(key.systemdSignature)", errno: EINVAL)
                }
            }
            return properties
        }
    }

    /// The D-Bus interface holding a unit's cgroup properties (`org.freedesktop.systemd1.Slice`
    /// for `system.slice`); only unit types with a cgroup have them.
    static func cgroupInterface(unit: String) throws(SystemdBusError) -> String {
        let types = ["slice": "Slice", "service": "Service", "scope": "Scope", "socket": "Socket", "mount": "Mount", "swap": "Swap"]
        guard let dot = unit.lastIndex(of: "."), let type = types[String(unit[unit.index(after: dot)...])] else {
            throw SystemdBusError(
                operation: "read resource properties", unit: unit,
                errorMessage: "only .slice, .service, .scope, .socket, .mount and .swap units have resource properties",
                errno: EINVAL)
        }
        return "org.freedesktop.systemd1." + type
    }

    // MARK: Units

    /// `ListUnitsFiltered(states)`: loaded units in any of `states` (active, sub or load
    /// states, as `systemctl list-units --state=`), sorted by name.
    public func listUnits(states: [String]) throws(SystemdBusError) -> [UnitListing] {
        try lock.withLock { () throws(SystemdBusError) -> [UnitListing] in
            let operation = "ListUnitsFiltered"
            let message = try newMethodCall(
                path: Self.managerPath, interface: Self.managerInterface, member: operation, unit: nil, property: nil)
            defer { warden_sd_bus_message_unref(message) }
            var status = warden_sd_bus_message_open_container(message, Self.type("a"), "s")
            for state in states where status >= 0 { status = appendString(message, "s", state) }
            if status >= 0 { status = warden_sd_bus_message_close_container(message) }
            if status < 0 { throw SystemdBusError(operation: operation + " (building the message)", errno: -status) }
            let reply = try call(message, operation: operation, unit: nil, property: nil)
            defer { warden_sd_bus_message_unref(reply) }
            var units: [UnitListing] = []
            func fail(_ code: Int32) -> SystemdBusError {
                SystemdBusError(operation: operation + " (reading the reply)", errno: -code)
            }
            status = warden_sd_bus_message_enter_container(reply, Self.type("a"), "(ssssssouso)")
            if status < 0 { throw fail(status) }
            while true {
                status = warden_sd_bus_message_enter_container(reply, Self.type("r"), "ssssssouso")
                if status < 0 { throw fail(status) }
                if status == 0 { break }
                var strings: [String] = []
                for type: Unicode.Scalar in ["s", "s", "s", "s", "s", "s", "o"] {
                    guard let text = readString(reply, type) else { throw fail(-EBADMSG) }
                    strings.append(text)
                }
                var jobID: UInt32 = 0
                status = warden_sd_bus_message_read_basic(reply, Self.type("u"), &jobID)
                if status <= 0 { throw fail(status == 0 ? -EBADMSG : status) }
                guard let jobType = readString(reply, "s"), let jobPath = readString(reply, "o") else {
                    throw fail(-EBADMSG)
                }
                status = warden_sd_bus_message_exit_container(reply)
                if status < 0 { throw fail(status) }
                units.append(
                    UnitListing(
                        name: strings[0], description: strings[1], loadState: strings[2], activeState: strings[3],
                        subState: strings[4], following: strings[5], objectPath: strings[6],
                        jobID: jobID == 0 ? nil : jobID, jobType: jobID == 0 ? nil : jobType,
                        jobPath: jobID == 0 ? nil : jobPath))
            }
            _ = warden_sd_bus_message_exit_container(reply)
            return units.sorted { $0.name < $1.name }
        }
    }

    /// `ResetFailedUnit(name)`: what `systemctl reset-failed NAME` does. A transient
    /// unit that is reset is unloaded by systemd's garbage collection.
    public func resetFailedUnit(_ name: String) throws(SystemdBusError) {
        try lock.withLock { () throws(SystemdBusError) in
            _ = warden_sd_bus_message_unref(try callManager("ResetFailedUnit", strings: [name], unit: name))
        }
    }

    /// `RestartUnit(name, mode)`: queues a restart job (starting the unit if it is not
    /// running, as `systemctl restart`) and returns the job's object path.
    @discardableResult
    public func restartUnit(_ name: String, mode: String = "replace") throws(SystemdBusError) -> String {
        try queueJob("RestartUnit", name, mode: mode)
    }

    /// A manager method that queues a job for unit `name` (`RestartUnit`, `StopUnit`):
    /// returns the job's object path.
    private func queueJob(_ method: String, _ name: String, mode: String) throws(SystemdBusError) -> String {
        try lock.withLock { () throws(SystemdBusError) -> String in
            let reply = try callManager(method, strings: [name, mode], unit: name)
            defer { warden_sd_bus_message_unref(reply) }
            guard let path = readString(reply, "o") else {
                throw SystemdBusError(operation: "\(method) (reading the reply)", unit: name, errno: EBADMSG)
            }
            return path
        }
    }

    /// Waits until the job at `path` has finished (its object is gone), polling every
    /// 20 ms. Returns false when it is still queued or running after `timeoutUSec`.
    public func waitForJob(_ path: String, timeoutUSec: UInt64) throws(SystemdBusError) -> Bool {
        let deadline = SystemdNotifier.monotonicNowUSec() + timeoutUSec
        while true {
            if try !jobIsPending(path) { return true }
            if SystemdNotifier.monotonicNowUSec() >= deadline { return false }
            usleep(20_000)
        }
    }

    /// `ActiveState` and `SubState` of a unit (`active`/`running`, `failed`/`failed`).
    public func unitState(_ name: String) throws(SystemdBusError) -> (activeState: String, subState: String) {
        try lock.withLock { () throws(SystemdBusError) -> (activeState: String, subState: String) in
            let path = try loadUnit(name)
            let active = try getString(path: path, interface: Self.unitInterface, property: "ActiveState", unit: name)
            let sub = try getString(path: path, interface: Self.unitInterface, property: "SubState", unit: name)
            return (active, sub)
        }
    }

    // MARK: Transient units

    /// `StartTransientUnit(name, mode, properties, [])`: creates and starts a transient
    /// unit (a component's scope, a slice); returns the start job's object path. A
    /// refusal names the property systemd complained about when its message names one,
    /// else every property sent.
    @discardableResult
    public func startTransientUnit(
        _ name: String, mode: String = "fail", properties: [SystemdProperty]
    ) throws(SystemdBusError) -> String {
        try lock.withLock { () throws(SystemdBusError) -> String in
            let operation = "StartTransientUnit"
            let all = properties.map(\.description).joined(separator: " ")
            let message = try newMethodCall(
                path: Self.managerPath, interface: Self.managerInterface, member: operation, unit: name, property: nil)
            defer { warden_sd_bus_message_unref(message) }
            var status = appendString(message, "s", name)
            if status >= 0 { status = appendString(message, "s", mode) }
            if status >= 0 { status = warden_sd_bus_message_open_container(message, Self.type("a"), "(sv)") }
            var failed: SystemdProperty?
            for property in properties where status >= 0 {
                status = appendProperty(message, property)
                if status < 0 { failed = property }
            }
            if status >= 0 { status = warden_sd_bus_message_close_container(message) }
            // No auxiliary units.
            if status >= 0 { status = warden_sd_bus_message_open_container(message, Self.type("a"), "(sa(sv))") }
            if status >= 0 { status = warden_sd_bus_message_close_container(message) }
            if status < 0 {
                throw SystemdBusError(
                    operation: operation + " (building the message)", unit: name,
                    property: failed?.description ?? all, errno: -status)
            }
            let reply: OpaquePointer
            do throws(SystemdBusError) {
                reply = try call(message, operation: operation, unit: name, property: nil)
            } catch {
                var error = error
                let text = error.errorMessage ?? ""
                error.property = properties.first { text.contains($0.name) }?.description ?? all
                throw error
            }
            defer { warden_sd_bus_message_unref(reply) }
            guard let job = readString(reply, "o") else {
                throw SystemdBusError(operation: operation + " (reading the reply)", unit: name, errno: EBADMSG)
            }
            return job
        }
    }

    /// `SetUnitProperties(name, runtime, [(property, value)])` for any properties, one
    /// call per property so that a refusal names the property systemd refused.
    public func setProperties(_ properties: [SystemdProperty], of unit: String, runtime: Bool = true) throws(SystemdBusError) {
        for property in properties {
            try lock.withLock { () throws(SystemdBusError) in
                let operation = "SetUnitProperties"
                let message = try newMethodCall(
                    path: Self.managerPath, interface: Self.managerInterface, member: operation, unit: unit,
                    property: property.description)
                defer { warden_sd_bus_message_unref(message) }
                var runtimeFlag: Int32 = runtime ? 1 : 0
                var status = appendString(message, "s", unit)
                if status >= 0 { status = warden_sd_bus_message_append_basic(message, Self.type("b"), &runtimeFlag) }
                if status >= 0 { status = warden_sd_bus_message_open_container(message, Self.type("a"), "(sv)") }
                if status >= 0 { status = appendProperty(message, property) }
                if status >= 0 { status = warden_sd_bus_message_close_container(message) }
                if status < 0 {
                    throw SystemdBusError(
                        operation: operation + " (building the message)", unit: unit, property: property.description,
                        errno: -status)
                }
                _ = warden_sd_bus_message_unref(try call(message, operation: operation, unit: unit, property: property.description))
            }
        }
    }

    /// `AttachProcessesToUnit(name, subcgroup, pids)`: moves running processes into a
    /// unit's cgroup (or `subcgroup` below it). systemd allows it only for active units
    /// with `Delegate=yes`.
    public func attachProcesses(_ pids: [Int32], to name: String, subcgroup: String = "") throws(SystemdBusError) {
        try lock.withLock { () throws(SystemdBusError) in
            let operation = "AttachProcessesToUnit"
            let property = "PIDs=" + pids.map(String.init).joined(separator: " ")
            let message = try newMethodCall(
                path: Self.managerPath, interface: Self.managerInterface, member: operation, unit: name,
                property: property)
            defer { warden_sd_bus_message_unref(message) }
            var status = appendString(message, "s", name)
            if status >= 0 { status = appendString(message, "s", subcgroup) }
            let values = pids.map { UInt32(bitPattern: $0) }
            if status >= 0 {
                status = values.withUnsafeBytes {
                    warden_sd_bus_message_append_array(message, Self.type("u"), $0.baseAddress, $0.count)
                }
            }
            if status < 0 {
                throw SystemdBusError(
                    operation: operation + " (building the message)", unit: name, property: property, errno: -status)
            }
            _ = warden_sd_bus_message_unref(try call(message, operation: operation, unit: name, property: property))
        }
    }

    /// `StopUnit(name, mode)`: queues a stop job; returns its object path.
    @discardableResult
    public func stopUnit(_ name: String, mode: String = "replace") throws(SystemdBusError) -> String {
        try queueJob("StopUnit", name, mode: mode)
    }

    /// `FreezeUnit(name)` or `ThawUnit(name)`: what `systemctl freeze`/`thaw` do (the
    /// unit's `cgroup.freeze`, with systemd's view of the unit kept true). The reply comes
    /// when the unit is frozen or thawed; asking for the state it is in already succeeds.
    public func setFrozen(_ frozen: Bool, unit name: String) throws(SystemdBusError) {
        try lock.withLock { () throws(SystemdBusError) in
            _ = warden_sd_bus_message_unref(try callManager(frozen ? "FreezeUnit" : "ThawUnit", strings: [name], unit: name))
        }
    }

    /// `KillUnit(name, whom, signal)`: `systemctl kill --kill-whom=all -s SIGNAL`, every
    /// process in the unit's cgroup.
    public func killUnit(_ name: String, whom: String = "all", signal: Int32) throws(SystemdBusError) {
        try lock.withLock { () throws(SystemdBusError) in
            let operation = "KillUnit"
            let message = try newMethodCall(
                path: Self.managerPath, interface: Self.managerInterface, member: operation, unit: name,
                property: "signal \(signal)")
            defer { warden_sd_bus_message_unref(message) }
            var status = appendString(message, "s", name)
            if status >= 0 { status = appendString(message, "s", whom) }
            var number = signal
            if status >= 0 { status = warden_sd_bus_message_append_basic(message, Self.type("i"), &number) }
            if status < 0 { throw SystemdBusError(operation: operation + " (building the message)", unit: name, errno: -status) }
            _ = warden_sd_bus_message_unref(try call(message, operation: operation, unit: name, property: "signal \(signal)"))
        }
    }

    /// The unit's object path when systemd has it loaded (`GetUnit`), nil when not:
    /// unlike `LoadUnit`, asking does not load a stub for a name nobody uses.
    public func loadedUnitPath(_ name: String) throws(SystemdBusError) -> String? {
        try lock.withLock { () throws(SystemdBusError) -> String? in
            do throws(SystemdBusError) {
                let reply = try callManager("GetUnit", strings: [name], unit: name)
                defer { warden_sd_bus_message_unref(reply) }
                return readString(reply, "o")
            } catch {
                if error.errorName == "org.freedesktop.systemd1.NoSuchUnit" { return nil }
                throw error
            }
        }
    }

    /// A string property of a unit (`ControlGroup` on `org.freedesktop.systemd1.Scope`,
    /// `FragmentPath` on `org.freedesktop.systemd1.Unit`), loading the unit if needed.
    public func unitStringProperty(
        _ name: String, property: String, interface: String = "org.freedesktop.systemd1.Unit"
    ) throws(SystemdBusError) -> String {
        try lock.withLock { () throws(SystemdBusError) -> String in
            let path = try loadUnit(name)
            return try getString(path: path, interface: interface, property: property, unit: name)
        }
    }

    /// A boolean property of a unit (`Delegate` on `org.freedesktop.systemd1.Service`),
    /// loading the unit if needed.
    public func unitBoolProperty(_ name: String, property: String, interface: String) throws(SystemdBusError) -> Bool {
        try lock.withLock { () throws(SystemdBusError) -> Bool in
            let path = try loadUnit(name)
            let reply = try getProperty(path: path, interface: interface, property: property, unit: name)
            defer { warden_sd_bus_message_unref(reply) }
            var value: Int32 = 0
            var status = warden_sd_bus_message_enter_container(reply, Self.type("v"), "b")
            if status > 0 { status = warden_sd_bus_message_read_basic(reply, Self.type("b"), &value) }
            if status <= 0 { throw readFailure(property, name, status) }
            return value != 0
        }
    }

    /// Whether the job at `path` is still queued or running (its object exists).
    public func jobIsPending(_ path: String) throws(SystemdBusError) -> Bool {
        try lock.withLock { () throws(SystemdBusError) -> Bool in
            do throws(SystemdBusError) {
                _ = warden_sd_bus_message_unref(
                    try getProperty(path: path, interface: "org.freedesktop.systemd1.Job", property: "State", unit: nil))
                return true
            } catch {
                if error.errorName == "org.freedesktop.DBus.Error.UnknownObject"
                    || error.errorName == "org.freedesktop.systemd1.NoSuchJob"
                {
                    return false
                }
                throw error
            }
        }
    }

    /// Appends one `(sv)` entry.
    private func appendProperty(_ message: OpaquePointer, _ property: SystemdProperty) -> Int32 {
        var status = warden_sd_bus_message_open_container(message, Self.type("r"), "sv")
        if status >= 0 { status = appendString(message, "s", property.name) }
        if status >= 0 { status = warden_sd_bus_message_open_container(message, Self.type("v"), property.value.signature) }
        guard status >= 0 else { return status }
        switch property.value {
        case .string(let text):
            status = appendString(message, "s", text)
        case .boolean(let flag):
            var value: Int32 = flag ? 1 : 0
            status = warden_sd_bus_message_append_basic(message, Self.type("b"), &value)
        case .uint32(var value):
            status = warden_sd_bus_message_append_basic(message, Self.type("u"), &value)
        case .uint64(var value):
            status = warden_sd_bus_message_append_basic(message, Self.type("t"), &value)
        case .uint32Array(let values):
            status = values.withUnsafeBytes {
                warden_sd_bus_message_append_array(message, Self.type("u"), $0.baseAddress, $0.count)
            }
        case .bytes(let bytes):
            status = bytes.withUnsafeBytes {
                warden_sd_bus_message_append_array(message, Self.type("y"), $0.baseAddress, $0.count)
            }
        }
        if status >= 0 { status = warden_sd_bus_message_close_container(message) }
        if status >= 0 { status = warden_sd_bus_message_close_container(message) }
        return status
    }

    // MARK: sd-bus plumbing (called with the lock held)

    static func type(_ character: Unicode.Scalar) -> CChar { CChar(UInt8(ascii: character)) }

    private func newMethodCall(
        path: String, interface: String, member: String, unit: String?, property: String?
    ) throws(SystemdBusError) -> OpaquePointer {
        var message: OpaquePointer?
        let result = warden_sd_bus_message_new_method_call(bus, &message, Self.destination, path, interface, member)
        guard result >= 0, let message else {
            throw SystemdBusError(
                operation: member + " (creating the message)", unit: unit, property: property, errno: -result)
        }
        return message
    }

    /// Appends a string-like basic value (`s`, `o`): sd-bus takes the C string itself.
    private func appendString(_ message: OpaquePointer, _ type: Unicode.Scalar, _ value: String) -> Int32 {
        value.withCString { warden_sd_bus_message_append_basic(message, Self.type(type), $0) }
    }

    /// Reads a string-like basic value; sd-bus hands out a pointer into the message.
    private func readString(_ message: OpaquePointer, _ type: Unicode.Scalar) -> String? {
        var pointer: UnsafePointer<CChar>?
        let result = warden_sd_bus_message_read_basic(message, Self.type(type), &pointer)
        guard result > 0, let pointer else { return nil }
        return String(cString: pointer)
    }

    /// `sd_bus_call`, turning a D-Bus error reply into a `SystemdBusError` with its name
    /// and message. Returns the reply, which the caller unrefs.
    private func call(
        _ message: OpaquePointer, operation: String, unit: String?, property: String?
    ) throws(SystemdBusError) -> OpaquePointer {
        var error = sd_bus_error()
        defer { warden_sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        let result = warden_sd_bus_call(bus, message, callTimeoutUSec, &error, &reply)
        guard result >= 0, let reply else {
            throw SystemdBusError(
                operation: operation, unit: unit, property: property,
                errorName: error.name.map { String(cString: $0) }, errorMessage: error.message.map { String(cString: $0) },
                errno: result < 0 ? -result : EBADMSG)
        }
        return reply
    }

    private func callManager(_ member: String, strings: [String], unit: String) throws(SystemdBusError) -> OpaquePointer {
        let message = try newMethodCall(
            path: Self.managerPath, interface: Self.managerInterface, member: member, unit: unit, property: nil)
        defer { warden_sd_bus_message_unref(message) }
        for string in strings {
            let status = appendString(message, "s", string)
            if status < 0 {
                throw SystemdBusError(operation: member + " (building the message)", unit: unit, errno: -status)
            }
        }
        return try call(message, operation: member, unit: unit, property: nil)
    }

    private func loadUnit(_ name: String) throws(SystemdBusError) -> String {
        let reply = try callManager("LoadUnit", strings: [name], unit: name)
        defer { warden_sd_bus_message_unref(reply) }
        guard let path = readString(reply, "o") else {
            throw SystemdBusError(operation: "LoadUnit (reading the reply)", unit: name, errno: EBADMSG)
        }
        return path
    }

    /// `Properties.Get(interface, property)`; the reply is positioned at the variant.
    private func getProperty(
        path: String, interface: String, property: String, unit: String?
    ) throws(SystemdBusError) -> OpaquePointer {
        let message = try newMethodCall(
            path: path, interface: Self.propertiesInterface, member: "Get", unit: unit, property: property)
        defer { warden_sd_bus_message_unref(message) }
        var status = appendString(message, "s", interface)
        if status >= 0 { status = appendString(message, "s", property) }
        if status < 0 {
            throw SystemdBusError(operation: "Get (building the message)", unit: unit, property: property, errno: -status)
        }
        return try call(message, operation: "Get " + interface, unit: unit, property: property)
    }

    private func readFailure(_ property: String, _ unit: String?, _ code: Int32) -> SystemdBusError {
        SystemdBusError(operation: "Get (reading the reply)", unit: unit, property: property, errno: code < 0 ? -code : EBADMSG)
    }

    private func getUInt64(path: String, interface: String, property: String, unit: String) throws(SystemdBusError) -> UInt64 {
        let reply = try getProperty(path: path, interface: interface, property: property, unit: unit)
        defer { warden_sd_bus_message_unref(reply) }
        var value: UInt64 = 0
        var status = warden_sd_bus_message_enter_container(reply, Self.type("v"), "t")
        if status > 0 { status = warden_sd_bus_message_read_basic(reply, Self.type("t"), &value) }
        if status <= 0 { throw readFailure(property, unit, status) }
        return value
    }

    private func getString(path: String, interface: String, property: String, unit: String) throws(SystemdBusError) -> String {
        let reply = try getProperty(path: path, interface: interface, property: property, unit: unit)
        defer { warden_sd_bus_message_unref(reply) }
        let status = warden_sd_bus_message_enter_container(reply, Self.type("v"), "s")
        guard status > 0, let value = readString(reply, "s") else { throw readFailure(property, unit, status) }
        return value
    }

    private func getByteArray(path: String, interface: String, property: String, unit: String) throws(SystemdBusError) -> [UInt8] {
        let reply = try getProperty(path: path, interface: interface, property: property, unit: unit)
        defer { warden_sd_bus_message_unref(reply) }
        var status = warden_sd_bus_message_enter_container(reply, Self.type("v"), "ay")
        var pointer: UnsafeRawPointer?
        var size = 0
        if status > 0 { status = warden_sd_bus_message_read_array(reply, Self.type("y"), &pointer, &size) }
        if status < 0 { throw readFailure(property, unit, status) }
        guard let pointer, size > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: size))
    }
}
