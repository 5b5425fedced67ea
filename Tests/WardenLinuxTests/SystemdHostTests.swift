import Foundation
import Glibc
import Logging
import Testing
import WardenCore
@testable import WardenLinux

// The systemd integration's pure parts and its "no systemd here" paths, on the build
// host. The same code against a real systemd: SystemdGuestTests.swift.

/// Whether systemd is PID 1 on this machine (then the "no systemd" tests do not apply).
let hostRunsSystemd = access("/run/systemd/system", F_OK) == 0

@Suite struct SystemdNotifierTests {
    @Test(arguments: [
        (SystemdNotifier.Assignment.ready, "READY=1"),
        (.status("6/6 running, governor normal"), "STATUS=6/6 running, governor normal"),
        (.status("two\nlines"), "STATUS=two lines"),
        (.watchdog, "WATCHDOG=1"),
        (.reloading, "RELOADING=1"),
        (.monotonicUSec(123_456), "MONOTONIC_USEC=123456"),
        (.stopping, "STOPPING=1"),
        (.extendTimeoutUSec(30_000_000), "EXTEND_TIMEOUT_USEC=30000000"),
        (.mainPID(42), "MAINPID=42"),
        (.errno(2), "ERRNO=2"),
    ])
    func assignmentLines(assignment: SystemdNotifier.Assignment, line: String) {
        #expect(assignment.line == line)
    }

    @Test(arguments: [
        (UInt64(30_000_000), UInt64(15_000_000)), (1_000_000, 500_000), (1, 1),
    ])
    func watchdogPingsAtHalfTheInterval(intervalUSec: UInt64, pingUSec: UInt64) {
        let notifier = SystemdNotifier(socket: "/run/x", watchdogInterval: TimeSpan(usec: intervalUSec))
        #expect(notifier.watchdogPingInterval == TimeSpan(usec: pingUSec))
    }

    @Test func noWatchdogNoPingInterval() {
        #expect(SystemdNotifier(socket: "/run/x", watchdogInterval: nil).watchdogPingInterval == nil)
    }

    @Test(.enabled(if: getenv("NOTIFY_SOCKET") == nil, "NOTIFY_SOCKET is set for this test process"))
    func withoutNotifySocketEverythingIsANoOp() throws {
        let notifier = SystemdNotifier()
        #expect(!notifier.isActive)
        #expect(notifier.socket == nil)
        #expect(notifier.inactiveReason?.contains("NOTIFY_SOCKET is not set") == true)
        #expect(try notifier.ready(status: "up") == false)
        #expect(try notifier.watchdog() == false)
        #expect(try notifier.reloading() == false)
        #expect(try notifier.stopping() == false)
        #expect(try notifier.extendTimeout(by: .seconds(10)) == false)
    }

    @Test(.enabled(if: getenv("WATCHDOG_USEC") == nil, "WATCHDOG_USEC is set for this test process"))
    func withoutWatchdogVariablesThereIsNoWatchdog() {
        #expect(SystemdNotifier().watchdogInterval == nil)
    }

    @Test func monotonicClockAdvances() {
        let first = SystemdNotifier.monotonicNowUSec()
        usleep(2_000)
        #expect(SystemdNotifier.monotonicNowUSec() > first)
    }
}

/// Collects what a handler would send to journald.
final class CapturedJournal: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [[JournalField]] = []

    var sink: JournalLogHandler.Sink {
        JournalLogHandler.Sink { [self] fields in lock.withLock { entries.append(fields) } }
    }

    var all: [[JournalField]] { lock.withLock { entries } }
}

extension Array where Element == JournalField {
    subscript(field name: String) -> String? { first { $0.name == name }?.value }
}

@Suite struct JournalLogHandlerTests {
    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func priorityFromLevel(level: Logger.Level, priority: Int) {
        #expect(JournalLogHandler.priority(level) == priority)
        let fields = JournalLogHandler.fields(
            level: level, message: "m", metadata: [:], identifier: "warden", label: "l", file: "f", function: "g", line: 1)
        #expect(fields[field: "PRIORITY"] == String(priority))
    }

    @Test(arguments: [
        ([:], "warden"),
        (["component": "order-executor.service"], "order-executor"),
        (["component": "feed"], "feed"),
        (["component": "order-executor.service", "event": "restarted"], "warden"),
        (["component": "order-executor.service", "syslog_identifier": "custom"], "custom"),
        (["syslog_identifier": "custom"], "custom"),
    ] as [(Logger.Metadata, String)])
    func syslogIdentifier(metadata: Logger.Metadata, identifier: String) {
        let fields = JournalLogHandler.fields(
            level: .info, message: "m", metadata: metadata, identifier: "warden", label: "l", file: "f", function: "g", line: 1)
        #expect(fields[field: "SYSLOG_IDENTIFIER"] == identifier)
        #expect(fields.filter { $0.name == "SYSLOG_IDENTIFIER" }.count == 1)
    }

    @Test(arguments: [
        ("component", "order-executor.service", "WARDEN_COMPONENT"),
        ("event", "throttled", "WARDEN_EVENT"),
        ("exit_code", "killed", "EXIT_CODE"),
        ("exit_status", "TERM", "EXIT_STATUS"),
        ("order_id", "17", "WARDEN_ORDER_ID"),
        ("cpu.max", "max", "WARDEN_CPU_MAX"),
        ("UNIT", "system.slice", "UNIT"),
        ("ERRNO", "2", "ERRNO"),
    ])
    func metadataBecomesFields(key: String, value: String, field: String) {
        let fields = JournalLogHandler.fields(
            level: .info, message: "m", metadata: [key: .string(value)], identifier: "warden", label: "l", file: "f",
            function: "g", line: 1)
        #expect(fields[field: field] == value, "\(fields)")
        #expect(fields.allSatisfy { JournalField.isValidName($0.name) })
    }

    @Test func metadataCannotOverrideTheCoreFields() {
        let fields = JournalLogHandler.fields(
            level: .error, message: "real", metadata: ["MESSAGE": "fake", "PRIORITY": "0", "CODE_LINE": "1"],
            identifier: "warden", label: "l", file: "f", function: "g", line: 7)
        #expect(fields.filter { $0.name == "MESSAGE" } == [JournalField("MESSAGE", "real")])
        #expect(fields.filter { $0.name == "PRIORITY" } == [JournalField("PRIORITY", "3")])
        #expect(fields.filter { $0.name == "CODE_LINE" } == [JournalField("CODE_LINE", "7")])
    }

    @Test(arguments: [
        ("MESSAGE", true), ("WARDEN_EVENT", true), ("A1", true), ("_PID", false), ("1ABC", false), ("lower", false),
        ("WITH-DASH", false), ("", false), (String(repeating: "A", count: 64), true), (String(repeating: "A", count: 65), false),
    ])
    func fieldNames(name: String, valid: Bool) {
        #expect(JournalField.isValidName(name) == valid)
    }

    @Test func loggerThroughTheHandlerCarriesSourceLocationAndMergedMetadata() {
        let captured = CapturedJournal()
        var logger = Logger(label: "warden.runtime") { JournalLogHandler(label: $0, sink: captured.sink) }
        logger[metadataKey: "component"] = "order-executor.service"
        logger.debug("not sent: below the default level")
        logger.warning("exited", metadata: ["event": "exited"].merging(WardenCore.ExitStatus.killed(signal: SIGSEGV, coreDumped: true).journalMetadata) { $1 })
        let line = #line - 1
        #expect(captured.all.count == 1)
        let fields = captured.all.first ?? []
        #expect(fields[field: "MESSAGE"] == "exited")
        #expect(fields[field: "PRIORITY"] == "4")
        #expect(fields[field: "SYSLOG_IDENTIFIER"] == "warden")
        #expect(fields[field: "WARDEN_COMPONENT"] == "order-executor.service")
        #expect(fields[field: "WARDEN_EVENT"] == "exited")
        #expect(fields[field: "EXIT_CODE"] == "dumped")
        #expect(fields[field: "EXIT_STATUS"] == "SEGV")
        #expect(fields[field: "WARDEN_LOGGER"] == "warden.runtime")
        #expect(fields[field: "CODE_LINE"] == String(line))
        #expect(fields[field: "CODE_FILE"]?.hasSuffix("SystemdHostTests.swift") == true)
        #expect(fields[field: "CODE_FUNC"]?.hasPrefix("loggerThroughTheHandler") == true)
    }

    @Test(arguments: [
        (WardenCore.ExitStatus.exited(code: 0), "exited", "0"), (.exited(code: 3), "exited", "3"),
        (.killed(signal: SIGTERM, coreDumped: false), "killed", "TERM"),
        (.killed(signal: SIGABRT, coreDumped: true), "dumped", "ABRT"),
        (.killed(signal: 37, coreDumped: false), "killed", "RTMIN+3"),
    ])
    func exitStatusAsSystemdWritesIt(status: WardenCore.ExitStatus, code: String, value: String) {
        #expect(status.journalMetadata["exit_code"]?.description == code)
        #expect(status.journalMetadata["exit_status"]?.description == value)
    }

    @Test(arguments: [
        ("8:1234", UInt64(8), UInt64(1234)), ("0:0", 0, 0),
    ])
    func journalStreamParses(value: String, device: UInt64, inode: UInt64) {
        let parsed = JournalStream.parse(value)
        #expect(parsed?.device == device)
        #expect(parsed?.inode == inode)
    }

    @Test(arguments: ["", "8", "8:", ":9", "a:b", "8:9:10", "-1:2"])
    func malformedJournalStream(value: String) {
        #expect(JournalStream.parse(value) == nil)
        #expect(!JournalStream.matches(fd: STDERR_FILENO, value: value))
    }

    @Test func journalStreamMatchesTheDescriptorsDeviceAndInodeOnly() throws {
        let path = "/tmp/warden-journal-stream-\(getpid())"
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        var status = stat()
        try #require(fstat(fd, &status) == 0)
        #expect(JournalStream.matches(fd: fd, value: "\(status.st_dev):\(status.st_ino)"))
        #expect(!JournalStream.matches(fd: fd, value: "\(status.st_dev):\(status.st_ino + 1)"))
        #expect(!JournalStream.matches(fd: fd, value: "\(status.st_dev + 1):\(status.st_ino)"))
        #expect(!JournalStream.matches(fd: -1, value: "\(status.st_dev):\(status.st_ino)"))
    }

    @Test(.enabled(if: !Journal.isAvailable, "journald runs here"))
    func withoutJournaldSendingDropsQuietly() {
        #expect(Journal.send([JournalField("MESSAGE", "dropped"), JournalField("PRIORITY", "6")]) == 0)
    }
}

@Suite struct SystemdBusTests {
    @Test(arguments: [
        ([Int](), [UInt8]()), ([0], [0x01]), ([0, 1], [0x03]), ([7], [0x80]), ([8], [0x00, 0x01]),
        ([0, 9, 17], [0x01, 0x02, 0x02]),
    ])
    func allowedCPUsBitmask(cpus: [Int], bytes: [UInt8]) {
        #expect(CPUSet(cpus).systemdBitmask == bytes)
        #expect(CPUSet(systemdBitmask: bytes) == CPUSet(cpus))
    }

    /// The governor's properties as the bus client sends them: the rows' own encoders.
    @Test(arguments: [
        (ResourceKeys.cpuQuota.systemd.property(CPUQuota(perSecondUSec: 500_000), host: nil), "CPUQuotaPerSecUSec=500000", SystemdPropertyValue.uint64(500_000)),
        (ResourceKeys.cpuQuota.systemd.property(nil, host: nil), "CPUQuotaPerSecUSec=infinity", .uint64(.max)),
        (ResourceKeys.cpuWeight.systemd.property(.weight(20), host: nil), "CPUWeight=20", .uint64(20)),
        (ResourceKeys.cpuWeight.systemd.property(nil, host: nil), "CPUWeight=infinity", .uint64(.max)),
        (ResourceKeys.memoryHigh.systemd.property(.bytes(1 << 30), host: nil), "MemoryHigh=1073741824", .uint64(1 << 30)),
        (ResourceKeys.memoryHigh.systemd.property(nil, host: nil), "MemoryHigh=infinity", .uint64(.max)),
        (ResourceKeys.allowedCPUs.systemd.property(CPUSet([0, 1, 3]), host: nil), "AllowedCPUs=0-1,3", .bytes([0x0b])),
    ])
    func propertiesOnTheWire(property: SystemdProperty, description: String, wire: SystemdPropertyValue) {
        #expect(property.description == description)
        #expect(property.value == wire)
    }

    @Test(arguments: [
        ("system.slice", "org.freedesktop.systemd1.Slice"), ("sshd.service", "org.freedesktop.systemd1.Service"),
        ("session-1.scope", "org.freedesktop.systemd1.Scope"),
    ])
    func cgroupInterfaceByUnitType(unit: String, interface: String) throws {
        #expect(try SystemdBus.cgroupInterface(unit: unit) == interface)
    }

    @Test(arguments: ["multi-user.target", "noextension", "timer.timer"])
    func unitTypesWithoutCgroupAreRefusedWithTheUnitNamed(unit: String) {
        #expect {
            try SystemdBus.cgroupInterface(unit: unit)
        } throws: { error in
            (error as? SystemdBusError)?.unit == unit && error.localizedDescription.isEmpty == false
        }
    }

    @Test func errorsNameUnitPropertyAndTheBusError() {
        let refused = SystemdBusError(
            operation: "SetUnitProperties", unit: "system.slice", property: "CPUWeight=0",
            errorName: "org.freedesktop.DBus.Error.InvalidArgs", errorMessage: "Value specified in CPUWeight is out of range",
            errno: EINVAL)
        #expect(
            refused.description
                == "SetUnitProperties system.slice CPUWeight=0: org.freedesktop.DBus.Error.InvalidArgs: Value specified in CPUWeight is out of range")
        let local = SystemdBusError(operation: "ListUnitsFiltered", errno: ETIMEDOUT)
        #expect(local.description == "ListUnitsFiltered: Connection timed out")
    }

    @Test func openFailureReasonNamesTheSocket() {
        let reason = SystemdBus.openFailureReason(errno: ENOENT)
        #expect(reason.contains("system_bus_socket") || reason.contains("DBUS"), "\(reason)")
        #expect(reason.contains("No such file or directory"))
    }

    @Test(.enabled(if: !hostRunsSystemd, "systemd is PID 1 on this machine"))
    func withoutSystemdTheBusIsUnavailableWithTheReason() {
        let availability = SystemdBus.availability()
        #expect(!availability.isAvailable)
        #expect(availability.reason?.contains("systemd is not running here") == true, "\(availability)")
        #expect {
            _ = try SystemdBus()
        } throws: { error in
            (error as? SystemdBusError)?.operation == "open system bus"
        }
    }
}

@Suite(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle: run `swift build --build-tests`"))
struct SystemdServicesCommandTests {
    func run(_ arguments: [String]) throws -> (status: WardenCore.ExitStatus?, stdout: String, stderr: String) {
        let process = try DemoProcess(arguments, binary: DemoBinary.wardenPath)
        var lines: [String] = []
        while let line = process.nextLine(within: 20) { lines.append(line) }
        return (process.exitStatus(within: 20), lines.joined(separator: "\n"), process.standardError())
    }

    @Test(.enabled(if: !hostRunsSystemd, "systemd is PID 1 on this machine"))
    func withoutSystemdItSaysSoAndExits69() throws {
        let outcome = try run(["services", "--failed", "--reset"])
        #expect(outcome.status == .exited(code: 69))
        #expect(outcome.stderr.contains("warden services: systemd is not running here"), "\(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
    }

    @Test(.enabled(if: !hostRunsSystemd, "systemd is PID 1 on this machine"))
    func withoutSystemdJSONSaysUnavailable() throws {
        let outcome = try run(["services", "--json"])
        #expect(outcome.status == .exited(code: 69))
        let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
        #expect(object?["available"] as? Bool == false)
        #expect((object?["unavailableReason"] as? String)?.contains("systemd is not running here") == true)
    }
}
