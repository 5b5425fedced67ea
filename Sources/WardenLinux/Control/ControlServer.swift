import CWardenShims
import Glibc
import WardenCore

/// The daemon's end of the control socket: an `AF_UNIX` stream socket served on the
/// supervisor's `EventLoop`, one JSON request per line, one answer line per request.
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
    private let fd: Int32
    private let loop: EventLoop
    private let handler: Handler
    private var registration: EventLoop.RegistrationID?
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var closed = false

    /// Binds `path` (a stale socket file is replaced; a live daemon behind it is an
    /// error), sets `mode` and, when given, the group, and starts accepting on `loop`.
    public init(
        path: String, mode: mode_t = 0o660, groupID: UInt32? = nil, policy: ControlAccessPolicy, loop: EventLoop,
        requestTimeout: TimeSpan = ControlProtocol.requestTimeout, maximumConnections: Int = 256,
        handler: @escaping Handler
    ) throws(ProcessControlError) {
        self.path = path
        self.policy = policy
        self.loop = loop
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
        self.fd = fd
        do {
            registration = try loop.register(fd: fd, for: .readable) { [unowned self] _ in self.acceptAll() }
        } catch {
            Glibc.close(fd)
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
    public var connectionCount: Int { connections.count }

    /// Stops accepting, drops every connection, removes the socket file. Loop thread.
    public func close() {
        guard !closed else { return }
        closed = true
        if let registration { loop.unregister(registration) }
        registration = nil
        for connection in Array(connections.values) { drop(connection) }
        Glibc.close(fd)
        unlink(path)
    }

    // MARK: Accepting

    private func acceptAll() {
        // Bounded per wakeup; level-triggered epoll brings us back for the rest.
        for _ in 0..<64 {
            // accept4 is behind _GNU_SOURCE for Swift; connections are accepted and spawns
            // happen on this one thread, so setting the flags afterwards leaks nothing.
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }  // EAGAIN, or a connection that died queued
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            guard connections.count < maximumConnections else {
                var line = ControlCodec.encodeLine(
                    ControlResponse.failure(id: nil, ControlError(.busy, "\(maximumConnections) clients are connected; try again")))
                _ = send(client, &line, line.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                Glibc.close(client)
                continue
            }
            let connection = Connection(fd: client, peer: ControlPeer(connectedSocket: client))
            connections[ObjectIdentifier(connection)] = connection
            guard watch(connection, writing: false) else {
                connections[ObjectIdentifier(connection)] = nil
                Glibc.close(client)
                continue
            }
            armTimer(connection)
        }
    }

    // MARK: One connection

    final class Connection {
        let fd: Int32
        let peer: ControlPeer?
        var framer = ControlLineFramer()
        var registration: EventLoop.RegistrationID?
        var timer: EventLoop.TimerID?
        var output: [UInt8] = []
        var outputOffset = 0
        var closeWhenFlushed = false
        var lines: [[UInt8]] = []

        init(fd: Int32, peer: ControlPeer?) {
            self.fd = fd
            self.peer = peer
        }

        var hasPendingOutput: Bool { outputOffset < output.count }
    }

    /// (Re-)registers for reading, or for writing while an answer is pending.
    private func watch(_ c: Connection, writing: Bool) -> Bool {
        if let registration = c.registration { loop.unregister(registration) }
        c.registration = nil
        let events: EventLoop.Events = writing ? EventLoop.Events(rawValue: UInt32(EPOLLOUT.rawValue)) : .readable
        do {
            c.registration = try loop.register(fd: c.fd, for: events) { [weak self, weak c] happened in
                guard let self, let c else { return }
                self.ready(c, happened, writing: writing)
            }
            return true
        } catch {
            return false
        }
    }

    private func armTimer(_ c: Connection) {
        if let timer = c.timer { loop.cancelTimer(timer) }
        c.timer = loop.addTimer(after: requestTimeout) { [weak self, weak c] in
            guard let self, let c else { return }
            c.timer = nil
            self.timedOut(c)
        }
    }

    private func timedOut(_ c: Connection) {
        guard connections[ObjectIdentifier(c)] != nil else { return }
        if c.hasPendingOutput {
            drop(c)  // it does not read its answers
            return
        }
        let waited = "\(requestTimeout.usec / 1_000_000)s"
        let message = c.framer.pendingByteCount > 0
            ? "request line not finished within \(waited)" : "no request within \(waited)"
        reply(c, ControlResponse.failure(id: nil, ControlError(.timeout, message)), thenClose: true)
    }

    private func ready(_ c: Connection, _ events: EventLoop.Events, writing: Bool) {
        if writing {
            flush(c)
            return
        }
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        // Bounded per wakeup so one fast client cannot starve the loop.
        for _ in 0..<8 {
            let n = buffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                drop(c)
                return
            }
            if n == 0 {
                // The client is done sending; answer nothing more, drop it.
                drop(c)
                return
            }
            for item in c.framer.feed(buffer[0..<n]) {
                switch item {
                case .line(let line):
                    if !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { c.lines.append(line) }
                case .tooLarge:
                    c.lines.removeAll()
                    reply(
                        c,
                        ControlResponse.failure(
                            id: nil,
                            ControlError(.tooLarge, "request line longer than \(c.framer.maximumLineBytes) bytes; closing")),
                        thenClose: true)
                    return
                }
            }
            if !c.lines.isEmpty {
                answerQueued(c)
                return
            }
        }
    }

    /// Answers the complete lines received, one at a time; stops while output is pending.
    private func answerQueued(_ c: Connection) {
        while !c.lines.isEmpty && !c.hasPendingOutput && connections[ObjectIdentifier(c)] != nil {
            let line = c.lines.removeFirst()
            armTimer(c)
            reply(c, answer(line, peer: c.peer), thenClose: false)
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
        if c.outputOffset >= c.output.count {
            c.output = ControlCodec.encodeLine(response)
            c.outputOffset = 0
        } else {
            c.output += ControlCodec.encodeLine(response)
        }
        if thenClose { c.closeWhenFlushed = true }
        flush(c)
    }

    private func flush(_ c: Connection) {
        guard connections[ObjectIdentifier(c)] != nil else { return }
        while c.hasPendingOutput {
            let n = c.output.withUnsafeBytes {
                send(c.fd, $0.baseAddress! + c.outputOffset, $0.count - c.outputOffset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    // Writable interest only: no more reading until the answer is out.
                    if !watch(c, writing: true) { drop(c) }
                    return
                }
                drop(c)  // EPIPE: the client went away
                return
            }
            c.outputOffset += n
        }
        c.output = []
        c.outputOffset = 0
        if c.closeWhenFlushed {
            drop(c)
            return
        }
        if !watch(c, writing: false) {
            drop(c)
            return
        }
        // Pipelined lines that arrived with the previous request.
        if !c.lines.isEmpty { answerQueued(c) }
    }

    private func drop(_ c: Connection) {
        guard connections.removeValue(forKey: ObjectIdentifier(c)) != nil else { return }
        if let registration = c.registration { loop.unregister(registration) }
        c.registration = nil
        if let timer = c.timer { loop.cancelTimer(timer) }
        c.timer = nil
        Glibc.close(c.fd)
    }
}
