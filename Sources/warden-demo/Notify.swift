import Glibc

/// The sd_notify(3) protocol spoken directly: one datagram of newline-separated
/// `KEY=VALUE` assignments to the AF_UNIX socket named in `$NOTIFY_SOCKET`. A name
/// starting with '@' is in the abstract namespace: the '@' becomes a NUL byte and the
/// address length covers the name exactly (no terminating NUL), as in systemd's
/// `sd_notify`. No libsystemd is needed, so the binary runs where none is installed.
struct ServiceManagerSocket {
    /// Why `$NOTIFY_SOCKET` could not be used.
    struct SetupError: Error {
        var message: String
    }

    let name: String
    private let fd: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t

    /// The socket named by `$NOTIFY_SOCKET`, nil when the variable is unset or empty
    /// (the program was not started by a service manager expecting notifications).
    static func fromEnvironment() throws(SetupError) -> ServiceManagerSocket? {
        guard let raw = getenv("NOTIFY_SOCKET"), raw.pointee != 0 else { return nil }
        return try ServiceManagerSocket(name: String(cString: raw))
    }

    init(name: String) throws(SetupError) {
        self.name = name
        var path = Array(name.utf8)
        switch path.first {
        case UInt8(ascii: "@"): path[0] = 0
        case UInt8(ascii: "/"): path.append(0)  // A filesystem path keeps its NUL.
        default:
            throw SetupError(message: "NOTIFY_SOCKET=\(name): neither an absolute path nor an abstract '@' name")
        }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count <= capacity else {
            throw SetupError(message: "NOTIFY_SOCKET=\(name): longer than the \(capacity) bytes of sun_path")
        }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
            sunPath.copyBytes(from: path)
        }
        addressLength = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw SetupError(message: "NOTIFY_SOCKET=\(name): socket(AF_UNIX, SOCK_DGRAM) failed: \(errnoText(errno))")
        }
    }

    /// Sends one notification ("READY=1", "STATUS=…", several joined by "\n").
    /// Returns the errno on failure; the caller logs it and carries on, as a service
    /// under a manager that stopped listening should.
    func send(_ message: String) -> Int32? {
        let bytes = Array(message.utf8)
        var target = address
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &target) { addressPointer in
                addressPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress, addressLength)
                }
            }
        }
        return sent < 0 ? errno : nil
    }
}
