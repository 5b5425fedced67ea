import CWardenShims
import Glibc
import WardenCore

/// One run of an `[X-Warden] HealthCheck=` probe on an `EventLoop`: the effects of a
/// `HealthProbeMachine`, which decides every step and every word of the result.
///
/// `start` begins the probe and returns at once; the completion runs exactly once, on the
/// loop thread, with `.passed` or `.failed(reason:)`, unless `cancel()` came first. Nothing
/// blocks the loop thread: sockets are non-blocking and watched with epoll, the command of
/// an `exec:` probe is watched through its pidfd, and the timeout is a loop timer.
///
/// An `exec:` command runs with the caller's environment and credentials (the
/// component's), stdio on `/dev/null`, in its own session; on timeout its whole process
/// group gets SIGKILL. A host name that is neither a literal nor in the loopback table is
/// resolved with `getaddrinfo` (which blocks, on NSS, DNS or NIS) on a short-lived
/// `HostResolver` thread whose answer hops back with `EventLoop.execute`; if the timeout
/// comes first the answer is dropped when it arrives.
///
/// The network side is Warden's one HTTP client (`HTTPRequest`, `HTTPStatusReader`,
/// `ConnectAttempts`, `StreamSocket`, `HostResolver`), driven here without ever blocking
/// the loop; the alert webhook drives the same pieces blocking, on its own thread, with
/// TLS under them (`HTTPClient`). A probe speaks plain `http://` only, sends one GET and
/// reads nothing but the status line (at most 8 KiB); each failure gets a reason naming
/// the step that failed (connect, send, status line) and the address.
///
/// Thread confinement: `start` and `cancel` must be called on the loop thread (the
/// supervisor calls them from its handlers); `exec:` probes are spawned there so that the
/// parent-death signal is tied to the long-lived loop thread. While it runs, the probe is
/// kept alive by its own loop registrations, so the caller may keep the handle only to
/// cancel it.
public final class HealthProbe {
    public var target: HealthCheckTarget { machine.target }
    public var timeout: TimeSpan { machine.timeout }

    private let loop: EventLoop
    private let execSettings: ExecSettings
    private var machine: HealthProbeMachine
    /// Set while the probe runs; nil once it finished or was cancelled.
    private var completion: ((HealthProbeResult) -> Void)?
    private var timeoutTimer: EventLoop.TimerID?
    private var killTimer: EventLoop.TimerID?
    /// True while `start` runs: a result found then (an immediate connect or refusal, a
    /// failed spawn) is reported from the next loop turn instead.
    private var beginning = false
    /// Events that arrived while the machine's actions were being carried out: they are
    /// handled one at a time, in order, once those actions are done.
    private var pendingEvents: [HealthProbeMachine.Event] = []
    private var dispatching = false

    // Network probes.
    private var socketFD: Int32 = -1
    private var registration: EventLoop.RegistrationID?
    private var request: ArraySlice<UInt8> = []

    // Exec probes.
    private var process: SpawnedProcess?

    private struct ExecSettings {
        var environment: [String]
        var userID: UInt32?
        var groupID: UInt32?
        var supplementaryGroups: [UInt32]?
        var cgroupDirectoryFD: Int32?
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
            machine: HealthProbeMachine(target: target, timeout: timeout), loop: loop,
            execSettings: ExecSettings(
                environment: environment, userID: userID, groupID: groupID,
                supplementaryGroups: supplementaryGroups, cgroupDirectoryFD: cgroupDirectoryFD),
            completion: completion)
        probe.begin()
        return probe
    }

    private init(
        machine: HealthProbeMachine, loop: EventLoop, execSettings: ExecSettings,
        completion: @escaping (HealthProbeResult) -> Void
    ) {
        self.machine = machine
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

    // MARK: Events and actions

    private func begin() {
        beginning = true
        defer { beginning = false }
        // 0 disables the timeout, as systemd's `TimeoutSec=0` does.
        if timeout != .zero {
            timeoutTimer = loop.addTimer(after: timeout) { [self] in
                timeoutTimer = nil
                handle(.timedOut)
            }
        }
        let literal: ProbeAddress? =
            switch target {
            case .tcp(let host, let port), .http(let host, let port, _): ProbeAddress(numericHost: host, port: port)
            case .exec: nil
            }
        handle(.start(literal: literal))
    }

    private func handle(_ event: HealthProbeMachine.Event) {
        guard completion != nil else { return }  // cancelled: late answers are dropped
        pendingEvents.append(event)
        guard !dispatching else { return }
        dispatching = true
        defer { dispatching = false }
        while !pendingEvents.isEmpty {
            let next = pendingEvents.removeFirst()
            for action in machine.handle(next) { perform(action) }
        }
    }

    private func perform(_ action: HealthProbeMachine.Action) {
        switch action {
        case .resolve(let host, let port):
            resolve(host: host, port: port)
        case .connect(let address):
            connect(to: address)
        case .closeSocket:
            closeSocket()
        case .send(let bytes):
            request = bytes[...]
            sendRequest()
        case .awaitAnswer:
            watchSocket(.readable)
        case .runCommand(let path, let arguments):
            startCommand(path: path, arguments: arguments)
        case .killCommand:
            killCommand()
        case .armKillGrace(let grace):
            killTimer = loop.addTimer(after: grace) { [self] in
                killTimer = nil
                handle(.killGraceExpired)
            }
        case .finish(let result):
            finish(result)
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

    // MARK: Network

    private func resolve(host: String, port: UInt16) {
        let box = LoopBound(self)
        let loop = self.loop
        let started = HostResolver.resolve(host, port: port) { answer in
            loop.execute {
                switch answer {
                case .success(let found): box.value.handle(.resolved(found))
                case .failure(let failure): box.value.handle(.resolutionFailed(failure.message))
                }
            }
        }
        if let why = started { handle(.resolutionFailed(why)) }
    }

    private func connect(to address: ProbeAddress) {
        switch StreamSocket.connect(to: address) {
        case .connected(let fd):
            socketFD = fd
            handle(.connected)
        case .inProgress(let fd):
            socketFD = fd
            watchSocket(.writable)
        case .failed(let reason):
            handle(.connectFailed(reason: reason))
        }
    }

    private func connectSettled() {
        handle(StreamSocket.connectError(socketFD).map { .connectFailed(reason: $0) } ?? .connected)
    }

    private func sendRequest() {
        while !request.isEmpty {
            switch StreamSocket.send(socketFD, request) {
            case .sent(let count): request = request.dropFirst(count)
            case .failed(let reason): return handle(.sendFailed(reason: reason))
            default: return watchSocket(.writable)
            }
        }
        handle(.requestSent)
    }

    private func readAnswer() {
        while case .awaitingStatus = machine.stage {
            switch StreamSocket.receive(socketFD, upTo: min(2048, machine.responseRoom)) {
            case .received(let bytes): handle(.received(bytes))
            case .closed: return handle(.closedByPeer)
            case .failed(let reason): return handle(.receiveFailed(reason: reason))
            default: return
            }
        }
    }

    /// Watches the socket for one kind of readiness. epoll is level-triggered, so a
    /// connected socket would report "writable" forever: switching interest means
    /// removing the registration and adding a new one.
    private func watchSocket(_ interest: EventLoop.Events) {
        if let registration { loop.unregister(registration) }
        registration = nil
        do {
            registration = try loop.register(fd: socketFD, for: interest) { [self] _ in socketReady() }
        } catch {
            handle(.watchFailed(reason: "\(error)"))
        }
    }

    private func socketReady() {
        switch machine.stage {
        case .connecting: connectSettled()
        case .sending: sendRequest()
        case .awaitingStatus: readAnswer()
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

    private func startCommand(path: String, arguments: [String]) {
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
            return handle(.commandNotStarted(reason: "\(error)"))
        }
        do {
            try loop.watchExit(started) { [self] status in
                // The loop closes the pidfd after this returns.
                process = nil
                handle(.commandExited(status))
            }
        } catch {
            // Without a watch nobody would reap it: kill and reap it here. SIGKILL takes
            // effect at once for a process that just exec'd, so the wait is short.
            _ = warden_pidfd_send_signal(started.pidfd, SIGKILL)
            _ = started.waitForExit()
            return handle(.commandUnwatched(reason: "\(error)"))
        }
        process = started
        handle(.commandStarted)
    }

    /// SIGKILL to the command and to its process group (it leads its own session, so
    /// `sh -c` helpers die too). Safe against PID reuse: the leader is not reaped yet,
    /// so its pid and group id cannot have been recycled.
    private func killCommand() {
        guard let process else { return }
        try? ProcessControl.sendSignal(SIGKILL, toPidfd: process.pidfd)
        try? ProcessControl.killProcessGroup(process.pid, signal: SIGKILL)
    }
}

/// Carries a loop-confined value through a `@Sendable` closure that runs on the loop
/// thread (`EventLoop.execute`); only that thread touches the value.
private final class LoopBound<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
