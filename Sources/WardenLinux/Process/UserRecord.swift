/// A user from the user database (`getpwnam_r`), as `User=` needs it.
public struct UserRecord: Hashable, Sendable {
    public var name: String
    public var userID: UInt32
    public var groupID: UInt32
    public var home: String
    public var shell: String
}
