import Glibc
import Testing
import WardenCore

// Real-process tests of the `warden-demo` binary: spawned with posix_spawn, output
// read through a pipe, notifications received on a socket this test binds. Waits
// have generous deadlines (the hosts are shared and loaded) and only bound how long
// a failure takes to show; nothing asserts a duration.

/// Where `warden-demo` is: `$WARDEN_DEMO_BINARY`, else next to the test bundle
/// (`.build/<triple>/debug/`, where `swift build --build-tests` puts every product),
/// else the package's `.build/debug/`.
enum DemoBinary {
    static let path: String? = locate()
    /// The `warden` binary, found the same way (`$WARDEN_BINARY` overrides).
    static let wardenPath: String? = locate(name: "warden", override: "WARDEN_BINARY")

    private static func locate(name: String = "warden-demo", override: String = "WARDEN_DEMO_BINARY") -> String? {
        if let override = getenv(override) {
            return String(cString: override)
        }
        var candidates: [String] = []
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            let executable = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // The bundle may be a directory (….xctest/…) on some layouts: try every
            // ancestor up to the one holding the .xctest.
            var directory = executable
            for _ in 0..<4 {
                guard let slash = directory.lastIndex(of: "/") else { break }
                directory = String(directory[..<slash])
                candidates.append(directory + "/" + name)
            }
        }
        // #filePath is …/Tests/WardenLinuxTests/DemoProgramTests.swift.
        let packageRoot = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
            .dropLast(3).joined(separator: "/")
        candidates.append(packageRoot + "/.build/debug/" + name)
        return candidates.first { access($0, X_OK) == 0 }
    }

    static let missingReason: Comment =
        "warden-demo is not built next to the test bundle: run `swift build --build-tests` or set WARDEN_DEMO_BINARY"
}

/// A running `warden-demo`, its stdout and stderr on pipes. Killed and reaped on deinit
/// if the test did not reap it, so a failing test leaves no process behind.
final class DemoProcess {
    let pid: pid_t
    private let stdoutFD: Int32
    private let stderrFD: Int32
    private var pending: [UInt8] = []
    private var errorOutput: [UInt8] = []
    private var errorClosed = false
    private var reaped = false
    /// Every stdout line read so far, for failure messages.
    private(set) var transcript: [String] = []

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    init(_ arguments: [String], environment extra: [String: String] = [:], binary: String? = DemoBinary.path) throws {
        guard let binary else { throw SpawnError(description: "binary not found (warden-demo or warden)") }
        // Socket pairs rather than pipes: Swift's Glibc lacks pipe2, and the ends must
        // be close-on-exec from birth, or a child spawned by a concurrent test would
        // inherit them and hold our end-of-file back.
        var stdoutPipe: [Int32] = [0, 0]
        var stderrPipe: [Int32] = [0, 0]
        let streamCloexec = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, streamCloexec, 0, &stdoutPipe) == 0,
            socketpair(AF_UNIX, streamCloexec, 0, &stderrPipe) == 0
        else {
            throw SpawnError(description: "socketpair failed: errno \(errno)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], STDERR_FILENO)
        // The test runner's threads may block or ignore signals; the child must start
        // with the defaults, as it would under a supervisor.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaulted = sigset_t()
        sigemptyset(&defaulted)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE] { sigaddset(&defaulted, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaulted)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var environment: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            let name = String(text.prefix { $0 != "=" })
            if extra[name] == nil && name != "NOTIFY_SOCKET" && !name.hasPrefix("WATCHDOG_") {
                environment.append(text)
            }
            entry += 1
        }
        environment += extra.map { "\($0.key)=\($0.value)" }

        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child = pid_t()
        let result = posix_spawn(&child, binary, &actions, &attributes, argv, envp)
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard result == 0 else {
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw SpawnError(description: "posix_spawn \(binary) failed: errno \(result)")
        }
        pid = child
        stdoutFD = stdoutPipe[0]
        stderrFD = stderrPipe[0]
    }

    deinit {
        if !reaped {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(stdoutFD)
        close(stderrFD)
    }

    /// The next stdout line satisfying `predicate`, skipping others; nil at EOF or
    /// after `seconds`.
    func nextLine(within seconds: Double = 10, where predicate: (String) -> Bool = { _ in true }) -> String? {
        let deadline = monotonicSeconds() + seconds
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                transcript.append(line)
                if predicate(line) { return line }
                continue
            }
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else { return nil }
            // Both streams: a process whose stderr nobody reads blocks once the socket's
            // buffer is full, which tiny writes (one per character) reach within a few
            // hundred bytes.
            var pollers = [
                pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: errorClosed ? -1 : stderrFD, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&pollers, 2, Int32(remaining * 1_000) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            if pollers[1].revents != 0 { drainStandardError() }
            guard pollers[0].revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4_096)
            let count = read(stdoutFD, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }  // EOF: the process closed stdout.
            pending += chunk[..<count]
        }
    }

    /// Whatever the process wrote to stderr (all of it once it exited).
    func standardError() -> String {
        drainStandardError()
        return String(decoding: errorOutput, as: UTF8.self)
    }

    /// Reads what stderr holds now, without waiting.
    private func drainStandardError() {
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            var poller = pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 0) > 0 else { break }
            let count = read(stderrFD, &chunk, chunk.count)
            if count == 0 { errorClosed = true }
            guard count > 0 else { break }
            errorOutput += chunk[..<count]
        }
    }

    func send(_ signal: Int32) {
        if !reaped { kill(pid, signal) }
    }

    /// How the process ended, or nil if it still ran after `seconds` (it is then killed).
    func exitStatus(within seconds: Double = 10) -> WardenCore.ExitStatus? {
        let deadline = monotonicSeconds() + seconds
        var status: Int32 = 0
        while monotonicSeconds() < deadline {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                reaped = true
                let signal = status & 0x7f
                return signal == 0
                    ? .exited(code: (status >> 8) & 0xff)
                    : .killed(signal: signal, coreDumped: status & 0x80 != 0)
            }
            if result < 0 && errno != EINTR { return nil }
            drainStandardError()
            usleep(10_000)
        }
        return nil
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Resident memory of `pid` in KiB, from the VmRSS line of /proc/PID/status.
func residentKibibytes(of pid: pid_t) -> Int? {
    guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix("VmRSS:") else { continue }
        // "VmRSS:\t  128464 kB"
        return Int(text.dropFirst(6).split { $0 == " " || $0 == "\t" }.first ?? "")
    }
    return nil
}

/// A datagram socket standing in for the service manager's `$NOTIFY_SOCKET`.
final class NotifyListener {
    let name: String
    private let fd: Int32
    private let filesystemPath: String?

    init(abstract: Bool) throws {
        let unique = "warden-demo-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        name = abstract ? "@" + unique : "/tmp/" + unique + ".sock"
        filesystemPath = abstract ? nil : name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DemoProcess.SpawnError(description: "socket failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(name.utf8)
        if abstract { path[0] = 0 } else { path.append(0) }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw DemoProcess.SpawnError(description: "bind \(name) failed: errno \(code)")
        }
    }

    deinit {
        close(fd)
        if let filesystemPath { unlink(filesystemPath) }
    }

    /// The next datagram whose text satisfies `predicate`; nil after `seconds`.
    func receive(within seconds: Double = 10, where predicate: (String) -> Bool) -> String? {
        let deadline = monotonicSeconds() + seconds
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else { return nil }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(remaining * 1_000) + 1) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { continue }
            let message = String(decoding: buffer[..<count], as: UTF8.self)
            if predicate(message) { return message }
        }
    }
}

@Suite(.enabled(if: DemoBinary.path != nil, DemoBinary.missingReason))
struct DemoProgramTests {
    @Test func feedPrintsTicksWithRisingSequence() throws {
        let feed = try DemoProcess(["feed", "--interval-ms", "20", "--symbol", "ETH-USD"])
        for expected in 1...3 {
            let line = try #require(feed.nextLine { $0.hasPrefix("tick ") }, "no tick line in \(feed.transcript)")
            let fields = line.split(separator: " ")
            #expect(fields.count == 4, "tick line: \(line)")
            #expect(fields[1] == "ETH-USD")
            #expect((Double(fields[2]) ?? 0) > 0, "price in \(line)")
            #expect(fields[3] == "seq=\(expected)")
        }
        feed.send(SIGTERM)
        #expect(feed.nextLine { $0 == "shutting down" } != nil, "\(feed.transcript)")
        #expect(feed.exitStatus() == .exited(code: 0))
    }

    @Test(arguments: [0, 3, 42, 255])
    func crashyExitsWithTheGivenCode(code: Int32) throws {
        let crashy = try DemoProcess(["crashy", "--exit-code", "\(code)", "--after", "0.05"])
        #expect(crashy.exitStatus() == .exited(code: code))
        #expect(crashy.nextLine { $0.hasPrefix("crashy: exiting") } == "crashy: exiting with status \(code)")
    }

    /// Every role answers the three control signals the same way.
    @Test(arguments: [
        ["feed"], ["strategy"], ["executor", "--warmup-ms", "0"], ["risk"],
        ["backtest", "--threads", "0"], ["dashboard"], ["crashy", "--after", "600"],
    ])
    func roleAnswersControlSignals(arguments: [String]) throws {
        let process = try DemoProcess(arguments)
        // The first line is printed after the signals are blocked for sigtimedwait.
        _ = try #require(process.nextLine(), "\(arguments[0]) printed nothing")
        process.send(SIGHUP)
        #expect(process.nextLine { $0.hasPrefix("reloading") } != nil, "\(process.transcript)")
        process.send(SIGUSR1)
        #expect(process.nextLine { $0.hasPrefix("freeing caches") } != nil, "\(process.transcript)")
        process.send(SIGTERM)
        #expect(process.nextLine { $0 == "shutting down" } != nil, "\(process.transcript)")
        #expect(process.exitStatus() == .exited(code: 0))
    }

    @Test(arguments: [true, false])
    func executorNotifiesReadyWatchdogStatusAndStopping(abstractSocket: Bool) throws {
        let listener = try NotifyListener(abstract: abstractSocket)
        let executor = try DemoProcess(
            ["executor", "--warmup-ms", "50"],
            environment: ["NOTIFY_SOCKET": listener.name, "WATCHDOG_USEC": "200000"])
        let ready = listener.receive { $0.contains("READY=1") }
        #expect(ready?.split(separator: "\n").contains("READY=1") == true, "got \(ready ?? "nothing")")
        #expect(listener.receive { $0 == "WATCHDOG=1" } != nil)
        let status = listener.receive { $0.hasPrefix("STATUS=orders sent: ") }
        #expect(status?.contains("sleep p99 late: ") == true, "got \(status ?? "nothing")")
        executor.send(SIGTERM)
        #expect(listener.receive { $0.hasPrefix("STOPPING=1") } != nil)
        #expect(executor.exitStatus() == .exited(code: 0))
    }

    /// WATCHDOG_PID naming another process means the watchdog is not ours to ping.
    @Test func executorIgnoresAWatchdogMeantForAnotherProcess() throws {
        let listener = try NotifyListener(abstract: true)
        let executor = try DemoProcess(
            ["executor", "--warmup-ms", "0"],
            environment: ["NOTIFY_SOCKET": listener.name, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        #expect(listener.receive { $0.contains("READY=1") } != nil)
        // Up to the first STATUS= (one second in), a ping would have come five times.
        var pinged = false
        let status = listener.receive { message in
            if message == "WATCHDOG=1" { pinged = true }
            return message.hasPrefix("STATUS=orders sent")
        }
        #expect(status != nil, "no STATUS= line arrived")
        #expect(!pinged)
        executor.send(SIGTERM)
        #expect(executor.exitStatus() == .exited(code: 0))
    }

    @Test func backtestGivesLeakedMemoryBackOnSIGUSR1() throws {
        let backtest = try DemoProcess(["backtest", "--threads", "0", "--leak-mb-per-s", "200"])
        _ = try #require(backtest.nextLine(), "backtest printed nothing")
        let baseline = try #require(residentKibibytes(of: backtest.pid))
        // Wait for at least 64 MiB of leak to be resident.
        var grown = baseline
        let deadline = monotonicSeconds() + 20
        while grown < baseline + 64 * 1_024, monotonicSeconds() < deadline {
            usleep(50_000)
            grown = residentKibibytes(of: backtest.pid) ?? grown
        }
        try #require(grown >= baseline + 64 * 1_024, "VmRSS only went from \(baseline) to \(grown) KiB")
        backtest.send(SIGUSR1)
        let freed = try #require(backtest.nextLine { $0.hasPrefix("freeing caches") }, "\(backtest.transcript)")
        let after = try #require(residentKibibytes(of: backtest.pid))
        // The leak restarts from zero after a cleanup, so a few MiB may be back already.
        #expect(after < grown - 48 * 1_024, "VmRSS \(grown) KiB before, \(after) KiB after '\(freed)'")
        backtest.send(SIGTERM)
        #expect(backtest.exitStatus() == .exited(code: 0))
    }

    @Test(arguments: [
        (["nonsense"], "unknown role 'nonsense'"),
        (["feed", "--bogus", "1"], "valid: --interval-ms, --symbol, --price"),
        (["crashy", "--exit-code", "300"], "--exit-code 300: expected an integer in 0...255"),
        (["backtest", "--threads"], "needs a value"),
        ([], "no role given"),
    ])
    func usageErrorsExitTwoAndSayWhy(arguments: [String], message: String) throws {
        let process = try DemoProcess(arguments)
        #expect(process.exitStatus() == .exited(code: 2))
        let errorText = process.standardError()
        #expect(errorText.contains(message), "stderr: \(errorText)")
    }

    @Test(arguments: [["--help"], ["executor", "--help"], ["backtest", "--threads", "2", "--help"]])
    func helpExitsZeroWithUsage(arguments: [String]) throws {
        let process = try DemoProcess(arguments)
        #expect(process.nextLine()?.hasPrefix("usage: warden-demo") == true, "\(process.transcript)")
        #expect(process.exitStatus() == .exited(code: 0))
    }
}
