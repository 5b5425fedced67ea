import Glibc

/// Names of uids, looked up once each.
public struct UserNames: Sendable {
    public private(set) var names: [UInt32: String] = [:]

    public init() {}

    public mutating func name(_ uid: UInt32) -> String {
        if let known = names[uid] { return known }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let name: String
        if getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let pw = entry.pw_name {
            name = String(cString: pw)
        } else {
            name = String(uid)
        }
        names[uid] = name
        return name
    }
}
