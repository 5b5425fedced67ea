import Glibc
import WardenCore

/// The governor's connection to systemd, opened again when the bus has closed it.
///
/// The governor opens its connection at start and may first use it long after, at the
/// first tier that throttles a slice or a scope. sd-bus authenticates a connection only
/// when a call is made, and the system bus closes one that has not authenticated within
/// its `auth_timeout`: the first call then fails with `ENOTCONN`. A call that fails
/// because the connection is closed (`ENOTCONN`, `ECONNRESET`, `EPIPE`: also after the bus
/// restarted) is made once more on a new connection.
public final class GovernorBus: @unchecked Sendable {
    public let callTimeoutUSec: UInt64
    private var bus: SystemdBus
    private let open: (UInt64) throws(SystemdBusError) -> SystemdBus

    public init(
        callTimeoutUSec: UInt64,
        open: @escaping (UInt64) throws(SystemdBusError) -> SystemdBus = { timeout throws(SystemdBusError) in
            try SystemdBus(callTimeoutUSec: timeout)
        }
    ) throws(SystemdBusError) {
        self.callTimeoutUSec = callTimeoutUSec
        self.open = open
        self.bus = try open(callTimeoutUSec)
    }

    /// `body` on the connection, once more on a new one when the first was closed.
    public func call<T>(_ body: (SystemdBus) throws(SystemdBusError) -> T) throws(SystemdBusError) -> T {
        do throws(SystemdBusError) {
            return try body(bus)
        } catch {
            guard Self.isClosed(error) else { throw error }
            bus = try open(callTimeoutUSec)
            return try body(bus)
        }
    }

    /// The connection itself is gone, whatever the call was.
    public static func isClosed(_ error: SystemdBusError) -> Bool {
        [ENOTCONN, ECONNRESET, EPIPE].contains(error.errno)
    }
}
