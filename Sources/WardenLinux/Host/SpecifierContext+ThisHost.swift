import Glibc
import WardenCore

extension SpecifierContext {
    /// Every `%` specifier of systemd.unit(5) for this host, as systemd's system manager
    /// resolves them: machine and boot ID, kernel release and architecture (`uname`),
    /// os-release (/etc, else /usr/lib), the pretty host name of /etc/machine-info, and
    /// the user Warden runs as for `%u %U %g %G %h %s` (systemd's are its own user's, not
    /// `User=`'s). `%T` and `%V` are `$TMPDIR` (or `$TEMP`, `$TMP`) when that is an
    /// absolute directory, as systemd's `tmp_dir()`; the other directories are the system
    /// manager's. `root` prefixes every file read, for tests.
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

        let userID = geteuid()
        let groupID = getegid()
        context.userID = userID
        context.groupID = groupID
        if let user = try? UserDatabase.user(String(userID)) {
            context.userName = user.name
            context.homeDirectory = user.home
            context.shell = user.shell
        }
        context.groupName = UserDatabase.groupName(groupID)
        for variable in ["TMPDIR", "TEMP", "TMP"] {
            guard let pointer = getenv(variable) else { continue }
            let directory = String(cString: pointer)
            if directory.hasPrefix("/") && FileIO.isDirectory(directory) {
                context.temporaryDirectory = directory
                context.persistentTemporaryDirectory = directory
                break
            }
        }
        return context
    }
}
