import CWardenShims
import Glibc
import WardenCore

/// The daemon's end of the control socket: an `AF_UNIX` stream socket served on the
/// supervisor's `EventLoop` (a `StreamServer`), one JSON request per line, one answer
/// line per request.
///
/// Nothing a client does can block the loop or exhaust the daemon: every descriptor is
/// non-blocking; a request line is capped (`too-large`, then the connection is closed,
/// since the stream cannot be resynchronised); a line not finished within
/// `requestTimeout` gets `timeout` and the connection is closed; while an answer is
/// still being written the connection is not read (a client that pipelines requests
/// without reading the answers stalls only itself, and the same timeout ends it);
/// connections beyond `maximumConnections` get `busy` and are closed at once.
///
/// Authorisation happens per request from the peer's credentials taken at connect time
/// (`ControlAccessPolicy`). The supplementary groups come from `SO_PEERGROUPS` (the
/// groups at connect time, from the socket itself), falling back to `/proc/PID/status`
/// on kernels before 4.13: reading `/proc` later could meet a recycled pid.
///
/// Confinement: after `init`, everything runs on the loop thread; `close` too.
public final class ControlServer: @unchecked Sendable {
    /// Answers one authorised, validated request; runs on the loop thread.
    public typealias Handler = (_ request: ControlRequest, _ operation: ControlOperation, _ peer: ControlPeer) -> ControlResponse

    public let path: String
    public let policy: ControlAccessPolicy
    public let requestTimeout: TimeSpan
    public let maximumConnections: Int
    private let handler: Handler
    private let stream: StreamServer<Session>

    /// What the control protocol keeps per connection.
    struct Session {
        let peer: ControlPeer?
        var framer = ControlLineFramer()
        /// Complete request lines not answered yet (pipelined).
        var lines: [[UInt8]] = []
    }

    /// Binds `path` (a stale socket file is replaced; a live daemon behind it is an
    /// error), sets `mode` and, when given, the group, and starts accepting on `loop`.
    public init(
        path: String, mode: mode_t = 0o660, groupID: UInt32? = nil, policy: ControlAccessPolicy, loop: EventLoop,
        requestTimeout: TimeSpan = ControlProtocol.requestTimeout, maximumConnections: Int = 256,
        handler: @escaping Handler
    ) throws(ProcessControlError) {
        self.path = path
        self.policy = policy
        self.handler = handler
        self.requestTimeout = requestTimeout
        self.maximumConnections = maximumConnections
        guard path.utf8.count < 108 else {
            throw ProcessControlError(operation: "control socket path \(path) (longer than 107 bytes)", errno: ENAMETOOLONG)
        }
        if let problem = Self.untrustedDirectory(of: path) {
            throw ProcessControlError(operation: "control socket \(path): \(problem)", errno: EPERM)
        }
        if ControlClient.answers(path) {
            throw ProcessControlError(operation: "bind control socket \(path) (another daemon answers there)", errno: EADDRINUSE)
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            // Replace only a stale socket, never some other file an operator put there.
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw ProcessControlError(operation: "bind control socket \(path) (a non-socket file is in the way)", errno: EEXIST)
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProcessControlError(operation: "socket(AF_UNIX) for \(path)", errno: errno) }
        func fail(_ operation: String) -> ProcessControlError {
            let code = errno
            Glibc.close(fd)
            return ProcessControlError(operation: operation, errno: code)
        }
        var address = ControlClient.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        // The file appears with the umask's mode (at most 0755 for root: nobody else
        // may connect) and is narrowed or opened to `mode` right after.
        guard bound == 0 else { throw fail("bind control socket \(path)") }
        if let groupID, chown(path, uid_t.max, groupID) != 0 {
            unlink(path)
            throw fail("chgrp \(groupID) \(path)")
        }
        if chmod(path, mode) != 0 {
            unlink(path)
            throw fail("chmod \(String(mode, radix: 8)) \(path)")
        }
        guard listen(fd, 128) == 0 else {
            unlink(path)
            throw fail("listen on \(path)")
        }
        stream = StreamServer(
            listening: fd, loop: loop, maximumConnections: maximumConnections, requestTimeout: requestTimeout,
            receiveBytes: 16 * 1024, whenFull: .refuseNewcomer,
            busyAnswer: ControlCodec.encodeLine(
                ControlResponse.failure(id: nil, ControlError(.busy, "\(maximumConnections) clients are connected; try again"))))
        do {
            try stream.start(
                StreamServer.Handlers(
                    accepted: { Session(peer: ControlPeer(connectedSocket: $0)) },
                    received: { [unowned self] c, bytes in self.received(bytes, on: c) },
                    timedOut: { [unowned self] c in self.timedOut(c) },
                    resumed: { [unowned self] c in self.answerQueued(c) }))
        } catch {
            stream.close()
            unlink(path)
            throw error
        }
    }

    /// Why the directory holding the socket cannot be trusted with it, or nil. Whoever
    /// may create and remove files there can unlink the socket and bind one of their own
    /// in its place (ssh's StrictModes reasons the same way about ~/.ssh): the directory
    /// must be owned by root or by Warden's user, and not writable by other users, unless
    /// its sticky bit keeps them from removing what is not theirs (`/tmp`). The client
    /// checks the server's credentials besides (`ControlClient`).
    public static func untrustedDirectory(of path: String) -> String? {
        let directory = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var info = stat()
        guard stat(directory, &info) == 0 else { return nil }  // bind reports the missing directory
        guard info.st_mode & S_IFMT == S_IFDIR else { return "\(directory) is not a directory" }
        let owner = info.st_uid
        if owner != 0 && owner != geteuid() {
            return "its directory \(directory) belongs to uid \(owner), neither root nor Warden's user: that user could replace the socket"
        }
        let sticky = info.st_mode & S_ISVTX != 0
        let otherWritable = info.st_mode & S_IWOTH != 0
        let groupWritable = info.st_mode & S_IWGRP != 0 && info.st_gid != 0
        if (otherWritable || groupWritable) && !sticky {
            let who = otherWritable ? "every user" : "group \(info.st_gid)"
            return "its directory \(directory) (mode \(String(info.st_mode & 0o7777, radix: 8))) is writable by \(who), who could replace the socket with their own; make it writable by its owner only (chmod go-w) or choose another ControlSocket="
        }
        return nil
    }

    /// Open connections (tests and metrics).
    public var connectionCount: Int { stream.connectionCount }

    /// Stops accepting, drops every connection, removes the socket file. Loop thread.
    public func close() {
        guard stream.close() else { return }
        unlink(path)
    }

    // MARK: One connection

    private typealias Connection = StreamServer<Session>.Connection

    /// Frames request lines; answers once a read brought complete ones.
    private func received(_ bytes: ArraySlice<UInt8>, on c: Connection) -> Bool {
        for item in c.session.framer.feed(bytes) {
            switch item {
            case .line(let line):
                if !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { c.session.lines.append(line) }
            case .tooLarge:
                c.session.lines.removeAll()
                reply(
                    c,
                    ControlResponse.failure(
                        id: nil,
                        ControlError(.tooLarge, "request line longer than \(c.session.framer.maximumLineBytes) bytes; closing")),
                    thenClose: true)
                return false
            }
        }
        if !c.session.lines.isEmpty {
            answerQueued(c)
            return false
        }
        return true
    }

    private func timedOut(_ c: Connection) {
        let waited = "\(requestTimeout.usec / 1_000_000)s"
        let message = c.session.framer.pendingByteCount > 0
            ? "request line not finished within \(waited)" : "no request within \(waited)"
        reply(c, ControlResponse.failure(id: nil, ControlError(.timeout, message)), thenClose: true)
    }

    /// Answers the complete lines received, one at a time; stops while an answer is being
    /// written (the stream server resumes here once it is out).
    private func answerQueued(_ c: Connection) {
        while !c.session.lines.isEmpty && c.phase == .reading && stream.isOpen(c) {
            let line = c.session.lines.removeFirst()
            stream.armTimer(c, after: requestTimeout)
            reply(c, answer(line, peer: c.session.peer), thenClose: false)
        }
    }

    func answer(_ line: [UInt8], peer: ControlPeer?) -> ControlResponse {
        let request: ControlRequest
        switch ControlCodec.decodeRequest(line) {
        case .success(let r): request = r
        case .failure(let error): return .failure(id: nil, error)
        }
        let operation: ControlOperation
        switch request.validated() {
        case .success(let op): operation = op
        case .failure(let error): return .failure(id: request.id, error)
        }
        guard let peer else {
            return .failure(id: request.id, ControlError(.forbidden, "the peer's credentials could not be read"))
        }
        if let denied = policy.check(operation, userID: peer.userID, groupIDs: peer.groupIDs) {
            return .failure(id: request.id, denied)
        }
        var response = handler(request, operation, peer)
        response.id = request.id
        return response
    }

    private func reply(_ c: Connection, _ response: ControlResponse, thenClose: Bool) {
        stream.write(c, ControlCodec.encodeLine(response), then: thenClose ? .close : .read)
    }
}
