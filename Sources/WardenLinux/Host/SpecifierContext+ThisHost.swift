import Glibc
import WardenCore

extension SpecifierContext {
    /// Every `%` specifier of systemd.unit(5) for this host, as systemd's system manager
    /// resolves them: machine and boot ID, kernel release and architecture (`uname`),
    /// os-release (/etc, else /usr/lib), the pretty host name of /etc/machine-info, and
    /// the user Warden runs as for `%u %U %g %G %h %s` (systemd's are its own user's, not
    /// `User=`'s; `%h` and `%s` prefer `$HOME` and `$SHELL`, as systemd's do). `%T` and
    /// `%V` are `$TMPDIR` (or `$TEMP`, `$TMP`) when that is an absolute directory, as
    /// systemd's `tmp_dir()`; the other directories are the system manager's. `root`
    /// prefixes every file read, for tests.
    public static func ofThisHost(root: String = "") -> SpecifierContext {
        func read(_ path: String) -> String? {
            try? FileIO.readText(root + path, limit: 64 * 1024).get()
        }
        var names = utsname()
        let hasNames = uname(&names) == 0
        func field<T>(_ value: T) -> String? {
            guard hasNames else { return nil }
            return withUnsafeBytes(of: value) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        var context = SpecifierContext.host(
            hostname: HostProbe.hostname(),
            machineID: read("/etc/machine-id"),
            bootID: read("/proc/sys/kernel/random/boot_id"),
            osRelease: read("/etc/os-release") ?? read("/usr/lib/os-release"),
            machineInfo: read("/etc/machine-info"),
            kernelRelease: field(names.release),
            unameMachine: field(names.machine),
            littleEndian: UInt16(littleEndian: 1) == 1)

        // systemd's own lookups (user-util.c): root needs no user database, an unknown ID
        // is its number, and $HOME / $SHELL come before the database.
        let userID = geteuid()
        let groupID = getegid()
        let user = userID == 0 ? nil : try? UserDatabase.user(String(userID))
        context.userID = userID
        context.groupID = groupID
        context.userName = userID == 0 ? "root" : user?.name ?? String(userID)
        context.groupName = groupID == 0 ? "root" : UserDatabase.groupName(groupID) ?? String(groupID)
        context.homeDirectory = environmentPath("HOME") ?? (userID == 0 ? "/root" : user?.home)
        context.shell = environmentPath("SHELL") ?? (userID == 0 ? "/bin/sh" : user?.shell)
        for variable in ["TMPDIR", "TEMP", "TMP"] {
            if let directory = environmentPath(variable), FileIO.isDirectory(directory) {
                context.temporaryDirectory = directory
                context.persistentTemporaryDirectory = directory
                break
            }
        }
        return context
    }

    /// An environment variable that holds an absolute path, as systemd takes `$HOME`,
    /// `$SHELL` and `$TMPDIR`.
    private static func environmentPath(_ name: String) -> String? {
        guard let pointer = getenv(name) else { return nil }
        let path = String(cString: pointer)
        return path.hasPrefix("/") ? path : nil
    }
}
