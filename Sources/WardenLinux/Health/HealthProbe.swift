import CWardenShims
import Glibc
import WardenCore

/// The outcome of one health probe.
public enum HealthProbeResult: Hashable, Sendable, CustomStringConvertible {
    case passed
    /// `reason` is written for an operator: `connect 127.0.0.1:9000: Connection refused`,
    /// `HTTP 503 from http://127.0.0.1:8080/health`, `exec /usr/bin/check exited with status 2`.
    case failed(reason: String)

    public var description: String {
        switch self {
        case .passed: "passed"
        case .failed(let reason): "failed: \(reason)"
        }
    }
}

/// One run of an `[X-Warden] HealthCheck=` probe on an `EventLoop`.
///
/// `start` begins the probe and returns at once; the completion runs exactly once, on the
/// loop thread, with `.passed` or `.failed(reason:)`, unless `cancel()` came first. Nothing
/// blocks the loop thread: sockets are non-blocking and watched with epoll, the command of
/// an `exec:` probe is watched through its pidfd, and the timeout is a loop timer.
///
/// - `tcp:HOST:PORT` passes when a TCP connection is accepted (then closed at once).
/// - `http://HOST:PORT/PATH` sends `GET PATH HTTP/1.1` with `Connection: close` and reads
///   only up to the status line (at most `HealthProbe.maximumResponseBytes`): 200–399
///   passes, like Docker's and Kubernetes' HTTP checks; any other status, a malformed
///   answer or a closed connection fails.
/// - `exec:/PATH ARGS…` passes when the command exits 0. It runs with the caller's
///   environment and credentials (the component's), stdio on `/dev/null`, in its own
///   session; on timeout its whole process group gets SIGKILL and the result is
///   reported once the command has been reaped.
///
/// Host names: IPv4 and IPv6 literals (`[::1]` is passed as `::1`) are used directly.
/// `localhost`, `*.localhost` and `localhost.localdomain` map to 127.0.0.1 then ::1, and
/// `ip6-localhost`/`ip6-loopback` to ::1, without any lookup (what systemd-resolved and
/// RFC 6761 do). Any other name is resolved with `getaddrinfo` — which blocks, on NSS,
/// DNS or NIS — on a short-lived detached helper thread whose answer hops back with
/// `EventLoop.execute`; if the timeout comes first the answer is dropped when it arrives.
/// Several addresses are tried in order until one connects.
///
/// Thread confinement: `start` and `cancel` must be called on the loop thread (the
/// supervisor calls them from its handlers); `exec:` probes are spawned there so that the
/// parent-death signal is tied to the long-lived loop thread. While it runs, the probe is
/// kept alive by its own loop registrations, so the caller may keep the handle only to
/// cancel it.
public final class HealthProbe {
    /// How many bytes of an HTTP answer are read at most while looking for its status line.
    public static let maximumResponseBytes = 8192

    /// How long an `exec:` probe's command may take to die after SIGKILL before the
    /// timeout is reported anyway (a process stuck in uninterruptible sleep).
    static let killGrace = TimeSpan.seconds(5)

    public let target: HealthCheckTarget
    public let timeout: TimeSpan

    private let loop: EventLoop
    private let execSettings: ExecSettings
    /// Set while the probe runs; nil once it finished or was cancelled.
    private var completion: ((HealthProbeResult) -> Void)?
    private var timeoutTimer: EventLoop.TimerID?
    private var stage = Stage.starting
    /// True while `start` runs: a result found then (an immediate connect or refusal, a
    /// failed spawn) is reported from the next loop turn instead.
    private var beginning = false

    // Network probes.
    private var addresses: [ProbeAddress] = []
    private var nextAddressIndex = 0
    private var connectFailures: [(address: ProbeAddress, errno: Int32)] = []
    private var socketFD: Int32 = -1
    private var registration: EventLoop.RegistrationID?
    private var request: [UInt8] = []
    private var sentByteCount = 0
    private var response: [UInt8] = []

    // Exec probes.
    private var process: SpawnedProcess?
    private var killTimer: EventLoop.TimerID?

    private struct ExecSettings {
        var environment: [String]
        var userID: UInt32?
        var groupID: UInt32?
        var supplementaryGroups: [UInt32]?
        var cgroupDirectoryFD: Int32?
    }

    private enum Stage {
        case starting
        case resolving(host: String)
        case connecting(ProbeAddress)
        case sending
        case awaitingStatus
        case running
        case killing
    }

    /// Starts one probe of `target` on `loop`; call on the loop thread.
    ///
    /// - Parameters:
    ///   - timeout: from now until the answer (name resolution, connect, request, status
    ///     line; or the command's exit). On expiry the socket is closed or the command
    ///     killed, and the probe fails. `.infinity` and `.zero` (systemd's "0 disables
    ///     the timeout") wait forever.
    ///   - environment: `KEY=VALUE` strings for an `exec:` command (the component's).
    ///   - userID, groupID, supplementaryGroups: credentials for an `exec:` command, as
    ///     in `SpawnRequest` (the component's user; supplementary groups are cleared when
    ///     a user or group is given without them).
    ///   - cgroupDirectoryFD: an `O_DIRECTORY` descriptor of the cgroup to run an `exec:`
    ///     command in (the component's, so the probe is accounted to it); nil keeps the
    ///     supervisor's.
    ///   - completion: called exactly once on the loop thread, never after `cancel()`,
    ///     and never from inside `start` itself.
    /// - Returns: the handle for `cancel()`.
    @discardableResult
    public static func start(
        _ target: HealthCheckTarget, timeout: TimeSpan, on loop: EventLoop,
        environment: [String] = [], userID: UInt32? = nil, groupID: UInt32? = nil,
        supplementaryGroups: [UInt32]? = nil, cgroupDirectoryFD: Int32? = nil,
        completion: @escaping (HealthProbeResult) -> Void
    ) -> HealthProbe {
        precondition(loop.isOnLoopThread, "HealthProbe.start must run on the event loop thread")
        let probe = HealthProbe(
            target: target, timeout: timeout, loop: loop,
            execSettings: ExecSettings(
                environment: environment, userID: userID, groupID: groupID,
                supplementaryGroups: supplementaryGroups, cgroupDirectoryFD: cgroupDirectoryFD),
            completion: completion)
        probe.begin()
        return probe
    }

    private init(
        target: HealthCheckTarget, timeout: TimeSpan, loop: EventLoop, execSettings: ExecSettings,
        completion: @escaping (HealthProbeResult) -> Void
    ) {
        self.target = target
        self.timeout = timeout
        self.loop = loop
        self.execSettings = execSettings
        self.completion = completion
    }

    /// True until the completion has run or the probe was cancelled.
    public var isRunning: Bool { completion != nil }

    /// The `exec:` command's pid while it runs (tests).
    var commandPID: Int32? { process?.pid }

    /// Stops the probe without a result: closes its socket, or SIGKILLs its command's
    /// process group (the command is still reaped by the loop when it dies). After this
    /// returns the completion never runs. Call on the loop thread; a no-op once finished.
    public func cancel() {
        precondition(loop.isOnLoopThread, "HealthProbe.cancel must run on the event loop thread")
        guard completion != nil else { return }
        completion = nil
        releaseResources()
    }

    // MARK: Start and finish

    private func begin() {
        beginning = true
        defer { beginning = false }
        // 0 disables the timeout, as systemd's `TimeoutSec=0` does.
        if timeout != .zero { timeoutTimer = loop.addTimer(after: timeout) { [self] in timedOut() } }
        switch target {
        case .tcp(let host, let port), .http(let host, let port, _):
            if case .http(_, _, let path) = target, let why = Self.invalidPathReason(path) {
                return finishSoon(.failed(reason: "\(target): \(why)"))
            }
            resolve(host: host, port: port)
        case .exec:
            startCommand()
        }
    }

    /// Reports a result found inside `start` from the next loop turn, so the caller has
    /// its handle before the completion runs.
    private func finishSoon(_ result: HealthProbeResult) {
        if let timeoutTimer { loop.cancelTimer(timeoutTimer) }
        timeoutTimer = loop.addTimer(after: .zero) { [self] in finish(result) }
    }

    private func finish(_ result: HealthProbeResult) {
        guard let completion else { return }
        if beginning { return finishSoon(result) }
        self.completion = nil
        releaseResources()
        completion(result)
    }

    /// Closes and cancels everything the probe holds. A command still running is
    /// killed; its exit watch stays in place to reap it and close its pidfd.
    private func releaseResources() {
        if let timeoutTimer { loop.cancelTimer(timeoutTimer) }
        if let killTimer { loop.cancelTimer(killTimer) }
        timeoutTimer = nil
        killTimer = nil
        closeSocket()
        if process != nil { killCommand() }
    }

    private func timedOut() {
        timeoutTimer = nil
        let after = "timed out after \(Self.format(timeout))"
        switch stage {
        case .starting:
            finish(.failed(reason: "\(target): \(after)"))
        case .resolving(let host):
            finish(.failed(reason: "\(after) resolving \(host)"))
        case .connecting(let address):
            finish(.failed(reason: "\(after) connecting to \(describe(address))"))
        case .sending:
            finish(.failed(reason: "\(after) sending the request to \(target)"))
        case .awaitingStatus:
            finish(.failed(reason: "\(after) waiting for an HTTP status line from \(target)"))
        case .running:
            // Reported when the command has been reaped (processExited), or after the grace.
            stage = .killing
            killCommand()
            killTimer = loop.addTimer(after: Self.killGrace) { [self] in
                killTimer = nil
                finish(.failed(reason: "exec \(commandPath) \(after) and was still running \(Self.format(Self.killGrace)) after SIGKILL"))
            }
        case .killing:
            break
        }
    }

    static func format(_ span: TimeSpan) -> String {
        span.systemdString(accuracy: .milliseconds(1))
    }

    // MARK: Addresses

    private func resolve(host: String, port: UInt16) {
        if let literal = ProbeAddress(numericHost: host, port: port) {
            addresses = [literal]
            return connectNext()
        }
        if let loopback = ProbeAddress.loopback(forName: host, port: port) {
            addresses = loopback
            return connectNext()
        }
        stage = .resolving(host: host)
        let box = LoopBound(self)
        let loop = self.loop
        let started = HostResolver.resolve(host, port: port) { answer in
            loop.execute { box.value.resolved(host: host, answer) }
        }
        if let why = started {
            finishSoon(.failed(reason: "resolve \(host): \(why)"))
        }
    }

    private func resolved(host: String, _ answer: Result<[ProbeAddress], HostResolver.Failure>) {
        guard completion != nil else { return }  // timed out or cancelled meanwhile
        switch answer {
        case .success(let found) where !found.isEmpty:
            addresses = found
            connectNext()
        case .success:
            finish(.failed(reason: "resolve \(host): no IPv4 or IPv6 address"))
        case .failure(let failure):
            finish(.failed(reason: "resolve \(host): \(failure.message)"))
        }
    }

    /// `127.0.0.1:9000` for a literal host; `localhost:9000 (127.0.0.1)` for a name.
    private func describe(_ address: ProbeAddress) -> String {
        guard let named = hostAndPort, ProbeAddress(numericHost: named.host, port: named.port) == nil else {
            return address.display
        }
        return "\(ProbeAddress.formatHost(named.host)):\(named.port) (\(address.host))"
    }

    private var hostAndPort: (host: String, port: UInt16)? {
        switch target {
        case .tcp(let host, let port), .http(let host, let port, _): (host, port)
        case .exec: nil
        }
    }

    // MARK: Connect

    private func connectNext() {
        guard nextAddressIndex < addresses.count else { return finish(.failed(reason: connectFailureReason())) }
        let address = addresses[nextAddressIndex]
        nextAddressIndex += 1
        stage = .connecting(address)
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        // A socket that cannot be made (IPv6 disabled, EMFILE) fails this address only.
        guard fd >= 0 else { return connectFailed(address, errno) }
        socketFD = fd
        let rc = address.withSockaddr { connect(fd, $0, $1) }
        if rc == 0 { return connected() }
        let code = errno
        guard code == EINPROGRESS || code == EINTR else { return connectFailed(address, code) }
        watchSocket(.writable)
    }

    private func connectReady() {
        guard case .connecting(let address) = stage else { return }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(socketFD, SOL_SOCKET, SO_ERROR, &code, &length) != 0 { code = errno }
        if code == 0 { return connected() }
        connectFailed(address, code)
    }

    private func connectFailed(_ address: ProbeAddress, _ code: Int32) {
        connectFailures.append((address, code))
        closeSocket()
        connectNext()
    }

    /// `connect 127.0.0.1:9000: Connection refused`, or for a name with several
    /// addresses `connect localhost:9000 (127.0.0.1: Connection refused; ::1: …)`.
    private func connectFailureReason() -> String {
        guard let named = hostAndPort else { return "connect: no address" }
        if connectFailures.count == 1, let only = connectFailures.first {
            return "connect \(describe(only.address)): \(errnoDescription(only.errno))"
        }
        let each = connectFailures.map { "\($0.address.host): \(errnoDescription($0.errno))" }
        return "connect \(ProbeAddress.formatHost(named.host)):\(named.port) (\(each.joined(separator: "; ")))"
    }

    private func connected() {
        guard case .http(let host, let port, let path) = target else { return finish(.passed) }
        let authority = port == 80 ? ProbeAddress.formatHost(host) : "\(ProbeAddress.formatHost(host)):\(port)"
        request = Array(
            "GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\nUser-Agent: warden-healthcheck\r\n\r\n"
                .utf8)
        sentByteCount = 0
        stage = .sending
        sendRequest()
    }

    // MARK: HTTP

    private func sendRequest() {
        while sentByteCount < request.count {
            let n = request.withUnsafeBytes {
                send(socketFD, $0.baseAddress! + sentByteCount, $0.count - sentByteCount, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                sentByteCount += n
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return watchSocket(.writable) }
            return finish(.failed(reason: "send the request to \(target): \(errnoDescription(code))"))
        }
        stage = .awaitingStatus
        watchSocket(.readable)
    }

    private func readResponse() {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let room = min(buffer.count, Self.maximumResponseBytes - response.count)
            let n = buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, room, 0) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return }
                return finish(.failed(reason: "read the answer from \(target): \(errnoDescription(code))"))
            }
            if n == 0 {
                return finish(.failed(reason: response.isEmpty
                    ? "connection closed by \(target) without an answer"
                    : "connection closed by \(target) before a complete HTTP status line"))
            }
            response.append(contentsOf: buffer[0..<n])
            switch HTTPStatusLine.scan(response) {
            case .needMore:
                if response.count >= Self.maximumResponseBytes {
                    return finish(.failed(reason: "no HTTP status line in the first \(Self.maximumResponseBytes) bytes from \(target)"))
                }
            case .status(let code):
                return finish((200...399).contains(code) ? .passed : .failed(reason: "HTTP \(code) from \(target)"))
            case .malformed(let line):
                return finish(.failed(reason: "not an HTTP answer from \(target): \(line)"))
            }
        }
    }

    /// A `GET` path that would break the request line: control characters or spaces.
    static func invalidPathReason(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "the path '\(path)' does not start with '/'" }
        if path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            return "the path contains a space or a control character"
        }
        return nil
    }

    // MARK: Socket plumbing

    /// Watches the socket for one kind of readiness. epoll is level-triggered, so a
    /// connected socket would report "writable" forever: switching interest means
    /// removing the registration and adding a new one.
    private func watchSocket(_ interest: EventLoop.Events) {
        if let registration { loop.unregister(registration) }
        registration = nil
        do {
            registration = try loop.register(fd: socketFD, for: interest) { [self] _ in socketReady() }
        } catch {
            finish(.failed(reason: "watch the socket to \(target): \(error)"))
        }
    }

    private func socketReady() {
        switch stage {
        case .connecting: connectReady()
        case .sending: sendRequest()
        case .awaitingStatus: readResponse()
        default: break
        }
    }

    private func closeSocket() {
        if let registration { loop.unregister(registration) }
        registration = nil
        if socketFD >= 0 { close(socketFD) }
        socketFD = -1
    }

    // MARK: Exec

    private var commandPath: String {
        if case .exec(let path, _) = target { return path }
        return ""
    }

    private func startCommand() {
        guard case .exec(let path, let arguments) = target else { return }
        var spawn = SpawnRequest(
            executablePath: path, arguments: [path] + arguments, environment: execSettings.environment,
            userID: execSettings.userID, groupID: execSettings.groupID,
            supplementaryGroups: execSettings.supplementaryGroups,
            stdin: .null, stdout: .null, stderr: .null,
            cgroupDirectoryFD: execSettings.cgroupDirectoryFD)
        // A probe must not outlive the supervisor that is waiting for it.
        spawn.parentDeathSignal = SIGKILL
        let started: SpawnedProcess
        do {
            started = try spawnProcess(spawn)
        } catch {
            return finishSoon(.failed(reason: "exec \(path) could not start: \(error)"))
        }
        do {
            try loop.watchExit(started) { [self] status in processExited(status) }
        } catch {
            // Without a watch nobody would reap it: kill and reap it here. SIGKILL takes
            // effect at once for a process that just exec'd, so the wait is short.
            _ = warden_pidfd_send_signal(started.pidfd, SIGKILL)
            var code: Int32 = 0
            var status: Int32 = 0
            var pid: pid_t = 0
            _ = warden_wait_pidfd(started.pidfd, 0, &code, &status, &pid)
            close(started.pidfd)
            return finishSoon(.failed(reason: "exec \(path): \(error)"))
        }
        process = started
        stage = .running
    }

    /// SIGKILL to the command and to its process group (it leads its own session, so
    /// `sh -c` helpers die too). Safe against PID reuse: the leader is not reaped yet,
    /// so its pid and group id cannot have been recycled.
    private func killCommand() {
        guard let process else { return }
        try? ProcessControl.sendSignal(SIGKILL, toPidfd: process.pidfd)
        try? ProcessControl.killProcessGroup(process.pid, signal: SIGKILL)
    }

    private func processExited(_ status: WardenCore.ExitStatus?) {
        // The loop closes the pidfd after this returns.
        process = nil
        let path = commandPath
        guard let status else {
            return finish(.failed(reason: "exec \(path): its exit status was taken by another waiter"))
        }
        if case .killing = stage {
            let after = Self.format(timeout)
            if case .killed(SIGKILL, _) = status {
                return finish(.failed(reason: "exec \(path) killed by SIGKILL after timeout (\(after))"))
            }
            return finish(.failed(reason: "exec \(path) timed out after \(after)"))
        }
        switch status {
        case .exited(code: 0):
            finish(.passed)
        case .exited(let code):
            finish(.failed(reason: "exec \(path) exited with status \(code)"))
        case .killed(let signal, let coreDumped):
            let core = coreDumped ? " (core dumped)" : ""
            finish(.failed(reason: "exec \(path) killed by \(ProcessControl.signalName(signal))\(core)"))
        case .unknown:
            finish(.failed(reason: "exec \(path): its exit status is unknown"))
        }
    }
}

/// Carries a loop-confined value through a `@Sendable` closure that runs on the loop
/// thread (`EventLoop.execute`); only that thread touches the value.
private final class LoopBound<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

// MARK: - Addresses

/// A numeric IPv4 or IPv6 address and a port, ready for `connect`.
struct ProbeAddress: Hashable, Sendable {
    /// `AF_INET` or `AF_INET6`.
    var family: Int32
    /// Numeric form: `127.0.0.1`, `::1`, `fe80::1%eth0`.
    var host: String
    var port: UInt16
    var scopeID: UInt32 = 0

    /// `127.0.0.1:9000` or `[::1]:9000`.
    var display: String { "\(Self.formatHost(host)):\(port)" }

    static func formatHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    /// A literal address (`inet_pton`; IPv6 may carry `%scope`), or nil for a name.
    init?(numericHost: String, port: UInt16) {
        var v4 = in_addr()
        if inet_pton(AF_INET, numericHost, &v4) == 1 {
            self.init(family: AF_INET, host: numericHost, port: port)
            return
        }
        let parts = numericHost.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, String(parts[0]), &v6) == 1 else { return nil }
        var scope: UInt32 = 0
        if parts.count == 2 {
            let name = String(parts[1])
            if let number = UInt32(name) {
                scope = number
            } else {
                scope = if_nametoindex(name)
                guard scope != 0 else { return nil }
            }
        }
        self.init(family: AF_INET6, host: numericHost, port: port, scopeID: scope)
    }

    init(family: Int32, host: String, port: UInt16, scopeID: UInt32 = 0) {
        self.family = family
        self.host = host
        self.port = port
        self.scopeID = scopeID
    }

    /// The loopback addresses of the names every resolver answers locally (RFC 6761,
    /// systemd-resolved's synthesized records), IPv4 first; nil for any other name.
    static func loopback(forName name: String, port: UInt16) -> [ProbeAddress]? {
        var lower = name.lowercased()
        if lower.hasSuffix(".") { lower.removeLast() }
        let v4 = ProbeAddress(family: AF_INET, host: "127.0.0.1", port: port)
        let v6 = ProbeAddress(family: AF_INET6, host: "::1", port: port)
        if lower == "localhost" || lower == "localhost.localdomain" || lower.hasSuffix(".localhost") {
            return [v4, v6]
        }
        if lower == "ip6-localhost" || lower == "ip6-loopback" { return [v6] }
        return nil
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        let numeric = String(host.split(separator: "%", maxSplits: 1).first ?? "")
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            _ = inet_pton(AF_INET, numeric, &address.sin_addr)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_scope_id = scopeID
        _ = inet_pton(AF_INET6, numeric, &address.sin6_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}

/// `getaddrinfo` off the loop thread: it may block for seconds on DNS. One detached
/// thread per lookup, with every signal blocked (signals belong to the loop's signalfd).
/// Lookups are rare (one per probe interval, only for names that are neither literals
/// nor localhost), so a thread per lookup costs less than keeping a pool alive.
enum HostResolver {
    struct Failure: Error, Hashable, Sendable {
        var message: String
    }

    /// Starts the lookup; `done` runs once on the helper thread. Returns why the thread
    /// could not be started, or nil.
    static func resolve(
        _ host: String, port: UInt16, done: @escaping @Sendable (Result<[ProbeAddress], Failure>) -> Void
    ) -> String? {
        do {
            try SignalBlockedThread.start("resolver", detached: true) { done(lookUp(host, port: port)) }
            return nil
        } catch {
            return "cannot start the resolver thread: \(errnoDescription(error.errno))"
        }
    }

    /// The blocking lookup: every IPv4 and IPv6 stream address, in the resolver's order.
    static func lookUp(_ host: String, port: UInt16) -> Result<[ProbeAddress], Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0 else {
            let message = rc == EAI_SYSTEM ? errnoDescription(errno) : String(cString: gai_strerror(rc))
            return .failure(Failure(message: message))
        }
        defer { freeaddrinfo(list) }
        var found: [ProbeAddress] = []
        var entry = list
        while let current = entry {
            entry = current.pointee.ai_next
            guard let raw = current.pointee.ai_addr else { continue }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            var address: ProbeAddress?
            switch current.pointee.ai_family {
            case AF_INET:
                var sin = UnsafeRawPointer(raw).loadUnaligned(as: sockaddr_in.self)
                if inet_ntop(AF_INET, &sin.sin_addr, &text, socklen_t(text.count)) != nil {
                    address = ProbeAddress(family: AF_INET, host: Self.string(text), port: port)
                }
            case AF_INET6:
                var sin6 = UnsafeRawPointer(raw).loadUnaligned(as: sockaddr_in6.self)
                if inet_ntop(AF_INET6, &sin6.sin6_addr, &text, socklen_t(text.count)) != nil {
                    var numeric = Self.string(text)
                    if sin6.sin6_scope_id != 0 { numeric += "%\(sin6.sin6_scope_id)" }
                    address = ProbeAddress(family: AF_INET6, host: numeric, port: port, scopeID: sin6.sin6_scope_id)
                }
            default:
                break
            }
            if let address, !found.contains(address) { found.append(address) }
        }
        return .success(found)
    }

    /// A NUL-terminated C buffer as a String.
    private static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

// MARK: - HTTP status line

/// Finds the final status code at the start of an HTTP/1.x answer. Interim 1xx answers
/// (`103 Early Hints`; `100 Continue` from servers that send it unasked) are skipped with
/// their header block; `101` is final (a probe never asks to switch protocols).
enum HTTPStatusLine {
    enum Scan: Hashable, Sendable {
        case needMore
        case status(Int)
        /// The offending line, quoted and cut short for a log message.
        case malformed(String)
    }

    private static let prefix = Array("HTTP/".utf8)

    static func scan(_ bytes: [UInt8]) -> Scan {
        var start = 0
        while true {
            // Reject an answer that is not HTTP as soon as its first bytes show it.
            let available = min(prefix.count, bytes.count - start)
            if available > 0 && bytes[start..<start + available].elementsEqual(prefix[0..<available]) == false {
                return .malformed(quote(bytes[start...]))
            }
            guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { return .needMore }
            var line = bytes[start..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            guard let code = statusCode(line) else { return .malformed(quote(line)) }
            guard (100...199).contains(code) && code != 101 else { return .status(code) }
            // Skip the interim answer's headers up to and including the empty line.
            var cursor = newline + 1
            while true {
                guard let end = bytes[cursor...].firstIndex(of: UInt8(ascii: "\n")) else { return .needMore }
                let header = bytes[cursor..<end]
                cursor = end + 1
                if header.isEmpty || header.elementsEqual([UInt8(ascii: "\r")]) { break }
            }
            start = cursor
            if start == bytes.count { return .needMore }
        }
    }

    /// `HTTP/1.1 200 OK` → 200; `HTTP/1.0 503` → 503; nil for anything else.
    static func statusCode(_ line: ArraySlice<UInt8>) -> Int? {
        guard line.starts(with: prefix) else { return nil }
        var index = line.startIndex + prefix.count
        // Version: digits and dots (1.1, 1.0).
        let versionStart = index
        while index < line.endIndex, line[index] == UInt8(ascii: ".") || (48...57).contains(line[index]) { index += 1 }
        guard index > versionStart, index < line.endIndex, line[index] == UInt8(ascii: " ") else { return nil }
        index += 1
        guard line.endIndex - index >= 3 else { return nil }
        var code = 0
        for digit in line[index..<index + 3] {
            guard (48...57).contains(digit) else { return nil }
            code = code * 10 + Int(digit - 48)
        }
        index += 3
        guard index == line.endIndex || line[index] == UInt8(ascii: " ") else { return nil }
        return (100...599).contains(code) ? code : nil
    }

    /// The bytes as a quoted, printable string of at most 60 characters.
    static func quote(_ bytes: ArraySlice<UInt8>) -> String {
        var text = ""
        for byte in bytes.prefix(60) {
            switch byte {
            case 0x20...0x7E where byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "'"):
                text.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "\r"): text += "\\r"
            case UInt8(ascii: "\n"): text += "\\n"
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return "'\(text)'" + (bytes.count > 60 ? "…" : "")
    }
}
