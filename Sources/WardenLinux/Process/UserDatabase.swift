import Glibc

/// A failed or empty lookup in the user or group database.
public struct UserLookupError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

/// `User=`, `Group=` and `SupplementaryGroups=` resolution through NSS, at start time
/// (systemd resolves them when the process is started, not when the unit is loaded).
public enum UserDatabase {
    /// A user by name, or by number when `name` is all digits.
    public static func user(_ name: String) throws(UserLookupError) -> UserRecord {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let rc: Int32
        if let id = UInt32(name) {
            rc = getpwuid_r(id, &record, &buffer, buffer.count, &result)
        } else {
            rc = getpwnam_r(name, &record, &buffer, buffer.count, &result)
        }
        guard rc == 0 else {
            throw UserLookupError(description: "looking up user '\(name)': \(String(cString: strerror(rc)))")
        }
        guard let found = result?.pointee else {
            if let id = UInt32(name) {
                // A numeric User= without an entry is allowed (systemd runs it with that uid).
                return UserRecord(name: name, userID: id, groupID: id, home: "/", shell: "/bin/sh")
            }
            throw UserLookupError(description: "user '\(name)' does not exist")
        }
        return UserRecord(
            name: String(cString: found.pw_name), userID: found.pw_uid, groupID: found.pw_gid,
            home: String(cString: found.pw_dir), shell: String(cString: found.pw_shell))
    }

    /// A group id by name, or the number when `name` is all digits.
    public static func groupID(_ name: String) throws(UserLookupError) -> UInt32 {
        if let id = UInt32(name) { return id }
        var record = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let rc = getgrnam_r(name, &record, &buffer, buffer.count, &result)
        guard rc == 0 else {
            throw UserLookupError(description: "looking up group '\(name)': \(String(cString: strerror(rc)))")
        }
        guard let found = result?.pointee else { throw UserLookupError(description: "group '\(name)' does not exist") }
        return found.gr_gid
    }

    /// The name of group `id`, nil when the group database has no entry for it.
    public static func groupName(_ id: UInt32) -> String? {
        var record = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrgid_r(id, &record, &buffer, buffer.count, &result) == 0, let found = result?.pointee else { return nil }
        return String(cString: found.gr_name)
    }

    /// The groups `user` belongs to (`getgrouplist`), `primary` included.
    public static func groupList(of user: String, primary: UInt32) -> [UInt32] {
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var wanted = count
            if getgrouplist(user, primary, &groups, &wanted) >= 0 {
                return Array(groups[0..<Int(wanted)])
            }
            guard wanted > count, wanted < 65536 else { return [primary] }
            count = wanted
        }
    }
}
