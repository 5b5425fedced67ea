import CSystemd
import Glibc

/// Whether a well-known name has an owner on the system bus (`Type=dbus` readiness):
/// `org.freedesktop.DBus.NameHasOwner` through sd-bus. Unlike `SystemdBus` it needs no
/// systemd, only a bus (`$DBUS_SYSTEM_BUS_ADDRESS`, else /run/dbus/system_bus_socket).
public enum SystemBusNames {
    /// How long one question may take; a poll asks again shortly after.
    static let callTimeoutUSec: UInt64 = 1_000_000

    /// The socket of the system bus: the `unix:path=` of `$DBUS_SYSTEM_BUS_ADDRESS` when
    /// set, else D-Bus's default.
    public static var socketPath: String {
        if let address = getenv("DBUS_SYSTEM_BUS_ADDRESS").map({ String(cString: $0) }) {
            for part in address.split(separator: ";").first?.split(separator: ",") ?? [] {
                let text = part.hasPrefix("unix:") ? part.dropFirst("unix:".count) : part
                if text.hasPrefix("path=") { return String(text.dropFirst("path=".count)) }
            }
        }
        return "/run/dbus/system_bus_socket"
    }

    /// One connection, one `NameHasOwner`, closed again.
    public static func hasOwner(_ name: String) -> Result<Bool, SystemdBusError> {
        if let reason = SystemdLibrary.loadError {
            return .failure(SystemdBusError(operation: "open system bus", errorMessage: reason, errno: ELIBACC))
        }
        var connection: OpaquePointer?
        let opened = warden_sd_bus_open_system(&connection)
        guard opened >= 0, let bus = connection else {
            return .failure(
                SystemdBusError(
                    operation: "open system bus", errorMessage: SystemdBus.openFailureReason(errno: -opened), errno: -opened))
        }
        defer { warden_sd_bus_flush_close_unref(bus) }
        var message: OpaquePointer?
        var status = warden_sd_bus_message_new_method_call(
            bus, &message, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner")
        guard status >= 0, let message else {
            return .failure(SystemdBusError(operation: "NameHasOwner (creating the message)", errno: -status))
        }
        defer { warden_sd_bus_message_unref(message) }
        status = name.withCString { warden_sd_bus_message_append_basic(message, SystemdBus.type("s"), $0) }
        if status < 0 { return .failure(SystemdBusError(operation: "NameHasOwner (building the message)", errno: -status)) }
        var error = sd_bus_error()
        defer { warden_sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        status = warden_sd_bus_call(bus, message, callTimeoutUSec, &error, &reply)
        guard status >= 0, let reply else {
            return .failure(
                SystemdBusError(
                    operation: "NameHasOwner \(name)", errorName: error.name.map { String(cString: $0) },
                    errorMessage: error.message.map { String(cString: $0) }, errno: status < 0 ? -status : EBADMSG))
        }
        defer { warden_sd_bus_message_unref(reply) }
        var owned: Int32 = 0
        status = warden_sd_bus_message_read_basic(reply, SystemdBus.type("b"), &owned)
        guard status > 0 else {
            return .failure(SystemdBusError(operation: "NameHasOwner (reading the reply)", errno: status < 0 ? -status : EBADMSG))
        }
        return .success(owned != 0)
    }
}
