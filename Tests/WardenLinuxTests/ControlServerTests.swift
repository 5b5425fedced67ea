import Glibc
import Testing
@testable import WardenCore
@testable import WardenLinux

/// The control socket against real sockets in a temp dir: authorisation by SO_PEERCRED,
/// and requests that must neither block nor crash the daemon.
@Suite(.serialized) struct ControlServerTests {
    let directory: String
    let loop: EventLoop
    let server: ControlServer
    var path: String { server.path }

    static let snapshot = ComponentSnapshot(
        name: "feed.service", activeState: "active", subState: "running", result: "success", mainPID: 42, slice: "system.slice",
        ready: true)

    init() throws {
        var template = Array("/tmp/warden-control-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        chmod(directory, 0o755)
        loop = try EventLoop()
        // 0666: the file mode lets anyone connect, so SO_PEERCRED alone must refuse.
        server = try ControlServer(
            path: directory + "/control.sock", mode: 0o666, policy: ControlAccessPolicy(), loop: loop,
            requestTimeout: .milliseconds(300)
        ) { request, operation, _ in
            ControlResponse(id: request.id, components: operation == .status ? [Self.snapshot] : nil, message: "done \(operation.rawValue)")
        }
    }

    func tearDown() {
        let server = self.server
        loop.executeAndWait { server.close() }
        loop.shutdown()
        rmdir(directory)
    }

    /// Sends raw bytes and reads one answer line.
    func exchange(_ bytes: [UInt8], on fd: Int32) -> ControlResponse? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }  // the daemon closed (too-large): the answer is still queued
            offset += n
        }
        guard case .success(let line) = ControlClient.readLine(fd) else { return nil }
        return try? ControlCodec.decodeResponse(line).get()
    }

    func connect() throws -> Int32 {
        try ControlClient(path: path, timeoutSeconds: 5).connect().get()
    }

    @Test func rootStatusIsAnswered() throws {
        defer { tearDown() }
        let response = try ControlClient(path: path).send(ControlRequest(id: 7, op: .status)).get()
        #expect(response.id == 7)
        #expect(response.error == nil)
        #expect(response.components == [Self.snapshot])
    }

    @Test func jsonRoundTripToleratesUnknownFields() throws {
        defer { tearDown() }
        let line = Array(#"{"v":1,"id":3,"op":"restart","unit":"feed","future":{"x":[1,2]}}"#.utf8)
        let request = try ControlCodec.decodeRequest(line).get()
        #expect(request == ControlRequest(id: 3, op: .restart, unit: "feed"))
        let encoded = ControlCodec.encodeLine(ControlResponse(id: 3, components: [Self.snapshot]))
        #expect(try ControlCodec.decodeResponse(Array(encoded.dropLast())).get().components == [Self.snapshot])
        #expect(String(decoding: encoded, as: UTF8.self).hasPrefix(#"{"components":[{"activeState":"active""#))
    }

    @Test(arguments: [
        ("{not json\n", ControlErrorCode.malformed),
        ("[1,2,3]\n", .malformed),
        (#"{"v":1,"id":1}"# + "\n", .malformed),
        (#"{"v":9,"id":1,"op":"status"}"# + "\n", .unsupportedVersion),
        (#"{"v":1,"id":1,"op":"teleport"}"# + "\n", .unsupportedOperation),
    ])
    func badRequestsGetTypedErrorsAndTheConnectionLives(line: String, code: ControlErrorCode) throws {
        defer { tearDown() }
        let fd = try connect()
        defer { close(fd) }
        #expect(exchange(Array(line.utf8), on: fd)?.error?.code == code)
        // The same connection still answers.
        #expect(exchange(ControlCodec.encodeLine(ControlRequest(id: 2, op: .status)), on: fd)?.id == 2)
    }

    @Test func tenMegabyteRequestIsRefusedAndTheDaemonAnswersOthers() throws {
        defer { tearDown() }
        let fd = try connect()
        defer { close(fd) }
        var huge = Array(#"{"v":1,"id":1,"op":"status","unit":""#.utf8)
        huge += [UInt8](repeating: UInt8(ascii: "a"), count: 10 * 1024 * 1024)
        huge += Array("\"}\n".utf8)
        let answer = exchange(huge, on: fd)
        #expect(answer?.error?.code == .tooLarge)
        #expect(try ControlClient(path: path).send(ControlRequest(id: 5, op: .status)).get().id == 5)
    }

    /// Lines sent together are answered one after another, in order, on the connection.
    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        defer { tearDown() }
        let fd = try connect()
        defer { close(fd) }
        var requests: [UInt8] = []
        for id in 1...3 { requests += ControlCodec.encodeLine(ControlRequest(id: id, op: .status)) }
        #expect(requests.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == requests.count)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count(where: { $0 == UInt8(ascii: "\n") }) < 3 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += buffer[0..<n]
        }
        let ids = received.split(separator: UInt8(ascii: "\n")).map { try? ControlCodec.decodeResponse(Array($0)).get().id }
        #expect(ids == [1, 2, 3])
    }

    /// A client beyond `maximumConnections` gets `busy` and is closed; the others are served.
    @Test func aClientBeyondTheLimitIsToldBusy() throws {
        defer { tearDown() }
        let full = try ControlServer(
            path: directory + "/full.sock", policy: ControlAccessPolicy(), loop: loop, maximumConnections: 1
        ) { request, _, _ in ControlResponse(id: request.id) }
        defer { loop.executeAndWait { full.close() } }
        let client = ControlClient(path: full.path, timeoutSeconds: 5)
        let first = try client.connect().get()
        defer { close(first) }
        let second = try client.connect().get()
        defer { close(second) }
        let refused = try ControlCodec.decodeResponse(ControlClient.readLine(second).get()).get()
        #expect(refused.error?.code == .busy)
        var byte: UInt8 = 0
        #expect(recv(second, &byte, 1, 0) == 0)
        #expect(exchange(ControlCodec.encodeLine(ControlRequest(id: 4, op: .status)), on: first)?.id == 4)
    }

    @Test func unfinishedLineTimesOutWhileStatusStillAnswers() throws {
        defer { tearDown() }
        let slow = try connect()
        defer { close(slow) }
        var partial = Array(#"{"v":1,"id":1,"op":"sta"#.utf8)
        _ = send(slow, &partial, partial.count, Int32(MSG_NOSIGNAL))
        // Concurrent clients are served while the slow one hangs.
        for id in 1...20 {
            #expect(try ControlClient(path: path).send(ControlRequest(id: id, op: .status)).get().id == id)
        }
        guard case .success(let line) = ControlClient.readLine(slow) else {
            Issue.record("the slow client got no answer")
            return
        }
        #expect(try ControlCodec.decodeResponse(line).get().error?.code == .timeout)
        // …and is then disconnected.
        var byte: UInt8 = 0
        #expect(recv(slow, &byte, 1, 0) == 0)
    }

    @Test func unprivilegedPeerIsRefused() throws {
        defer { tearDown() }
        guard getuid() == 0 else {
            print("skipped: running a client as nobody needs root")
            return
        }
        guard access("/usr/bin/python3", X_OK) == 0 else {
            print("skipped: /usr/bin/python3 is missing (the unprivileged client)")
            return
        }
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            s.sendall(b'{"v":1,"id":9,"op":"status"}\\n')
            sys.stdout.write(s.makefile().readline())
            """
        var pipeFDs: [Int32] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        let child = try spawnProcess(
            SpawnRequest(
                executablePath: "/usr/bin/python3", arguments: ["python3", "-c", script, path], environment: [],
                workingDirectory: "/", userID: 65534, groupID: 65534, supplementaryGroups: [],
                stdout: .fd(pipeFDs[1])))
        close(pipeFDs[1])
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(pipeFDs[0], &buffer, buffer.count)
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        close(pipeFDs[0])
        var status: Int32 = 0
        _ = waitpid(child.pid, &status, 0)
        close(child.pidfd)
        let line = Array(output.prefix { $0 != UInt8(ascii: "\n") })
        let response = try ControlCodec.decodeResponse(line).get()
        #expect(response.id == 9)
        #expect(response.error?.code == .forbidden)
        #expect(response.error?.message.contains("uid 65534") == true)
    }
}

/// Nobody but root or Warden's own user can stand in for the daemon: the server refuses a
/// directory others may write to, and the client believes only a root (or same-user) server.
@Suite struct ControlSocketTrustTests {
    func directory(mode: mode_t, owner: uid_t = 0) -> String {
        var template = Array("/tmp/warden-trust-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        chmod(path, mode)
        if owner != 0 { chown(path, owner, gid_t(owner)) }
        return path
    }

    @Test func aDirectoryOthersMayWriteToIsRefused() throws {
        guard getuid() == 0 else {
            print("skipped: directories of other owners need root")
            return
        }
        let cases: [(mode_t, uid_t, Bool)] = [
            (0o755, 0, true), (0o700, 0, true), (0o1777, 0, true), (0o750, 0, true),
            (0o777, 0, false), (0o757, 0, false), (0o775, 0, true),  // group root may write
            (0o755, 65534, false),
        ]
        for (mode, owner, trusted) in cases {
            let dir = directory(mode: mode, owner: owner)
            defer { rmdir(dir) }
            if owner == 0 && mode == 0o775 { chown(dir, 0, 0) }
            let problem = ControlServer.untrustedDirectory(of: dir + "/control.sock")
            #expect((problem == nil) == trusted, "mode \(String(mode, radix: 8)) owner \(owner): \(problem ?? "trusted")")
        }
        // The daemon's socket is not created there at all.
        let open = directory(mode: 0o777)
        defer { rmdir(open) }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        #expect(throws: ProcessControlError.self) {
            _ = try ControlServer(path: open + "/control.sock", policy: ControlAccessPolicy(), loop: loop) { request, _, _ in
                ControlResponse(id: request.id)
            }
        }
        #expect(access(open + "/control.sock", F_OK) != 0)
    }

    /// An unprivileged user's socket at the daemon's path answers "stopped": the client
    /// does not believe it.
    @Test func theClientBelievesNoImpostor() throws {
        guard getuid() == 0, access("/usr/bin/python3", X_OK) == 0 else {
            print("skipped: needs root and /usr/bin/python3 (the impostor runs as nobody)")
            return
        }
        let dir = directory(mode: 0o755, owner: 65534)
        defer { _ = system("rm -rf '\(dir)'") }
        let path = dir + "/control.sock"
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(sys.argv[1]); s.listen(1)
            print("ready", flush=True)
            c, _ = s.accept()
            c.makefile().readline()
            c.sendall(b'{"v":1,"id":1,"message":"stop of a.service requested; now inactive (dead)"}\\n')
            """
        var pipeFDs: [Int32] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        let impostor = try spawnProcess(
            SpawnRequest(
                executablePath: "/usr/bin/python3", arguments: ["python3", "-c", script, path], environment: [],
                workingDirectory: "/", userID: 65534, groupID: 65534, supplementaryGroups: [],
                stdout: .fd(pipeFDs[1])))
        close(pipeFDs[1])
        defer {
            try? ProcessControl.sendSignal(SIGKILL, toPidfd: impostor.pidfd)
            var status: Int32 = 0
            _ = waitpid(impostor.pid, &status, 0)
            close(impostor.pidfd)
        }
        var ready = [UInt8](repeating: 0, count: 6)
        #expect(read(pipeFDs[0], &ready, 6) == 6)
        close(pipeFDs[0])
        switch ControlClient(path: path, timeoutSeconds: 5).send(ControlRequest(id: 1, op: .stop, unit: "a")) {
        case .success(let response):
            Issue.record("believed an impostor: \(response)")
        case .failure(let error):
            #expect(error.description.contains("served by uid 65534"), "\(error)")
            #expect(error.description.contains("neither root nor you"))
        }
    }
}

@Suite struct ControlOutputBufferTests {
    @Test func keepsTheLastLinesPerTag() {
        let buffer = ComponentOutputBuffer(linesPerComponent: 3, maximumLineBytes: 8)
        for i in 1...5 { buffer.append("line \(i)", tag: "feed", time: Double(i)) }
        buffer.append("other", tag: "risk", time: 9)
        #expect(buffer.last(10, tag: "feed").map(\.text) == ["line 3", "line 4", "line 5"])
        #expect(buffer.last(2, tag: "feed").map(\.text) == ["line 4", "line 5"])
        #expect(buffer.last(10, tag: "nobody") == [])
        buffer.append("0123456789", tag: "risk")
        #expect(buffer.last(1, tag: "risk").first?.text == "01234567…")
        // Sequence numbers survive the ring's wrap-around: a follower asks for what is
        // newer than its last line and sees the gap when it fell behind.
        #expect(buffer.last(10, tag: "feed").map(\.seq) == [3, 4, 5])
        #expect(buffer.lines(after: 4, limit: 10, tag: "feed").map(\.text) == ["line 5"])
        #expect(buffer.lines(after: 5, limit: 10, tag: "feed") == [])
        #expect(buffer.lines(after: 0, limit: 2, tag: "feed").map(\.seq) == [3, 4])
        #expect(buffer.lines(after: 0, limit: 10, tag: "nobody") == [])
    }
}
