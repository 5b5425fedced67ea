// One run of an `[X-Warden] HealthCheck=` probe as a table, s6-style: the effects layer
// (WardenLinux's `HealthProbe`) feeds in what happened on the socket, the resolver thread,
// the command or the timers, and carries out the actions that come back. Every verdict
// and every word of a failure reason is decided here; nothing here touches a socket, a
// clock or a process.
//
// - `tcp:HOST:PORT` passes when a TCP connection is accepted.
// - `http://HOST:PORT/PATH` sends `GET PATH HTTP/1.1` (`HTTPRequest`, with
//   `Connection: close`) and reads only up to the status line (`HTTPStatusReader`, at most
//   `maximumResponseBytes`): 200–399 passes, like Docker's and Kubernetes' HTTP checks;
//   any other status, a malformed answer or a closed connection fails.
// - `exec:/PATH ARGS…` passes when the command exits 0; on timeout it is killed and the
//   result reported once it has been reaped, or after `killGrace`.
//
// Which addresses are tried, and how their failures read, is `ConnectAttempts`, which the
// alert webhook's client shares.

/// The state of one health probe and its transitions.
public struct HealthProbeMachine: Sendable {
    /// How many bytes of an HTTP answer are read at most while looking for its status line.
    public static let maximumResponseBytes = HTTPStatusReader.maximumBytes

    /// How long an `exec:` probe's command may take to die after SIGKILL before the
    /// timeout is reported anyway (a process stuck in uninterruptible sleep).
    public static let killGrace = TimeSpan.seconds(5)

    public enum Stage: Hashable, Sendable {
        case starting
        case resolving(host: String)
        case connecting(ProbeAddress)
        case sending
        case awaitingStatus
        /// The `exec:` command runs.
        case running
        /// The command overran the timeout and was sent SIGKILL.
        case killing
        case finished
    }

    public enum Event: Hashable, Sendable {
        /// The probe begins. `literal` is the target's host as a numeric address, nil for
        /// a name (parsing a literal is the effects layer's: the zone of `fe80::1%eth0`
        /// names one of the host's interfaces).
        case start(literal: ProbeAddress?)
        case resolved([ProbeAddress])
        case resolutionFailed(String)
        case connected
        /// The address being connected to failed; `reason` is the errno's text.
        case connectFailed(reason: String)
        case requestSent
        case sendFailed(reason: String)
        /// Bytes of the answer, as they arrive.
        case received([UInt8])
        case receiveFailed(reason: String)
        /// The server closed the connection.
        case closedByPeer
        case watchFailed(reason: String)
        case commandStarted
        /// The command could not be spawned.
        case commandNotStarted(reason: String)
        /// The command was spawned, but its exit could not be watched (so it was killed).
        case commandUnwatched(reason: String)
        /// The command was reaped; nil when another waiter took its status.
        case commandExited(ExitStatus?)
        case timedOut
        case killGraceExpired
    }

    public enum Action: Hashable, Sendable {
        /// Look the name up off the loop; answer with `.resolved` or `.resolutionFailed`.
        case resolve(host: String, port: UInt16)
        /// Open a socket and connect; answer with `.connected` or `.connectFailed`.
        case connect(ProbeAddress)
        case closeSocket
        /// Send the whole request; answer with `.requestSent` or `.sendFailed`.
        case send([UInt8])
        /// Read the answer; feed it in with `.received`, then `.closedByPeer` at its end.
        case awaitAnswer
        /// Spawn the command; answer with `.commandStarted` or a failure.
        case runCommand(path: String, arguments: [String])
        case killCommand
        /// Feed in `.killGraceExpired` after this long.
        case armKillGrace(TimeSpan)
        /// Report the result and release everything the probe holds.
        case finish(HealthProbeResult)
    }

    public let target: HealthCheckTarget
    /// From the start until the answer; `.zero` and `.infinity` never expire (systemd's
    /// "0 disables the timeout"); the effects layer arms the timer.
    public let timeout: TimeSpan
    public private(set) var stage = Stage.starting
    /// Set at the start of a `tcp:` or `http:` probe.
    private var attempts: ConnectAttempts?
    private var response = HTTPStatusReader()

    public init(target: HealthCheckTarget, timeout: TimeSpan) {
        self.target = target
        self.timeout = timeout
    }

    /// How many more bytes of the answer may be read.
    public var responseRoom: Int { response.room }

    public mutating func handle(_ event: Event) -> [Action] {
        switch (stage, event) {
        case (.finished, _):
            return []
        case (.starting, .start(let literal)):
            return start(literal: literal)
        case (.resolving, .resolved(let found)):
            if let why = attempts?.resolved(found) { return finish(.failed(reason: why)) }
            return connectNext()
        case (.resolving, .resolutionFailed(let message)):
            return finish(.failed(reason: attempts?.lookupFailed(message) ?? message))
        case (.connecting(let address), .connectFailed(let reason)):
            attempts?.failed(address, reason: reason)
            return [.closeSocket] + connectNext()
        case (.connecting, .connected):
            return connected()
        case (.sending, .requestSent):
            stage = .awaitingStatus
            return [.awaitAnswer]
        case (.sending, .sendFailed(let reason)):
            return finish(.failed(reason: "send the request to \(target): \(reason)"))
        case (.awaitingStatus, .received(let bytes)):
            return judgeAnswer(response.receive(bytes))
        case (.awaitingStatus, .receiveFailed(let reason)):
            return finish(.failed(reason: "read the answer from \(target): \(reason)"))
        case (.awaitingStatus, .closedByPeer):
            return finish(
                .failed(
                    reason: response.isEmpty
                        ? "connection closed by \(target) without an answer"
                        : "connection closed by \(target) before a complete HTTP status line"))
        case (.connecting, .watchFailed(let reason)), (.sending, .watchFailed(let reason)),
            (.awaitingStatus, .watchFailed(let reason)):
            return finish(.failed(reason: "watch the socket to \(target): \(reason)"))
        case (.starting, .commandStarted):
            stage = .running
            return []
        case (.starting, .commandNotStarted(let reason)):
            return finish(.failed(reason: "exec \(commandPath) could not start: \(reason)"))
        case (.starting, .commandUnwatched(let reason)):
            return finish(.failed(reason: "exec \(commandPath): \(reason)"))
        case (.running, .commandExited(let status)), (.killing, .commandExited(let status)):
            return commandExited(status)
        case (_, .timedOut):
            return timedOut()
        case (.killing, .killGraceExpired):
            let after = "timed out after \(Self.format(timeout))"
            return finish(
                .failed(
                    reason: "exec \(commandPath) \(after) and was still running \(Self.format(Self.killGrace)) after SIGKILL"))
        default:
            return []
        }
    }

    /// `30s`, `1.5s`, `200ms`: how durations read in failure reasons.
    public static func format(_ span: TimeSpan) -> String {
        span.systemdString(accuracy: .milliseconds(1))
    }

    // MARK: Transitions

    private mutating func start(literal: ProbeAddress?) -> [Action] {
        switch target {
        case .tcp(let host, let port), .http(let host, let port, _):
            if case .http(_, _, let path) = target, let why = HTTPRequest.invalidTargetReason(path) {
                return finish(.failed(reason: "\(target): \(why)"))
            }
            let plan = ConnectAttempts(host: host, port: port, literal: literal)
            attempts = plan
            guard plan.needsLookup else { return connectNext() }
            stage = .resolving(host: host)
            return [.resolve(host: host, port: port)]
        case .exec(let path, let arguments):
            return [.runCommand(path: path, arguments: arguments)]
        }
    }

    private mutating func connectNext() -> [Action] {
        guard let address = attempts?.next() else {
            return finish(.failed(reason: attempts?.failureReason ?? "connect: no address"))
        }
        stage = .connecting(address)
        return [.connect(address)]
    }

    private mutating func connected() -> [Action] {
        guard case .http(let host, let port, let path) = target else { return finish(.passed) }
        stage = .sending
        let request = HTTPRequest(
            method: "GET", target: path, authority: HTTPRequest.authority(host: host, port: port, defaultPort: 80),
            fields: [HTTPRequest.Field("User-Agent", "warden-healthcheck")])
        return [.send(request.bytes)]
    }

    private mutating func judgeAnswer(_ verdict: HTTPStatusReader.Verdict) -> [Action] {
        switch verdict {
        case .needMore:
            return []
        case .tooLong:
            return finish(.failed(reason: "no HTTP status line in the first \(Self.maximumResponseBytes) bytes from \(target)"))
        case .status(let code):
            return finish((200...399).contains(code) ? .passed : .failed(reason: "HTTP \(code) from \(target)"))
        case .malformed(let line):
            return finish(.failed(reason: "not an HTTP answer from \(target): \(line)"))
        }
    }

    private mutating func timedOut() -> [Action] {
        let after = "timed out after \(Self.format(timeout))"
        switch stage {
        case .starting:
            return finish(.failed(reason: "\(target): \(after)"))
        case .resolving(let host):
            return finish(.failed(reason: "\(after) resolving \(host)"))
        case .connecting(let address):
            return finish(.failed(reason: "\(after) connecting to \(attempts?.describe(address) ?? address.display)"))
        case .sending:
            return finish(.failed(reason: "\(after) sending the request to \(target)"))
        case .awaitingStatus:
            return finish(.failed(reason: "\(after) waiting for an HTTP status line from \(target)"))
        case .running:
            // Reported once the command has been reaped, or after the grace.
            stage = .killing
            return [.killCommand, .armKillGrace(Self.killGrace)]
        case .killing, .finished:
            return []
        }
    }

    private mutating func commandExited(_ status: ExitStatus?) -> [Action] {
        let path = commandPath
        guard let status else {
            return finish(.failed(reason: "exec \(path): its exit status was taken by another waiter"))
        }
        if stage == .killing {
            let after = Self.format(timeout)
            if case .killed(SignalNumber.kill.rawValue, _) = status {
                return finish(.failed(reason: "exec \(path) killed by SIGKILL after timeout (\(after))"))
            }
            return finish(.failed(reason: "exec \(path) timed out after \(after)"))
        }
        switch status {
        case .exited(code: 0):
            return finish(.passed)
        case .exited(let code):
            return finish(.failed(reason: "exec \(path) exited with status \(code)"))
        case .killed(let signal, let coreDumped):
            let core = coreDumped ? " (core dumped)" : ""
            return finish(.failed(reason: "exec \(path) killed by \(SignalNumber(rawValue: signal).name)\(core)"))
        case .unknown:
            return finish(.failed(reason: "exec \(path): its exit status is unknown"))
        }
    }

    private mutating func finish(_ result: HealthProbeResult) -> [Action] {
        stage = .finished
        return [.finish(result)]
    }

    // MARK: Words

    private var commandPath: String {
        if case .exec(let path, _) = target { return path }
        return ""
    }
}
