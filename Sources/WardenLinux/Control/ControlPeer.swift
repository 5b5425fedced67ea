import CWardenShims
import Glibc
import WardenCore

/// Who is on the other end of a control connection, as the kernel recorded it when the
/// peer connected (`SO_PEERCRED`, `SO_PEERGROUPS`): not what the peer claims.
public struct ControlPeer: Hashable, Sendable, CustomStringConvertible {
    public var pid: Int32
    public var userID: UInt32
    /// Primary and supplementary groups.
    public var groupIDs: [UInt32]

    public init(pid: Int32, userID: UInt32, groupIDs: [UInt32]) {
        self.pid = pid
        self.userID = userID
        self.groupIDs = groupIDs
    }

    public var description: String { "pid \(pid) uid \(userID)" }

    /// The peer of a connected `AF_UNIX` socket; nil when the kernel will not say.
    init?(connectedSocket fd: Int32) {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields. Swift's
        // Glibc does not import it (it is behind _GNU_SOURCE).
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        let (pid, uid, gid) = credentials
        var groups = [gid]
        if let supplementary = Self.supplementaryGroups(of: fd) {
            groups += supplementary
        } else if let status = try? FileIO.readText("/proc/\(pid)/status").get() {
            groups += MainProcessUsage.groups(fromStatus: status)
        }
        self.init(pid: pid, userID: uid, groupIDs: groups)
    }

    /// `SO_PEERGROUPS` (59, Linux 4.13): the peer's supplementary groups at connect time.
    static func supplementaryGroups(of fd: Int32) -> [UInt32]? {
        let soPeerGroups: Int32 = 59
        var groups = [UInt32](repeating: 0, count: 64)
        for _ in 0..<2 {
            var length = socklen_t(groups.count * 4)
            let rc = groups.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, soPeerGroups, $0.baseAddress, &length) }
            if rc == 0 { return Array(groups[0..<Int(length) / 4]) }
            guard errno == ERANGE else { return nil }
            groups = [UInt32](repeating: 0, count: Int(length) / 4 + 1)
        }
        return nil
    }
}
