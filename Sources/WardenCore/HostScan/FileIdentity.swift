/// One file on this host, whatever its path: `st_dev` and `st_ino` of `stat(2)`.
public struct FileIdentity: Hashable, Sendable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    public var description: String { "device \(device) inode \(inode)" }
}
