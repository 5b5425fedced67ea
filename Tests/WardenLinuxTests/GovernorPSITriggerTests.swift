import Glibc
import Synchronization
import Testing
import WardenCore
@testable import WardenLinux

/// Whether this host can create a PSI trigger on /proc/pressure/cpu at all (any window).
enum PSIHost {
    static let unavailableReason: String? = {
        let fd = open("/proc/pressure/cpu", O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return "/proc/pressure/cpu cannot be opened for writing: \(errnoDescription(errno)); runs in the QEMU guest" }
        defer { close(fd) }
        let text = Array("some 100000 2000000".utf8CString).map { UInt8(bitPattern: $0) }
        let n = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return n < 0 ? "the kernel refuses PSI triggers here: \(errnoDescription(errno)); runs in the QEMU guest" : nil
    }()

    static var available: Bool {
        if let reason = unavailableReason { print("SKIPPED PSI trigger test: \(reason)") }
        return unavailableReason == nil
    }
}

/// `WARDEN_TEST_CGROUP_ROOT` of the real-kernel test bed, when it offers PSI.
enum GuestCgroup {
    static let root: String? = getenv("WARDEN_TEST_CGROUP_ROOT").map { String(cString: $0) }

    static var available: Bool {
        guard let root else {
            print("SKIPPED group PSI trigger test: WARDEN_TEST_CGROUP_ROOT is not set (runs in the QEMU guest: Tests/kernel/run-guest --backend qemu)")
            return false
        }
        guard access(root + "/cpu.pressure", R_OK) == 0 else {
            print("SKIPPED group PSI trigger test: \(root)/cpu.pressure does not exist (no PSI in this tier)")
            return false
        }
        return true
    }
}

@Suite struct GovernorPSITriggerTests {
    @Test func missingFilesAndPlainFilesAreReportedAsUnavailable() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let missing = PSITrigger.register(
            path: GovernorFixtures.root + "/host-nopsi/proc/pressure/cpu", stallUSec: 100_000, windowUSec: 1_000_000, on: loop,
            onFire: {})
        guard case .failure(let noPSI) = missing else {
            Issue.record("a missing pressure file gave a trigger")
            return
        }
        #expect(noPSI.errno == ENOENT)
        #expect(noPSI.description.contains("not available here (no such file"))
        // A regular file takes the write but cannot be polled: caught, not a silent trigger.
        let directory = makeTemporaryDirectory()
        defer { _ = unlink(directory + "/cpu.pressure"); _ = rmdir(directory) }
        let fd = open(directory + "/cpu.pressure", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        close(fd)
        guard case .failure(let plain) = PSITrigger.register(
            path: directory + "/cpu.pressure", stallUSec: 100_000, windowUSec: 1_000_000, on: loop, onFire: {})
        else {
            Issue.record("a plain file gave a trigger")
            return
        }
        #expect(plain.reason.hasPrefix("cannot watch it"), "\(plain)")
    }

    @Test(.enabled(if: PSIHost.available, "no PSI triggers on this host"))
    func aTriggerFiresUnderCPUPressure() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let fired = TestSignal()
        // 1 % of the window: the smallest stall that still means something.
        let result = PSITrigger.register(
            path: "/proc/pressure/cpu", stallUSec: 10_000, windowUSec: 1_000_000, on: loop, onFire: { fired.post() })
        let trigger = try result.get()
        defer { trigger.cancel() }
        print("PSI trigger: some \(trigger.stallUSec) \(trigger.windowUSec)\(trigger.note.map { "; " + $0 } ?? "")")
        #expect(trigger.windowUSec % 1_000_000 == 0)
        #expect(trigger.stallUSec * 100 == trigger.windowUSec)
        // Oversubscribe the CPUs from this process until the trigger fires.
        let spinners = SpinThreads(count: 2 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) + 1)
        defer { spinners.stop() }
        #expect(fired.wait(seconds: 30), "no POLLPRI within 30 s of oversubscribed CPUs")
        trigger.cancel()
        #expect(!trigger.isActive)
    }

    @Test(.enabled(if: PSIHost.available, "no PSI triggers on this host"))
    func anImpossibleWindowIsRefusedWithTheReason() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        guard case .failure(let error) = PSITrigger.register(
            path: "/proc/pressure/cpu", stallUSec: 100_000, windowUSec: 20_000_000, on: loop, widenWindowWhenUnprivileged: false,
            onFire: {})
        else {
            Issue.record("a 20 s window was accepted")
            return
        }
        #expect(error.errno == EINVAL)
        #expect(error.reason.contains("the kernel refused 'some 100000 20000000'"))
    }

    /// In the real-kernel test bed's QEMU tier (a writable cgroup v2 tree with PSI): a trigger
    /// on a group's own cpu.pressure fires when the group oversubscribes the CPUs, and
    /// reports the group's removal as gone, not as a firing.
    @Test(.enabled(if: GuestCgroup.available, "needs the test bed's cgroup v2 tree with PSI"))
    func aGroupTriggerFiresAndReportsTheGroupsRemoval() throws {
        let group = GuestCgroup.root! + "/governor-psi-\(getpid())"
        #expect(mkdir(group, 0o755) == 0, "mkdir \(group): \(errnoDescription(errno))")
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let fired = TestSignal()
        let gone = TestSignal()
        let trigger = try PSITrigger.register(
            path: group + "/cpu.pressure", stallUSec: 50_000, windowUSec: 1_000_000, on: loop,
            onFire: { fired.post() }, onGone: { gone.post() }
        ).get()
        print("group PSI trigger: some \(trigger.stallUSec) \(trigger.windowUSec)")
        // Busy shells that move themselves into the group: one more than there are CPUs.
        var children: [pid_t] = []
        for _ in 0...Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) {
            let script = "echo $$ > '\(group)/cgroup.procs' && while :; do :; done"
            var pid: pid_t = 0
            let words: [String] = ["/bin/sh", "-c", script]
            let argv: [UnsafeMutablePointer<CChar>?] = words.map { word in word.withCString { strdup($0) } } + [nil]
            defer { argv.forEach { free($0) } }
            #expect(posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0)
            children.append(pid)
        }
        let firedInTime = fired.wait(seconds: 60)
        for pid in children {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        #expect(firedInTime, "no POLLPRI from \(group)/cpu.pressure within 60 s")
        #expect(rmdir(group) == 0, "rmdir \(group): \(errnoDescription(errno))")
        #expect(gone.wait(seconds: 20), "removing the group did not report the trigger gone")
        #expect(!trigger.isActive, "a gone trigger cancels itself")
        trigger.cancel()
    }

    func makeTemporaryDirectory() -> String {
        var template = Array("/tmp/warden-psi-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
}

/// Busy threads in this process (to create CPU pressure without touching anything else).
final class SpinThreads: @unchecked Sendable {
    private final class Flag: Sendable {
        let running = Atomic<Bool>(true)
    }

    private var threads: [pthread_t] = []
    private let flag = Flag()

    init(count: Int) {
        for _ in 0..<count {
            var thread = pthread_t()
            pthread_create(&thread, nil, { raw in
                let flag = Unmanaged<Flag>.fromOpaque(raw!).takeRetainedValue()
                var x: UInt64 = 0
                while flag.running.load(ordering: .relaxed) { x &+= 1 }
                return nil
            }, Unmanaged.passRetained(flag).toOpaque())
            threads.append(thread)
        }
    }

    func stop() {
        flag.running.store(false, ordering: .relaxed)
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }

    deinit { if !threads.isEmpty { stop() } }
}
