import Foundation
import Glibc
import Logging
import Testing
import WardenCore
@testable import WardenLinux

// The systemd integration against a real systemd 252 as PID 1, with D-Bus and journald:
// only inside the project's test-bed guest booted with `--init systemd`, because these
// tests change units, slices and the environment of the test process. Run them with
//
//   Tests/kernel/run-guest --init systemd -- Tests/kernel/systemd-suite/run.sh
//
// Waits have generous deadlines (UML on a loaded host); nothing asserts a duration.

let inSystemdTestbed = ProcessInfo.processInfo.environment["WARDEN_TESTBED_INIT"] == "systemd"
    && ProcessInfo.processInfo.environment["WARDEN_TESTBED_GUEST"] == "1"

/// Shell helpers for the guest tests: stdout and stderr merged.
enum GuestShell {
    @discardableResult
    static func run(_ script: String) throws -> (status: WardenCore.ExitStatus?, output: String) {
        let (status, output) = try TestProcess.run(TestProcess.shell("exec 2>&1; " + script))
        return (status, output)
    }

    /// `systemctl show UNIT -p NAME --value`.
    static func show(_ unit: String, _ property: String) throws -> String {
        try run("systemctl show \(unit) -p \(property) --value").output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

@Suite(.serialized, .enabled(if: inSystemdTestbed, "needs systemd as PID 1: run in the test bed with --init systemd (Tests/kernel/systemd-suite/run.sh)"))
struct SystemdGuestTests {
    // MARK: D-Bus: resource properties

    @Test func setReadAndRestoreResourcePropertiesOfASlice() throws {
        let slice = "wardentest.slice"
        try GuestShell.write(
            "[Slice]\nCPUWeight=42\nMemoryHigh=512M\n", to: "/run/systemd/system/\(slice)")
        let started = try GuestShell.run("systemctl daemon-reload && systemctl start \(slice)")
        try #require(started.status == .exited(code: 0), "\(started.output)")

        let bus = try SystemdBus()
        let original = try bus.readUnitProperties(unit: slice)
        #expect(
            original == [
                SystemdProperty("CPUWeight", .uint64(42)), SystemdProperty("CPUQuotaPerSecUSec", .uint64(.max)),
                SystemdProperty("MemoryHigh", .uint64(512 << 20)),
            ])

        try bus.setProperties(
            [
                ResourceKeys.cpuQuota.systemd.property(CPUQuota(perSecondUSec: 500_000), host: nil),
                ResourceKeys.cpuWeight.systemd.property(.weight(7), host: nil),
                ResourceKeys.allowedCPUs.systemd.property(CPUSet([0]), host: nil),
                ResourceKeys.memoryHigh.systemd.property(.bytes(256 << 20), host: nil),
            ], of: slice, runtime: true)
        #expect(try GuestShell.show(slice, "CPUQuotaPerSecUSec") == "500ms")
        #expect(try GuestShell.show(slice, "CPUWeight") == "7")
        #expect(try GuestShell.show(slice, "AllowedCPUs") == "0")
        #expect(try GuestShell.show(slice, "MemoryHigh") == "268435456")
        #expect(
            try bus.readUnitProperties(unit: slice) == [
                SystemdProperty("CPUWeight", .uint64(7)), SystemdProperty("CPUQuotaPerSecUSec", .uint64(500_000)),
                SystemdProperty("MemoryHigh", .uint64(256 << 20)),
            ])
        // The kernel sees it: systemd wrote the slice's cpu.max.
        let cgroup = try GuestShell.show(slice, "ControlGroup")
        let cpuMax = try GuestShell.run("cat /sys/fs/cgroup\(cgroup)/cpu.max").output
        #expect(cpuMax.hasPrefix("50000 100000"), "cpu.max of \(cgroup): \(cpuMax)")
        // --runtime: a drop-in under /run, nothing under /etc.
        let dropIns = try GuestShell.run("ls /run/systemd/system.control/\(slice).d/").output
        #expect(dropIns.contains("CPUQuota"), "\(dropIns)")

        try bus.setProperties(original + [ResourceKeys.allowedCPUs.systemd.property(nil, host: nil)], of: slice, runtime: true)
        #expect(try bus.readUnitProperties(unit: slice) == original)
        #expect(try GuestShell.show(slice, "CPUQuotaPerSecUSec") == "infinity")
        #expect(try GuestShell.show(slice, "CPUWeight") == "42")
        #expect(try GuestShell.show(slice, "AllowedCPUs") == "")
        #expect(try GuestShell.show(slice, "MemoryHigh") == "536870912")
        #expect(try GuestShell.run("cat /sys/fs/cgroup\(cgroup)/cpu.max").output.hasPrefix("max 100000"))
        try GuestShell.run("systemctl stop \(slice); rm -f /run/systemd/system/\(slice); systemctl daemon-reload")
    }

    /// The governor's emergency step, as runbooks do it with
    /// `systemctl set-property system.slice CPUQuota=50%`, and its undo.
    @Test func emergencyThrottleOnSystemSliceIsVisibleAndRemoved() throws {
        let bus = try SystemdBus()
        let before = try bus.readUnitProperties(unit: "system.slice")
        #expect(before.contains(SystemdProperty("CPUQuotaPerSecUSec", .uint64(.max))))
        try bus.setProperties([ResourceKeys.cpuQuota.systemd.property(CPUQuota(perSecondUSec: 500_000), host: nil)], of: "system.slice")
        #expect(try GuestShell.show("system.slice", "CPUQuotaPerSecUSec") == "500ms")
        try bus.setProperties(before, of: "system.slice")
        #expect(try GuestShell.show("system.slice", "CPUQuotaPerSecUSec") == "infinity")
        #expect(try bus.readUnitProperties(unit: "system.slice") == before)
    }

    @Test func refusedValueNamesUnitPropertyAndTheDBusError() throws {
        let bus = try SystemdBus()
        let before = try bus.readUnitProperties(unit: "system.slice")
        defer { try? bus.setProperties(before, of: "system.slice") }
        #expect {
            try bus.setProperties([SystemdProperty("CPUQuotaPerSecUSec", .uint64(0))], of: "system.slice")
        } throws: { error in
            let error = error as? SystemdBusError
            return error?.unit == "system.slice" && error?.property == "CPUQuotaPerSecUSec=0"
                && error?.errorName != nil && error?.errorMessage?.contains("CPUQuotaPerSecUSec") == true
                && error?.description.contains("SetUnitProperties system.slice CPUQuotaPerSecUSec=0: ") == true
        }
        #expect(try bus.readUnitProperties(unit: "system.slice") == before)
        #expect {
            try bus.readUnitProperties(unit: "bad name.slice")
        } throws: { error in
            (error as? SystemdBusError)?.unit == "bad name.slice" && (error as? SystemdBusError)?.errorName != nil
        }
    }

    // MARK: D-Bus: failed units

    @Test func failedUnitIsListedResetAndRestarted() throws {
        let unit = "warden-test-fail.service"
        let marker = "/run/warden-test-fail.ok"
        unlink(marker)
        // Fails until the marker exists; a unit file (not systemd-run), so it stays
        // loaded after reset-failed and can be restarted.
        try GuestShell.write(
            """
            [Service]
            Type=oneshot
            RemainAfterExit=yes
            ExecStart=/bin/sh -c 'test -e \(marker)'
            """, to: "/run/systemd/system/\(unit)")
        try GuestShell.run("systemctl daemon-reload; systemctl start \(unit)")
        // And a transient one, as the issue's `systemd-run /bin/false`.
        try GuestShell.run("systemd-run --unit=warden-test-transient-fail /bin/false; sleep 1")

        let bus = try SystemdBus()
        let failed = try bus.listUnits(states: ["failed"])
        let listed = failed.first { $0.name == unit }
        #expect(listed?.activeState == "failed", "\(failed)")
        #expect(listed?.subState == "failed")
        #expect(listed?.loadState == "loaded")
        #expect(failed.contains { $0.name == "warden-test-transient-fail.service" }, "\(failed.map(\.name))")

        try bus.resetFailedUnit(unit)
        try bus.resetFailedUnit("warden-test-transient-fail.service")
        let state = try bus.unitState(unit)
        #expect(state.activeState == "inactive" && state.subState == "dead")
        #expect(try !bus.listUnits(states: ["failed"]).contains { $0.name.hasPrefix("warden-test-") })

        try GuestShell.write("", to: marker)
        let job = try bus.restartUnit(unit)
        #expect(job.hasPrefix("/org/freedesktop/systemd1/job/"))
        #expect(try bus.waitForJob(job, timeoutUSec: 60_000_000))
        let restarted = try bus.unitState(unit)
        #expect(restarted.activeState == "active" && restarted.subState == "exited", "\(restarted)")

        #expect {
            try bus.restartUnit("warden-no-such-unit.service")
        } throws: { error in
            let error = error as? SystemdBusError
            return error?.unit == "warden-no-such-unit.service" && error?.errorName == "org.freedesktop.systemd1.NoSuchUnit"
        }
        try GuestShell.run("systemctl stop \(unit); rm -f /run/systemd/system/\(unit) \(marker); systemctl daemon-reload")
    }

    @Test(.enabled(if: DemoBinary.wardenPath != nil, "warden is not built next to the test bundle"))
    func servicesCommandListsResetsAndRestarts() throws {
        let warden = DemoBinary.wardenPath!
        let unit = "warden-test-cli.service"
        let marker = "/run/warden-test-cli.ok"
        unlink(marker)
        try GuestShell.write(
            "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'test -e \(marker)'\n",
            to: "/run/systemd/system/\(unit)")
        try GuestShell.run("systemctl daemon-reload; systemctl start \(unit)")

        let listing = try GuestShell.run("\(warden) services --failed")
        #expect(listing.status == .exited(code: 0), "\(listing.output)")
        #expect(listing.output.contains(unit) && listing.output.contains("failed unit"), "\(listing.output)")

        let reset = try GuestShell.run("\(warden) services --failed --reset --json")
        #expect(reset.status == .exited(code: 0), "\(reset.output)")
        let report = try JSONSerialization.jsonObject(with: Data(reset.output.utf8)) as? [String: Any]
        #expect((report?["failed"] as? [[String: Any]])?.contains { $0["name"] as? String == unit } == true)
        #expect((report?["reset"] as? [[String: Any]])?.contains { $0["unit"] as? String == unit && $0["error"] == nil } == true)
        #expect(try GuestShell.show(unit, "ActiveState") == "inactive")

        // Still failing: the restart is reported as failed, exit 1.
        let failing = try GuestShell.run("\(warden) services --restart \(unit)")
        #expect(failing.status == .exited(code: 1), "\(failing.output)")
        #expect(failing.output.contains("failed again after the restart"), "\(failing.output)")

        try GuestShell.write("", to: marker)
        let restart = try GuestShell.run("\(warden) services --restart \(unit)")
        #expect(restart.status == .exited(code: 0), "\(restart.output)")
        #expect(restart.output.contains("restart \(unit): active (exited)"), "\(restart.output)")
        try GuestShell.run("systemctl stop \(unit); systemctl reset-failed; rm -f /run/systemd/system/\(unit) \(marker); systemctl daemon-reload")
    }

    // MARK: journald

    @Test func journalEntriesCarryTheStructuredFields() throws {
        let tag = "wt\(getpid())"
        let component = "\(tag)-executor.service"
        let logger = Logger(label: "warden.test") { JournalLogHandler(label: $0, identifier: "\(tag)-warden") }
        logger.info("fill 17 @ 101.5\nsecond line", metadata: ["component": .string(component)])
        let line = #line + 1
        logger.warning(
            "\(component) exited, restarting",
            metadata: (["component": .string(component), "event": "restarted", "restart_count": "3"] as Logger.Metadata)
                .merging(WardenCore.ExitStatus.killed(signal: SIGTERM, coreDumped: false).journalMetadata) { $1 })
        try GuestShell.run("journalctl --sync")

        func entries(_ identifier: String) throws -> [[String: Any]] {
            let output = try GuestShell.run("journalctl -o json --no-pager -t \(identifier)").output
            return output.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        // The component's own line, under the component's name: `journalctl -t <name>`.
        let output = try entries("\(tag)-executor")
        #expect(output.count == 1, "\(output)")
        #expect(output.first?["MESSAGE"] as? String == "fill 17 @ 101.5\nsecond line")
        #expect(output.first?["PRIORITY"] as? String == "6")
        #expect(output.first?["WARDEN_COMPONENT"] as? String == component)
        #expect(output.first?["WARDEN_EVENT"] == nil)

        let events = try entries("\(tag)-warden")
        #expect(events.count == 1, "\(events)")
        let event = events.first ?? [:]
        #expect(event["MESSAGE"] as? String == "\(component) exited, restarting")
        #expect(event["PRIORITY"] as? String == "4")
        #expect(event["WARDEN_COMPONENT"] as? String == component)
        #expect(event["WARDEN_EVENT"] as? String == "restarted")
        #expect(event["WARDEN_RESTART_COUNT"] as? String == "3")
        #expect(event["EXIT_CODE"] as? String == "killed")
        #expect(event["EXIT_STATUS"] as? String == "TERM")
        #expect(event["WARDEN_LOGGER"] as? String == "warden.test")
        #expect(event["CODE_LINE"] as? String == String(line))
        #expect((event["CODE_FILE"] as? String)?.hasSuffix("SystemdGuestTests.swift") == true)
        #expect(event["_PID"] as? String == String(getpid()))
    }

    /// `$JOURNAL_STREAM` is checked from inside a service whose stderr is the journal:
    /// the test bundle runs itself under `systemd-run` with only the probe enabled.
    @Test func stderrIsJournalInsideAServiceLoggingToTheJournal() throws {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        try #require(length > 0)
        let bundle = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let probe = try GuestShell.run(
            "systemd-run --wait --quiet --collect -p StandardOutput=journal -p StandardError=journal"
                + " -E WARDEN_JOURNAL_STREAM_PROBE=1 \(bundle) --testing-library swift-testing --filter JournalStreamProbe")
        #expect(probe.status == .exited(code: 0), "\(probe.output)")
        // And here, where run-command sends stderr to a file, it is not the journal.
        #expect(!JournalStream.stderrIsJournal())
    }

    // MARK: sd_notify

    @Test func notificationsArriveOnTheSocketInNotifySocket() throws {
        let path = "/run/warden-test-notify-\(getpid()).sock"
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0, "bind \(path): errno \(errno)")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let names: [String] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]
        let saved: [(String, String?)] = names.map { name in (name, getenv(name).map { String(cString: $0) }) }
        defer { for (name, value) in saved { if let value { setenv(name, value, 1) } else { unsetenv(name) } } }
        setenv("NOTIFY_SOCKET", path, 1)
        setenv("WATCHDOG_USEC", "4000000", 1)
        setenv("WATCHDOG_PID", String(getpid()), 1)

        let notifier = SystemdNotifier()
        #expect(notifier.isActive && notifier.inactiveReason == nil)
        #expect(notifier.watchdogInterval == .seconds(4))
        #expect(notifier.watchdogPingInterval == .seconds(2))

        func receive() -> String? {
            var bytes = [UInt8](repeating: 0, count: 4096)
            let n = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return n > 0 ? String(decoding: bytes[..<n], as: UTF8.self) : nil
        }
        #expect(try notifier.ready(status: "6/6 running, governor normal"))
        #expect(receive() == "READY=1\nSTATUS=6/6 running, governor normal")
        #expect(try notifier.watchdog())
        #expect(receive() == "WATCHDOG=1")
        let before = SystemdNotifier.monotonicNowUSec()
        #expect(try notifier.reloading())
        let reloading = receive() ?? ""
        #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="), "\(reloading)")
        let stamp = UInt64(reloading.split(separator: "=").last ?? "") ?? 0
        #expect(stamp >= before && stamp <= SystemdNotifier.monotonicNowUSec())
        #expect(try notifier.extendTimeout(by: .seconds(30)))
        #expect(receive() == "EXTEND_TIMEOUT_USEC=30000000")
        #expect(try notifier.stopping(status: "stopping 6 components"))
        #expect(receive() == "STOPPING=1\nSTATUS=stopping 6 components")

        // Another process's watchdog: not ours.
        setenv("WATCHDOG_PID", "1", 1)
        #expect(SystemdNotifier().watchdogInterval == nil)
        // A socket nobody listens on: the error names it.
        setenv("NOTIFY_SOCKET", "/run/warden-test-nobody.sock", 1)
        #expect {
            try SystemdNotifier().ready()
        } throws: { error in
            (error as? SystemdNotifier.SendError)?.socket == "/run/warden-test-nobody.sock"
        }
    }
}

/// Runs only inside the `systemd-run` service started by
/// `stderrIsJournalInsideAServiceLoggingToTheJournal`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["WARDEN_JOURNAL_STREAM_PROBE"] == "1", "only inside the JOURNAL_STREAM probe service"))
struct JournalStreamProbe {
    @Test func stderrIsTheJournal() {
        #expect(ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil)
        #expect(JournalStream.stderrIsJournal())
    }
}

/// Stands in for `warden run` in warden.service (Tests/kernel/systemd-suite/run.sh
/// starts the unit with a drop-in ExecStart= running this): READY=1 with a status
/// line after a second, WATCHDOG=1 every `watchdogPingInterval` until
/// /run/warden-probe.stop appears, then STOPPING=1. Sending SIGSTOP to it stops the
/// pings, which is how the suite checks the watchdog restart.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["WARDEN_SERVICE_PROBE"] == "1", "only inside warden.service in the systemd suite"))
struct WardenServiceProbe {
    @Test func notifyLikeWarden() throws {
        let notifier = SystemdNotifier()
        #expect(notifier.isActive)
        let ping = try #require(notifier.watchdogPingInterval)
        usleep(1_000_000)
        try notifier.ready(status: "probe: 0/0 running, governor normal")
        while access("/run/warden-probe.stop", F_OK) != 0 {
            try notifier.watchdog()
            usleep(UInt32(min(ping.usec, 500_000)))
        }
        try notifier.stopping(status: "probe: stopping")
    }
}
