import CWardenShims
import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// Builds Tests/fixtures/notify-test.c once per test process with `cc`.
enum NotifyClient {
    static let built: Result<String, TestSetupError> = build()

    struct TestSetupError: Error, CustomStringConvertible {
        var description: String
    }

    private static func build() -> Result<String, TestSetupError> {
        let testsDirectory = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/"))
        let source = testsDirectory + "/fixtures/notify-test.c"
        let output = temporaryDirectory() + "/notify-test"
        guard let cc = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first(where: { (path: String) in access(path, X_OK) == 0 }) else {
            return .failure(TestSetupError(description: "no C compiler at /usr/bin/cc"))
        }
        var request = SpawnRequest(executablePath: cc, arguments: ["cc", "-O1", "-o", output, source])
        request.environment = ["PATH=/usr/bin:/bin"]
        guard let (status, _) = try? TestProcess.run(request), status == .exited(code: 0) else {
            return .failure(TestSetupError(description: "cc failed to build \(source)"))
        }
        return .success(output)
    }

    static func temporaryDirectory() -> String {
        var template = Array("/tmp/warden-test-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    /// Runs the client with `arguments`; returns its pid after it exited successfully.
    static func send(_ socketPath: String, _ arguments: [String], stdin: StandardStream = .null) throws -> Int32 {
        let program = try built.get()
        var request = SpawnRequest(executablePath: program, arguments: ["notify-test"] + arguments)
        request.environment = ["NOTIFY_SOCKET=\(socketPath)"]
        request.stdin = stdin
        let process = try spawnProcess(request)
        let pid = process.pid
        #expect(TestProcess.wait(process) == .exited(code: 0))
        return pid
    }
}

@Suite struct NotifySocketTests {
    final class Received: @unchecked Sendable {
        var notifications: [NotifySocket.Notification] = []
        var refusals: [(Int32, NotifySocket.Refusal)] = []
    }

    func withSocket(
        abstract: Bool, expecting count: Int, _ body: (String) throws -> Void
    ) throws -> (Received, NotifySocket) {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let received = Received()
        let arrived = TestSignal()
        let path = abstract ? "@warden-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))" : NotifyClient.temporaryDirectory() + "/notify"
        let socket = try NotifySocket(
            path: path, loop: loop,
            handler: { received.notifications.append($0); arrived.post() },
            refused: { received.refusals.append(($0, $1)); arrived.post() })
        try body(path)
        for _ in 0..<count { #expect(arrived.wait()) }
        loop.executeAndWait { socket.close() }
        return (received, socket)
    }

    @Test(arguments: [false, true])
    func deliversParsedMessagesWithSenderPID(abstract: Bool) throws {
        guard case .success = NotifyClient.built else {
            print("skipped: \(NotifyClient.built)")
            return
        }
        var sender: Int32 = 0
        let (received, _) = try withSocket(abstract: abstract, expecting: 2) { path in
            sender = try NotifyClient.send(path, ["READY=1\nSTATUS=up", "WATCHDOG=1\nMAINPID=77"])
        }
        #expect(received.notifications.count == 2)
        #expect(received.notifications.allSatisfy { $0.senderPID == sender && $0.senderUID == getuid() })
        #expect(received.notifications.first?.message.ready == true)
        #expect(received.notifications.first?.message.status == "up")
        #expect(received.notifications.last?.message.watchdogPing == true)
        #expect(received.notifications.last?.message.mainPID == 77)
        #expect(received.refusals.isEmpty)
    }

    @Test func refusesOversizedAndDescriptorCarryingDatagrams() throws {
        guard case .success = NotifyClient.built else {
            print("skipped: \(NotifyClient.built)")
            return
        }
        // The sender passes its stdin, the write end of this pipe. Once the sender exited,
        // we closed our end and the receiver closed the passed copy, the pipe reads EOF.
        let (r, w) = TestProcess.pipe()
        defer { close(r) }
        var senders: [Int32] = []
        let (received, _) = try withSocket(abstract: true, expecting: 3) { path in
            senders.append(try NotifyClient.send(path, ["--padding", "10000", "READY=1"]))
            senders.append(try NotifyClient.send(path, ["--with-fd", "FDSTORE=1"], stdin: .fd(w)))
            close(w)
            senders.append(try NotifyClient.send(path, ["STOPPING=1"]))
        }
        #expect(received.refusals.count == 2)
        #expect(received.refusals.first?.0 == senders[0])
        if case .oversized(let bytes)? = received.refusals.first?.1 {
            #expect(bytes > NotifySocket.defaultMaximumDatagramBytes)
        } else {
            Issue.record("expected an oversized refusal, got \(received.refusals)")
        }
        #expect(received.refusals.last?.1 == .passedDescriptors(count: 1))
        #expect(received.notifications.map(\.message.stopping) == [true])
        // EOF once every copy of the write end is closed. A child forked by a test running
        // alongside holds a copy until its exec closes it (close-on-exec), so the end of
        // the pipe is awaited for a while; a copy the receiver kept would never close.
        _ = fcntl(r, F_SETFL, O_NONBLOCK)
        var byte: UInt8 = 0
        var result = read(r, &byte, 1)
        var waited = 0
        while result != 0 && waited < 100 {
            usleep(50_000)
            waited += 1
            result = read(r, &byte, 1)
        }
        #expect(result == 0, "the passed descriptor is still open somewhere")
    }

    /// A sender turned away by `admits` costs no parsing and no refusal: its datagram is
    /// dropped as it arrives, with nothing but the kernel's credentials looked at.
    @Test func aSenderItDoesNotAdmitIsDroppedUnread() throws {
        guard case .success = NotifyClient.built else {
            print("skipped: \(NotifyClient.built)")
            return
        }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let received = Received()
        let arrived = TestSignal()
        var asked: [(Int32, UInt32)] = []
        let socket = try NotifySocket(
            path: "@warden-test-admits-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", loop: loop,
            admits: { pid, uid in
                asked.append((pid, uid))
                return asked.count > 1
            },
            handler: { received.notifications.append($0); arrived.post() },
            refused: { received.refusals.append(($0, $1)); arrived.post() })
        let sender = try NotifyClient.send(socket.path, ["STATUS=first", "STATUS=second"])
        #expect(arrived.wait())
        loop.executeAndWait { socket.close() }
        #expect(received.notifications.map(\.message.status) == ["second"])
        #expect(received.refusals.isEmpty)
        #expect(asked.map(\.0) == [sender, sender])
        #expect(asked.allSatisfy { $0.1 == getuid() })
    }

    /// A flood of datagrams from turned-away senders pauses the reading, never the
    /// delivery: what an admitted sender sends after it still arrives.
    @Test func aFloodOfStrangersPausesTheReadingButLosesNothingAdmitted() throws {
        guard case .success = NotifyClient.built else {
            print("skipped: \(NotifyClient.built)")
            return
        }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let received = Received()
        let arrived = TestSignal()
        var asked = 0
        let socket = try NotifySocket(
            path: "@warden-test-flood-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", loop: loop,
            admits: { _, _ in
                asked += 1
                return asked > 130
            },
            handler: { received.notifications.append($0); arrived.post() })
        _ = try NotifyClient.send(socket.path, (0..<130).map { "STATUS=flood \($0)" })
        _ = try NotifyClient.send(socket.path, ["READY=1"])
        #expect(arrived.wait())
        loop.executeAndWait { socket.close() }
        #expect(received.notifications.map(\.message.ready) == [true])
        #expect(asked == 131)
    }
}
