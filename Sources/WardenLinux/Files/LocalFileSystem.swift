import Glibc
import WardenCore

/// The real file system, for loading configuration (and small kernel files).
///
/// Only regular files are read, and at most `maximumBytes` of them: whatever sits in a
/// unit directory (a FIFO named `x.service`, a symlink to `/dev/zero`) can neither block
/// the reader nor make it allocate without end. The open is non-blocking, so a FIFO is
/// refused without waiting for a writer.
public struct LocalFileSystem: ConfigFileSystem {
    /// 16 MiB: far above any unit file, and above every /proc file Warden reads
    /// (`cmdline` is bounded by ARG_MAX, 2 MiB here).
    public static let defaultMaximumBytes = 16 << 20
    /// 1 MiB for configuration: systemd's longest line (LONG_LINE_MAX), and hundreds of
    /// times the size of a real unit file (systemd's own are a few KiB). A reload parses
    /// on the loop thread, in time linear in the file's size (the fuzz target's 64 KiB
    /// inputs and 2 s limit keep it so).
    public static let configurationMaximumBytes = 1 << 20
    public var maximumBytes: Int

    public init(maximumBytes: Int = LocalFileSystem.defaultMaximumBytes) {
        self.maximumBytes = maximumBytes
    }

    public func readFile(_ path: String) throws(ConfigFileError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw ConfigFileError(path: path, reason: errnoDescription(errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ConfigFileError(path: path, reason: errnoDescription(errno)) }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFCHR, S_IFBLK:
            throw ConfigFileError(path: path, reason: "a device, not a regular file", kind: .device)
        case S_IFIFO:
            throw ConfigFileError(path: path, reason: "a FIFO, not a regular file", kind: .notRegular)
        case S_IFSOCK:
            throw ConfigFileError(path: path, reason: "a socket, not a regular file", kind: .notRegular)
        case S_IFDIR:
            throw ConfigFileError(path: path, reason: "a directory, not a regular file", kind: .notRegular)
        default:
            throw ConfigFileError(path: path, reason: "not a regular file", kind: .notRegular)
        }
        // /proc and cgroupfs files say size 0: the cap is checked as the bytes arrive too.
        if info.st_size > maximumBytes {
            throw ConfigFileError(path: path, reason: "\(info.st_size) bytes, more than the \(maximumBytes) a file may have here", kind: .tooLarge)
        }
        let bytes: [UInt8]
        switch FileIO.read(descriptor: fd, path: path, limit: maximumBytes) {
        case .success(let read):
            bytes = read
        case .failure(let error) where error.errno == EFBIG:
            throw ConfigFileError(path: path, reason: "more than the \(maximumBytes) bytes a file may have here", kind: .tooLarge)
        case .failure(let error):
            throw ConfigFileError(path: path, reason: errnoDescription(error.errno))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigFileError(path: path, reason: "not valid UTF-8 text")
        }
        return text
    }

    public func listDirectory(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func symbolicLinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
