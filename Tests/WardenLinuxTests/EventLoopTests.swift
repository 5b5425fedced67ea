import CWardenShims
import Glibc
import Testing
import WardenCore
@testable import WardenLinux

/// A counting semaphore for waiting on loop-thread events in tests (with a deadline, so
/// a broken loop fails the test instead of hanging it).
final class TestSignal: @unchecked Sendable {
    private var semaphore = sem_t()
    init() { sem_init(&semaphore, 0, 0) }
    func post() { sem_post(&semaphore) }
    /// True when posted within `seconds`.
    func wait(seconds: Int = 10) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += seconds
        while true {
            if sem_timedwait(&semaphore, &deadline) == 0 { return true }
            if errno != EINTR { return false }
        }
    }
}

/// Values appended only on the loop thread, read by the test after a sync point.
final class LoopLog<T>: @unchecked Sendable {
    var items: [T] = []
}

@Suite struct EventLoopTests {
    @Test func executeRunsOnTheLoopThreadInOrder() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let log = LoopLog<Int>()
        for i in 0..<100 {
            loop.execute { log.items.append(loop.isOnLoopThread ? i : -1) }
        }
        let items = loop.executeAndWait { log.items }
        #expect(items == Array(0..<100))
        #expect(!loop.isOnLoopThread)
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesNever() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let log = LoopLog<String>()
        let done = TestSignal()
        loop.executeAndWait {
            // Absolute deadlines from one reading: a preempted test thread must not reorder them.
            let now = EventLoop.monotonicNanoseconds()
            func at(_ ms: UInt64) -> UInt64 { now + ms * 1_000_000 }
            loop.addTimer(atMonotonicNanoseconds: at(60)) { log.items.append("c"); done.post() }
            loop.addTimer(atMonotonicNanoseconds: at(20)) { log.items.append("a") }
            let cancelled = loop.addTimer(atMonotonicNanoseconds: at(30)) { log.items.append("cancelled") }
            loop.addTimer(atMonotonicNanoseconds: at(40)) { log.items.append("b") }
            loop.addTimer(after: .infinity) { log.items.append("never") }
            loop.cancelTimer(cancelled)
            // Cancelling the earliest timer must re-arm for the next one.
            let first = loop.addTimer(atMonotonicNanoseconds: at(1)) { log.items.append("first-cancelled") }
            loop.cancelTimer(first)
        }
        #expect(done.wait())
        #expect(loop.executeAndWait { log.items } == ["a", "b", "c"])
    }

    @Test func idleLoopDoesNotWakeUp() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        // A cancelled far timer must leave the timerfd disarmed, not armed for later.
        loop.executeAndWait {
            let timer = loop.addTimer(after: .milliseconds(100)) {}
            loop.cancelTimer(timer)
        }
        let path = "/proc/self/task/\(loop.threadID)/status"
        func switches() -> String? {
            TestProcess.read(path)?.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches") }.map(String.init)
        }
        usleep(50_000)  // let the loop go back to sleep after the executeAndWait
        let before = switches()
        usleep(300_000)
        #expect(before != nil)
        #expect(switches() == before, "the idle loop thread woke up")
    }

    @Test func timerAddedFromATimerHandlerFires() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let done = TestSignal()
        loop.execute {
            loop.addTimer(after: .zero) {
                loop.addTimer(after: .milliseconds(5)) { done.post() }
            }
        }
        #expect(done.wait())
    }

    /// On the loop thread the timerfd is re-armed only before the loop waits again: a
    /// timer cancelled in the same turn never fires, and the ones left do, in order, from
    /// a handler of another kind (here `execute`) and across several turns.
    @Test func timersChangedOnTheLoopThreadAreArmedBeforeTheNextWait() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        // Touched by loop handlers only, then read after the semaphore.
        final class Fired: @unchecked Sendable { var names: [String] = [] }
        let fired = Fired()
        let done = TestSignal()
        loop.execute {
            let early = loop.addTimer(after: .milliseconds(1)) { fired.names.append("cancelled") }
            loop.addTimer(after: .milliseconds(30)) {
                fired.names.append("second")
                done.post()
            }
            loop.cancelTimer(early)
            loop.addTimer(after: .milliseconds(10)) { fired.names.append("first") }
        }
        #expect(done.wait())
        #expect(fired.names == ["first", "second"])
    }

    @Test func timerHeapOrdersDeadlines() {
        var heap = TimerHeap()
        let deadlines: [UInt64] = [50, 10, 40, 10, 30, 99, 1, 70]
        for (id, deadline) in deadlines.enumerated() { heap.push(deadline: deadline, id: UInt64(id)) }
        var popped: [UInt64] = []
        while let item = heap.pop() { popped.append(item.deadline) }
        #expect(popped == deadlines.sorted())
    }

    @Test func readableDescriptorAndHangUp() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let (r, w) = TestProcess.pipe()
        defer { close(r) }
        let log = LoopLog<String>()
        let hungUp = TestSignal()
        let id = try loop.register(fd: r, for: .readable) { events in
            var buffer = [UInt8](repeating: 0, count: 16)
            let n = buffer.withUnsafeMutableBytes { read(r, $0.baseAddress, $0.count) }
            if n > 0 { log.items.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
            if events.contains(.hangUp) && n == 0 { hungUp.post() }
        }
        _ = "ping".withCString { write(w, $0, 4) }
        close(w)
        #expect(hungUp.wait())
        loop.unregister(id)
        #expect(loop.executeAndWait { log.items } == ["ping"])
    }

    @Test func exitsOfOneHundredConcurrentChildrenAreAllDelivered() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let log = LoopLog<(Int32, WardenCore.ExitStatus?)>()
        let allDone = TestSignal()
        let spawned: [Int32] = try loop.executeAndWait { () -> Result<[Int32], SpawnError> in
            var pids: [Int32] = []
            for i in 0..<100 {
                let request = TestProcess.shell("sleep 0.$((\(i) % 3)); exit \(i)")
                do throws(SpawnError) {
                    let process = try spawnProcess(request)
                    pids.append(process.pid)
                    try? loop.watchExit(process) { status in
                        log.items.append((process.pid, status))
                        if log.items.count == 100 { allDone.post() }
                    }
                } catch {
                    return .failure(error)
                }
            }
            return .success(pids)
        }.get()
        #expect(allDone.wait(seconds: 30))
        let results = loop.executeAndWait { log.items }
        #expect(results.count == 100)
        for (index, pid) in spawned.enumerated() {
            let status = results.first { $0.0 == pid }?.1
            #expect(status == .exited(code: Int32(index)))
        }
    }

    @Test func watchExitByPidfdAloneAndKilledBySignal() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let process = try spawnProcess(SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"]))
        let done = TestSignal()
        let log = LoopLog<WardenCore.ExitStatus?>()
        try loop.watchExit(pidfd: process.pidfd) { status in
            log.items.append(status)
            done.post()
        }
        try ProcessControl.sendSignal(SIGTERM, toPidfd: process.pidfd)
        #expect(done.wait())
        #expect(loop.executeAndWait { log.items } == [.killed(signal: SIGTERM, coreDumped: false)])
    }

    @Test func signalHandlerGetsThreadDirectedSignal() throws {
        // Thread-directed (tgkill to the loop thread, which blocks every signal), so the
        // other threads of the test process never see it.
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let got = TestSignal()
        let log = LoopLog<EventLoop.SignalInfo>()
        try loop.signal(SIGUSR2) { info in
            log.items.append(info)
            got.post()
        }
        #expect(warden_tgkill(getpid(), loop.threadID, SIGUSR2) == 0)
        #expect(got.wait())
        let info = loop.executeAndWait { log.items }
        #expect(info.map(\.signal) == [SIGUSR2])
        #expect(info.first?.senderPID == getpid())
    }

    @Test func parentDeathSignalFiresWhenTheSpawningThreadEnds() throws {
        let loop = try EventLoop()
        var request = SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"])
        request.parentDeathSignal = SIGKILL
        let spawned = loop.executeAndWait { [request] in Result { () throws(SpawnError) in try spawnProcess(request) } }
        let process = try spawned.get()
        loop.shutdown()  // the loop thread, which spawned it, ends
        #expect(TestProcess.wait(process) == .killed(signal: SIGKILL, coreDumped: false))
    }

    @Test func killProcessGroupReachesTheWholeGroup() throws {
        let (r, w) = TestProcess.pipe()
        var request = TestProcess.shell("sleep 30 & echo $!; wait")
        request.stdout = .fd(w)
        let process = try spawnProcess(request)
        close(w)
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(r, &byte, 1) == 1 && byte != 10 { line.append(byte) }
        close(r)
        let grandchild = Int32(String(decoding: line, as: UTF8.self))!
        #expect(getpgid(grandchild) == process.pid)
        let grandchildFD = warden_pidfd_open(grandchild, 0)
        #expect(grandchildFD >= 0)
        defer { close(grandchildFD) }
        #expect(throws: ProcessControlError.self) { try ProcessControl.killProcessGroup(1, signal: 0) }
        #expect(throws: ProcessControlError.self) { try ProcessControl.killProcessGroup(0, signal: 0) }
        try ProcessControl.killProcessGroup(process.pid, signal: SIGKILL)
        #expect(TestProcess.wait(process) == .killed(signal: SIGKILL, coreDumped: false))
        // The grandchild is not ours to reap; its pidfd turns readable once it has exited.
        var poll = pollfd(fd: grandchildFD, events: Int16(POLLIN), revents: 0)
        #expect(Glibc.poll(&poll, 1, 10_000) == 1)
    }

    @Test func orphanReaperSkipsWatchedChildren() async {
        // In a child process of its own: the test becomes a subreaper and reaps with
        // P_ALL, which must not disturb the other tests' children.
        await #expect(processExitsWith: .success) {
            try ProcessControl.setChildSubreaper()
            precondition(ProcessControl.receivesOrphans)
            let loop = try EventLoop()
            let done = TestSignal()
            let log = LoopLog<String>()
            loop.executeAndWait {
                // The shell's background sleep is orphaned when the shell exits and comes to us.
                try! loop.enableOrphanReaping { pid, status in
                    log.items.append("orphan \(status)")
                    if log.items.count == 3 { done.post() }
                }
                let watched = try! spawnProcess(TestProcess.shell("sleep 0.2; exit 7"))
                try! loop.watchExit(watched) { status in
                    log.items.append("watched \(String(describing: status))")
                    if log.items.count == 3 { done.post() }
                }
                let parent = try! spawnProcess(TestProcess.shell("(sleep 0.1; exit 4) & exit 0"))
                try! loop.watchExit(parent) { status in
                    log.items.append("parent \(String(describing: status))")
                    if log.items.count == 3 { done.post() }
                }
            }
            // SIGCHLD is not blocked in every thread of a test process, so poke the reaper
            // from a timer as well; it must still skip the watched children.
            for _ in 0..<40 {
                loop.execute { loop.reapOrphans() }
                usleep(20_000)
            }
            precondition(done.wait(), "not all exits were reported")
            let items = loop.executeAndWait { log.items }.sorted()
            precondition(
                items == [
                    "orphan exited(code: 4)",
                    "parent Optional(WardenCore.ExitStatus.exited(code: 0))",
                    "watched Optional(WardenCore.ExitStatus.exited(code: 7))",
                ], "\(items)")
        }
    }
}
