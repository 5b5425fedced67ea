import Testing
import WardenCore

@Suite struct NotifyMessageTests {
    static func message(_ build: (inout NotifyMessage) -> Void) -> NotifyMessage {
        var message = NotifyMessage()
        build(&message)
        return message
    }

    @Test(arguments: [
        ("READY=1", message { $0.ready = true }),
        ("READY=1\n", message { $0.ready = true }),
        ("READY=1\nSTATUS=Listening on :80", message { $0.ready = true; $0.status = "Listening on :80" }),
        ("STATUS=a=b=c", message { $0.status = "a=b=c" }),
        ("STATUS=", message { $0.status = "" }),
        ("STATUS=first\nSTATUS=second", message { $0.status = "second" }),
        ("WATCHDOG=1", message { $0.watchdogPing = true }),
        ("WATCHDOG=trigger", message { $0.watchdogTrigger = true }),
        ("WATCHDOG_USEC=5000000", message { $0.watchdogUSec = 5_000_000 }),
        ("MAINPID=4242", message { $0.mainPID = 4242 }),
        ("STOPPING=1", message { $0.stopping = true }),
        ("RELOADING=1\nMONOTONIC_USEC=123456", message { $0.reloading = true; $0.monotonicUSec = 123_456 }),
        ("EXTEND_TIMEOUT_USEC=30000000", message { $0.extendTimeoutUSec = 30_000_000 }),
        ("ERRNO=2", message { $0.errno = 2 }),
        ("FDSTORE=1\nX_CUSTOM=yes", NotifyMessage()),
        ("", NotifyMessage()),
        ("\n\n", NotifyMessage()),
        ("READY=0", message { $0.ignoredAssignments = ["READY=0: only READY=1 is meaningful"] }),
        ("MAINPID=0", message { $0.ignoredAssignments = ["MAINPID=0: expected a pid greater than 0"] }),
        ("MAINPID=abc\nREADY=1", message { $0.ready = true; $0.ignoredAssignments = ["MAINPID=abc: expected a pid greater than 0"] }),
        ("WATCHDOG=2", message { $0.ignoredAssignments = ["WATCHDOG=2: expected 1 or trigger"] }),
        ("EXTEND_TIMEOUT_USEC=-1", message { $0.ignoredAssignments = ["EXTEND_TIMEOUT_USEC=-1: expected microseconds"] }),
        ("ERRNO=-5", message { $0.ignoredAssignments = ["ERRNO=-5: expected an errno number"] }),
        ("garbage", message { $0.ignoredAssignments = ["garbage: not KEY=VALUE"] }),
        ("STATUS=héllo ✓", message { $0.status = "héllo ✓" }),
    ])
    func parses(payload: String, expected: NotifyMessage) throws {
        #expect(try NotifyMessage(parsing: Array(payload.utf8)) == expected)
    }

    @Test(arguments: [
        ([UInt8]("READY=1\0".utf8), NotifyMessage.RefusalReason.embeddedNUL),
        ([0x53, 0x54, 0x41, 0x54, 0x55, 0x53, 0x3D, 0xFF, 0xFE], .invalidUTF8),
    ])
    func refusesWholeDatagram(payload: [UInt8], reason: NotifyMessage.RefusalReason) {
        #expect(throws: reason) { try NotifyMessage(parsing: payload) }
    }

    @Test func emptinessIsAboutActions() throws {
        #expect(try NotifyMessage(parsing: Array("FDSTORE=1".utf8)).isEmpty)
        #expect(try !NotifyMessage(parsing: Array("WATCHDOG=1".utf8)).isEmpty)
    }
}
