import CWardenShims
import Glibc
import WardenCore

/// A listening stream socket served on an `EventLoop`: what the control socket and the
/// metrics endpoint share, each adding only its protocol (`ControlServer`,
/// `MetricsServer`). The server accepts, reads, writes, times out and closes; the
/// protocol sees the bytes that arrive and says what to answer.
///
/// Nothing a client does can block the loop or exhaust the daemon: every descriptor is
/// non-blocking; accepting and reading are bounded per wakeup (level-triggered epoll
/// comes back for the rest); at most `maximumConnections` are open; each connection has
/// one timer, which the protocol arms; a connection whose answer is not taken before
/// its timer fires, or that is told to close, is closed.
///
/// A connection is in one phase at a time: `reading` its request, `paused` while the
/// protocol works on the answer away from the socket, `writing` the answer (nothing is
/// read meanwhile: a client that pipelines without reading its answers stalls only
/// itself), then reading again, closed, or `lingering`.
///
/// Confinement: after `start`, everything runs on the loop thread; `close` too.
final class StreamServer<Session> {
    /// What a newcomer meets when `maximumConnections` are open.
    enum WhenFull {
        /// It gets `busyAnswer` and is closed.
        case refuseNewcomer
        /// The connection accepted first among those still reading their request is
        /// closed to make room: idle or trickling clients (a slowloris) cannot keep a
        /// scrape or a kubelet probe out. Only when every connection is past its request
        /// does the newcomer get `busyAnswer`.
        case evictOldestReading
    }

    enum Phase: Hashable {
        case reading, paused, writing, lingering
    }

    /// What happens once an answer is written.
    enum AfterWrite {
        /// Back to reading, then `Handlers.resumed`.
        case read
        case close
        /// Half-close, then read and discard whatever the client still sends for at most
        /// the given time before closing: closing a socket with unread input makes the
        /// kernel send a reset, which can destroy the answer before the client read it
        /// (the "lingering close" of HTTP servers).
        case linger(TimeSpan)
    }

    /// What the protocol does; each runs on the loop thread.
    struct Handlers {
        /// A connection was accepted: its protocol state.
        var accepted: (_ fd: Int32) -> Session
        /// Bytes arrived on a reading connection. True reads on in this wakeup; false
        /// stops (the protocol answered, or wants no more for now).
        var received: (_ connection: Connection, _ bytes: ArraySlice<UInt8>) -> Bool
        /// The timer of a reading connection fired.
        var timedOut: (_ connection: Connection) -> Void
        /// An answer written with `.read` is out; the connection reads again.
        var resumed: (_ connection: Connection) -> Void
    }

    /// One accepted connection. Loop-confined, like the server (hence `@unchecked`: it
    /// rides in `EventLoop.execute` closures that run on the loop thread).
    final class Connection: @unchecked Sendable {
        let fd: Int32
        /// Accept order: the lowest is the oldest.
        let sequence: UInt64
        var session: Session
        fileprivate(set) var phase = Phase.reading
        fileprivate var interest: EventLoop.Events?
        fileprivate var registration: EventLoop.RegistrationID?
        fileprivate var timer: EventLoop.TimerID?
        fileprivate var output: [UInt8] = []
        fileprivate var outputOffset = 0
        fileprivate var afterWrite = AfterWrite.read
        fileprivate var drained = 0

        fileprivate init(fd: Int32, sequence: UInt64, session: Session) {
            self.fd = fd
            self.sequence = sequence
            self.session = session
        }
    }

    let loop: EventLoop
    let maximumConnections: Int
    /// The deadline armed at accept, for the first request.
    let requestTimeout: TimeSpan
    /// How much one `recv` of a reading connection takes.
    let receiveBytes: Int
    let whenFull: WhenFull
    /// What a newcomer that finds no room gets before it is closed.
    let busyAnswer: [UInt8]
    private let fd: Int32
    private var handlers: Handlers?
    private var registration: EventLoop.RegistrationID?
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var acceptedCount: UInt64 = 0
    private var closed = false

    /// Takes over `fd`, a bound, listening, non-blocking stream socket; `start` serves it.
    init(
        listening fd: Int32, loop: EventLoop, maximumConnections: Int, requestTimeout: TimeSpan, receiveBytes: Int,
        whenFull: WhenFull, busyAnswer: [UInt8]
    ) {
        self.fd = fd
        self.loop = loop
        self.maximumConnections = maximumConnections
        self.requestTimeout = requestTimeout
        self.receiveBytes = receiveBytes
        self.whenFull = whenFull
        self.busyAnswer = busyAnswer
    }

    /// Starts accepting on the loop. On failure nothing is registered; `close` still
    /// closes the socket.
    func start(_ handlers: Handlers) throws(ProcessControlError) {
        self.handlers = handlers
        registration = try loop.register(fd: fd, for: .readable) { [unowned self] _ in self.acceptAll() }
    }

    /// Open connections.
    var connectionCount: Int { connections.count }

    /// Open connections in `phase`.
    func count(in phase: Phase) -> Int { connections.values.count { $0.phase == phase } }

    /// False once the connection was closed.
    func isOpen(_ c: Connection) -> Bool { connections[ObjectIdentifier(c)] != nil }

    /// Stops accepting, closes every connection and the listening socket. True the first
    /// time, false when already closed.
    @discardableResult
    func close() -> Bool {
        guard !closed else { return false }
        closed = true
        if let registration { loop.unregister(registration) }
        registration = nil
        for connection in Array(connections.values) { drop(connection) }
        Glibc.close(fd)
        return true
    }

    // MARK: Accepting

    private func acceptAll() {
        guard let handlers else { return }
        for _ in 0..<64 {
            // accept4 is behind _GNU_SOURCE for Swift; connections are accepted and
            // components spawned on this one thread, so setting close-on-exec right after
            // accept leaks nothing into a child.
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }  // EAGAIN, or a connection that died queued
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            if whenFull == .evictOldestReading, connections.count >= maximumConnections, let stalled = oldestStillReading() {
                drop(stalled)
            }
            guard connections.count < maximumConnections else {
                var answer = busyAnswer
                _ = send(client, &answer, answer.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                Glibc.close(client)
                continue
            }
            acceptedCount &+= 1
            let connection = Connection(fd: client, sequence: acceptedCount, session: handlers.accepted(client))
            connections[ObjectIdentifier(connection)] = connection
            guard watch(connection, for: .readable) else {
                connections[ObjectIdentifier(connection)] = nil
                Glibc.close(client)
                continue
            }
            armTimer(connection, after: requestTimeout)
        }
    }

    private func oldestStillReading() -> Connection? {
        var oldest: Connection?
        for c in connections.values where c.phase == .reading {
            if oldest == nil || c.sequence < oldest!.sequence { oldest = c }
        }
        return oldest
    }

    // MARK: One connection

    /// (Re)arms the connection's one timer. When it fires: a reading connection goes to
    /// `Handlers.timedOut`; a writing or lingering one is closed (the client does not
    /// take its answer, or does not hang up); a paused one is left alone (the protocol
    /// finishes on this thread before any timer can fire).
    func armTimer(_ c: Connection, after delay: TimeSpan) {
        if let timer = c.timer { loop.cancelTimer(timer) }
        c.timer = loop.addTimer(after: delay) { [weak self, weak c] in
            guard let self, let c else { return }
            c.timer = nil
            self.timerFired(c)
        }
    }

    private func timerFired(_ c: Connection) {
        guard isOpen(c) else { return }
        switch c.phase {
        case .reading: handlers?.timedOut(c)
        case .paused: break
        case .writing, .lingering: drop(c)
        }
    }

    /// Stops watching the socket while the protocol prepares the answer elsewhere (a
    /// later turn of the loop); `write` takes it up again.
    func pause(_ c: Connection) {
        c.phase = .paused
        if let registration = c.registration { loop.unregister(registration) }
        c.registration = nil
        c.interest = nil
    }

    /// Writes `bytes` (after any answer still pending), then does `after`. A `.close` or
    /// `.linger` asked for an earlier answer still pending wins over a later `.read`.
    func write(_ c: Connection, _ bytes: [UInt8], then after: AfterWrite) {
        if c.outputOffset >= c.output.count {
            c.output = bytes
            c.outputOffset = 0
            c.afterWrite = after
        } else {
            c.output += bytes
            if case .read = c.afterWrite { c.afterWrite = after }
        }
        c.phase = .writing
        flush(c)
    }

    /// Closes the connection now. Loop thread; a no-op once closed.
    func drop(_ c: Connection) {
        guard connections.removeValue(forKey: ObjectIdentifier(c)) != nil else { return }
        if let registration = c.registration { loop.unregister(registration) }
        c.registration = nil
        if let timer = c.timer { loop.cancelTimer(timer) }
        c.timer = nil
        Glibc.close(c.fd)
    }

    /// Watches the socket for one kind of readiness (level-triggered epoll would report a
    /// connected socket writable forever, so switching means a new registration).
    private func watch(_ c: Connection, for events: EventLoop.Events) -> Bool {
        if let registration = c.registration { loop.unregister(registration) }
        c.registration = nil
        c.interest = nil
        do {
            c.registration = try loop.register(fd: c.fd, for: events) { [weak self, weak c] _ in
                guard let self, let c else { return }
                self.ready(c)
            }
            c.interest = events
            return true
        } catch {
            return false
        }
    }

    private func ready(_ c: Connection) {
        switch c.phase {
        case .reading: receive(c)
        case .paused: return
        case .writing: flush(c)
        case .lingering: linger(c)
        }
    }

    private func receive(_ c: Connection) {
        guard let handlers else { return }
        var buffer = [UInt8](repeating: 0, count: receiveBytes)
        // Bounded per wakeup so one fast client cannot starve the loop.
        for _ in 0..<8 {
            let n = SystemCall.retryingInterrupts { buffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) } }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                drop(c)
                return
            }
            if n == 0 {
                drop(c)  // done sending: nobody to answer
                return
            }
            guard handlers.received(c, buffer[0..<n]) else { return }
        }
    }

    private func flush(_ c: Connection) {
        guard isOpen(c) else { return }
        while c.outputOffset < c.output.count {
            let n = SystemCall.retryingInterrupts {
                c.output.withUnsafeBytes {
                    send(c.fd, $0.baseAddress! + c.outputOffset, $0.count - c.outputOffset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                }
            }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    // Writable interest only: no reading until the answer is out.
                    if c.interest != .writable && !watch(c, for: .writable) { drop(c) }
                    return
                }
                drop(c)  // EPIPE, ECONNRESET: the client went away
                return
            }
            c.outputOffset += n
        }
        c.output = []
        c.outputOffset = 0
        switch c.afterWrite {
        case .close:
            drop(c)
        case .linger(let timeout):
            startLingering(c, for: timeout)
        case .read:
            c.phase = .reading
            if c.interest != .readable && !watch(c, for: .readable) {
                drop(c)
                return
            }
            handlers?.resumed(c)
        }
    }

    private func startLingering(_ c: Connection, for timeout: TimeSpan) {
        c.phase = .lingering
        shutdown(c.fd, Int32(SHUT_WR))
        guard watch(c, for: .readable) else {
            drop(c)
            return
        }
        armTimer(c, after: timeout)
        linger(c)
    }

    /// Reads and discards until the client hangs up, up to 1 MiB.
    private func linger(_ c: Connection) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        for _ in 0..<8 {
            let n = SystemCall.retryingInterrupts { buffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) } }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            if n <= 0 {
                drop(c)
                return
            }
            c.drained += n
            if c.drained > 1 << 20 {
                drop(c)
                return
            }
        }
    }
}
