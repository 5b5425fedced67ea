/// The unit types Warden cannot have, and why: it supervises services in slices, and
/// none of these is a process it could start. A hard dependency (`Requires=`,
/// `BindsTo=`, `Requisite=`) on one could never be met, so it is an error; ordering or a
/// `Wants=` is ignored with a warning.
public enum UnsupportedUnitKinds {
    /// What the kind is and why Warden has none; nil for the kinds Warden loads.
    public static func reason(for kind: UnitName.Kind) -> String? {
        switch kind {
        case .service, .slice, .target: nil
        case .socket: "socket activation (.socket units) is not supported by Warden"
        case .device: "Warden does not track devices (.device units come from udev under systemd)"
        case .mount: "Warden does not mount file systems (.mount units); mount it before Warden starts"
        case .automount: "Warden does not mount file systems on access (.automount units)"
        case .swap: "Warden does not activate swap (.swap units)"
        case .path: "path-triggered activation (.path units) is not supported by Warden"
        case .timer: "timer-triggered activation (.timer units) is not supported by Warden"
        case .scope: "Warden does not manage processes it did not start (.scope units)"
        }
    }

    /// Whether `name` is the socket unit of `unit` itself (`syslog.socket` of
    /// `rsyslog.service`, whose alias is `syslog.service`). Such a dependency is dropped
    /// with a warning rather than refused: started without an activated socket, the
    /// daemons that ship one (rsyslog, podman, cups) open their sockets themselves, so the
    /// unit runs unchanged.
    public static func isOwnSocket(_ name: UnitName, of unit: String, ownName: (String) -> String = { $0 }) -> Bool {
        name.kind == .socket && ownName(UnitName(prefix: name.prefix, instance: name.instance, kind: .service).description) == unit
    }

    /// The way out, for `unit`'s hard dependency on `name`. `ownName` turns an alias
    /// into the unit's own name (`syslog.service` → `rsyslog.service`).
    public static func advice(
        for name: UnitName, requiredBy unit: String, ownName: (String) -> String = { $0 }
    ) -> String {
        switch name.kind {
        case .socket, .path, .timer:
            let service = ownName(UnitName(prefix: name.prefix, instance: name.instance, kind: .service).description)
            if service == unit && name.kind == .socket {
                return "start \(service) directly or drop the dependency; Warden passes it nothing from the socket unit, so the program must open its sockets itself"
            }
            return "start \(service) directly or drop the dependency"
        default:
            return "drop the dependency, or make sure it is met before Warden starts"
        }
    }
}
