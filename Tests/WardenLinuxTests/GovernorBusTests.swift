import Glibc
import Testing
@testable import WardenLinux

/// A call that failed because the bus closed the connection is made again on a new one;
/// any other failure (systemd's refusal, a unit that is not there) is the answer.
@Suite struct GovernorBusTests {
    static let cases: [(Int32, Bool)] = [(ENOTCONN, true), (ECONNRESET, true), (EPIPE, true), (ENOENT, false), (EACCES, false), (ETIMEDOUT, false)]

    @Test(arguments: cases)
    func aClosedConnectionIsOpenedAgain(errno: Int32, closed: Bool) {
        let error = SystemdBusError(operation: "LoadUnit", unit: "user.slice", errorName: "System.Error.X", errno: errno)
        #expect(GovernorBus.isClosed(error) == closed)
    }
}
