import Glibc

/// Where a Warden of a state directory listens for sd_notify(3) datagrams.
///
/// The socket is `STATE/notify.sock` when every directory on the way to it may be searched
/// by everyone (mode `o+x`): components run as other users (`User=`) and must reach it, as
/// every service reaches systemd's `/run/systemd/notify`. A state directory that others may
/// not enter (a `mktemp -d` directory is `0700`) would leave a daemon that drops its
/// privileges before `READY=1` (mosquitto, redis) never ready; there the socket is bound in
/// the abstract namespace instead, `@warden-HASH/notify` with HASH taken from the state
/// directory's path, which sd_notify(3) and its reimplementations reach by the leading `@`;
/// likewise for a state directory too deep for a socket path.
/// File permissions were never the check: the sender's pid is (docs/security.md).
public enum NotifySocketAddress {
    public static func forStateDirectory(_ directory: String) -> String {
        let path = directory + "/notify.sock"
        // sockaddr_un holds 107 bytes of path: a deeper state directory cannot have its
        // socket in it at all.
        guard path.utf8.count < 108, everyoneMaySearch(directory) else { return abstractName(for: directory) }
        return path
    }

    /// `@warden-` and 16 hex digits of FNV-1a over the path: stable across restarts, so a
    /// restarted Warden finds its leftovers' `NOTIFY_SOCKET=` and binds the same name.
    static func abstractName(for directory: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in directory.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return "@warden-" + String(repeating: "0", count: 16 - digits.count) + digits + "/notify"
    }

    /// Whether `directory` and each of its ancestors have the search bit for others.
    static func everyoneMaySearch(_ directory: String) -> Bool {
        var path = directory
        while !path.isEmpty {
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & S_IXOTH != 0 else { return false }
            guard let slash = path.lastIndex(of: "/") else { break }
            path = String(path[..<slash])
        }
        return true
    }
}
