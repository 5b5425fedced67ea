// One run of an `[X-Warden] HealthCheck=` probe as a table, s6-style: the effects layer
// (WardenLinux's `HealthProbe`) feeds in what happened on the socket, the resolver thread,
// the command or the timers, and carries out the actions that come back. Every verdict
// and every word of a failure reason is decided here; nothing here touches a socket, a
// clock or a process.
//
// - `tcp:HOST:PORT` passes when a TCP connection is accepted.
// - `http://HOST:PORT/PATH` sends `GET PATH HTTP/1.1` with `Connection: close` and reads
//   only up to the status line (at most `maximumResponseBytes`): 200–399 passes, like
//   Docker's and Kubernetes' HTTP checks; any other status, a malformed answer or a
//   closed connection fails.
// - `exec:/PATH ARGS…` passes when the command exits 0; on timeout it is killed and the
//   result reported once it has been reaped, or after `killGrace`.
//
// A host that is a literal address is used as it is; a name from the loopback table
// (`ProbeAddress.loopback`) maps without a lookup; any other name is resolved. Several
// addresses are tried in order until one connects.

/// The state of one health probe and its transitions.
public struct HealthProbeMachine: Sendable {
    /// How many bytes of an HTTP answer are read at most while looking for its status line.
    public static let maximumResponseBytes = 8192

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
    private var hostIsName = false
    private var addresses: [ProbeAddress] = []
    private var nextAddressIndex = 0
    private var connectFailures: [ConnectFailure] = []
    private var response: [UInt8] = []

    private struct ConnectFailure: Hashable, Sendable {
        var address: ProbeAddress
        var reason: String
    }

    public init(target: HealthCheckTarget, timeout: TimeSpan) {
        self.target = target
        self.timeout = timeout
    }

    /// How many more bytes of the answer may be read.
    public var responseRoom: Int { Self.maximumResponseBytes - response.count }

    public mutating func handle(_ event: Event) -> [Action] {
        switch (stage, event) {
        case (.finished, _):
            return []
        case (.starting, .start(let literal)):
            return start(literal: literal)
        case (.resolving(let host), .resolved(let found)):
            guard !found.isEmpty else { return finish(.failed(reason: "resolve \(host): no IPv4 or IPv6 address")) }
            addresses = found
            return connectNext()
        case (.resolving(let host), .resolutionFailed(let message)):
            return finish(.failed(reason: "resolve \(host): \(message)"))
        case (.connecting(let address), .connectFailed(let reason)):
            connectFailures.append(ConnectFailure(address: address, reason: reason))
            return [.closeSocket] + connectNext()
        case (.connecting, .connected):
            return connected()
        case (.sending, .requestSent):
            stage = .awaitingStatus
            return [.awaitAnswer]
        case (.sending, .sendFailed(let reason)):
            return finish(.failed(reason: "send the request to \(target): \(reason)"))
        case (.awaitingStatus, .received(let bytes)):
            response += bytes
            return judgeAnswer()
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

    /// Why a `GET` path would break the request line (it must start with `/` and hold no
    /// control character or space), or nil.
    public static func invalidPathReason(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "the path '\(path)' does not start with '/'" }
        if path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            return "the path contains a space or a control character"
        }
        return nil
    }

    // MARK: Transitions

    private mutating func start(literal: ProbeAddress?) -> [Action] {
        switch target {
        case .tcp(let host, let port), .http(let host, let port, _):
            if case .http(_, _, let path) = target, let why = Self.invalidPathReason(path) {
                return finish(.failed(reason: "\(target): \(why)"))
            }
            if let literal {
                addresses = [literal]
                return connectNext()
            }
            hostIsName = true
            if let loopback = ProbeAddress.loopback(forName: host, port: port) {
                addresses = loopback
                return connectNext()
            }
            stage = .resolving(host: host)
            return [.resolve(host: host, port: port)]
        case .exec(let path, let arguments):
            return [.runCommand(path: path, arguments: arguments)]
        }
    }

    private mutating func connectNext() -> [Action] {
        guard nextAddressIndex < addresses.count else { return finish(.failed(reason: connectFailureReason())) }
        let address = addresses[nextAddressIndex]
        nextAddressIndex += 1
        stage = .connecting(address)
        return [.connect(address)]
    }

    private mutating func connected() -> [Action] {
        guard case .http(let host, let port, let path) = target else { return finish(.passed) }
        let authority = port == 80 ? ProbeAddress.formatHost(host) : "\(ProbeAddress.formatHost(host)):\(port)"
        stage = .sending
        return [
            .send(
                Array(
                    "GET \(path) HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\nUser-Agent: warden-healthcheck\r\n\r\n"
                        .utf8))
        ]
    }

    private mutating func judgeAnswer() -> [Action] {
        switch HTTPStatusLine.scan(response) {
        case .needMore:
            guard response.count >= Self.maximumResponseBytes else { return [] }
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
            return finish(.failed(reason: "\(after) connecting to \(describe(address))"))
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

    /// `127.0.0.1:9000` for a literal host; `localhost:9000 (127.0.0.1)` for a name.
    private func describe(_ address: ProbeAddress) -> String {
        guard hostIsName, let named = hostAndPort else { return address.display }
        return "\(ProbeAddress.formatHost(named.host)):\(named.port) (\(address.host))"
    }

    /// `connect 127.0.0.1:9000: Connection refused`, or for a name with several
    /// addresses `connect localhost:9000 (127.0.0.1: Connection refused; ::1: …)`.
    private func connectFailureReason() -> String {
        guard let named = hostAndPort else { return "connect: no address" }
        if connectFailures.count == 1, let only = connectFailures.first {
            return "connect \(describe(only.address)): \(only.reason)"
        }
        let each = connectFailures.map { "\($0.address.host): \($0.reason)" }
        return "connect \(ProbeAddress.formatHost(named.host)):\(named.port) (\(each.joined(separator: "; ")))"
    }

    private var hostAndPort: (host: String, port: UInt16)? {
        switch target {
        case .tcp(let host, let port), .http(let host, let port, _): (host, port)
        case .exec: nil
        }
    }
}
