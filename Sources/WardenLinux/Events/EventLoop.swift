import CWardenShims
import Glibc
import WardenCore

/// The supervisor's one long-lived thread: an epoll loop that waits on descriptors
/// (pipes, pidfds, the notify socket, PSI triggers), one timerfd for every timer, one
/// eventfd for work handed over from other threads, and one signalfd.
///
/// Thread confinement (s6-style): every handler runs on the loop thread, one at a time,
/// so supervisor state touched only from handlers needs no locks. Handlers are plain,
/// non-`Sendable` closures for that reason; whatever they capture belongs to the loop
/// thread. Registering and cancelling may be called from any thread (the tables are
/// behind a mutex), but the intended use is from handlers or through `execute`.
/// Hence `@unchecked Sendable`: the class is safe to share, its handlers are not.
///
/// The idle loop makes no periodic wakeups: `epoll_wait` blocks without a timeout and
/// the timerfd is disarmed whenever no timer is pending.
///
/// Spawn from this thread too: `PR_SET_PDEATHSIG` fires when the spawning *thread* ends.
public final class EventLoop: @unchecked Sendable {
    /// What happened on a descriptor.
    public struct Events: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: UInt32(EPOLLIN.rawValue))
        /// `EPOLLOUT`: room in the send buffer; for a connecting socket, the connection
        /// is settled.
        public static let writable = Events(rawValue: UInt32(EPOLLOUT.rawValue))
        /// `POLLPRI`: what a PSI trigger reports.
        public static let priority = Events(rawValue: UInt32(EPOLLPRI.rawValue))
        public static let hangUp = Events(rawValue: UInt32(EPOLLHUP.rawValue))
        public static let error = Events(rawValue: UInt32(EPOLLERR.rawValue))
    }

    /// A descriptor registration, for `unregister`.
    public struct RegistrationID: Hashable, Sendable {
        public let rawValue: UInt64
    }

    /// A pending timer, for `cancelTimer`.
    public struct TimerID: Hashable, Sendable {
        public let rawValue: UInt64
    }

    /// What a signalfd read reports about one delivered signal.
    public struct SignalInfo: Hashable, Sendable {
        public var signal: Int32
        /// The sending process (0 for the kernel).
        public var senderPID: Int32
        public var senderUID: UInt32
    }

    /// A failed loop setup call: what was done and the errno.
    public typealias Error = ProcessControlError

    private struct Registration {
        var fd: Int32
        var handler: (Events) -> Void
    }

    private struct State {
        var nextID: UInt64 = 16
        var registrations: [UInt64: Registration] = [:]
        var timers: [UInt64: () -> Void] = [:]
        var deadlines = TimerHeap()
        var armedDeadline: UInt64 = 0
        /// A timer was added or cancelled on the loop thread: the timerfd is pointed at
        /// the earliest deadline before the loop next waits, not at each change.
        var rearmDeferred = false
        var pending: [@Sendable () -> Void] = []
        var signalHandlers: [Int32: (SignalInfo) -> Void] = [:]
        var watchedPIDs: Set<Int32> = []
        var orphanHandler: ((Int32, ExitStatus) -> Void)?
        var stopping = false
    }

    // Tokens in epoll's data word for the loop's own descriptors; registrations start at 16.
    private static let wakeToken: UInt64 = 1
    private static let timerToken: UInt64 = 2
    private static let signalToken: UInt64 = 3

    private let epollFD: Int32
    private let wakeFD: Int32
    private let timerFD: Int32
    private var signalFD: Int32 = -1
    private var signalMask = sigset_t()
    private let lock = PthreadLock()
    private var state = State()
    private var thread: pthread_t?
    private var loopThreadID: pid_t = 0
    /// `pthread_self()` of the loop thread: comparing it costs no system call (gettid does).
    private var loopThreadHandle: pthread_t?

    /// Creates the descriptors and starts the loop thread, with every signal blocked in
    /// it (signals reach the loop only through `signal(_:handler:)`'s signalfd).
    public init() throws(Error) {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw Error(operation: "epoll_create1", errno: errno) }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        timerFD = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        guard wakeFD >= 0, timerFD >= 0 else {
            let code = errno
            for fd in [epollFD, wakeFD, timerFD] where fd >= 0 { close(fd) }
            throw Error(operation: wakeFD < 0 ? "eventfd" : "timerfd_create", errno: code)
        }
        sigemptyset(&signalMask)
        try addToEpoll(wakeFD, events: EPOLLIN.rawValue, token: Self.wakeToken)
        try addToEpoll(timerFD, events: EPOLLIN.rawValue, token: Self.timerToken)
        try startThread()
    }

    deinit {
        for fd in [epollFD, wakeFD, timerFD, signalFD] where fd >= 0 { close(fd) }
    }

    // MARK: Thread

    private final class StartSignal: @unchecked Sendable {
        var started = sem_t()
        init() { sem_init(&started, 0, 0) }
        deinit { sem_destroy(&started) }
    }

    /// Starts the loop thread and returns once it knows its own identity.
    private func startThread() throws(Error) {
        let signal = StartSignal()
        thread = try SignalBlockedThread.start("event loop") { [self] in
            loopThreadID = warden_gettid()
            loopThreadHandle = pthread_self()
            sem_post(&signal.started)
            run()
        }
        _ = SystemCall.retryingInterrupts { sem_wait(&signal.started) }
    }

    /// True on the loop thread.
    public var isOnLoopThread: Bool { warden_gettid() == loopThreadID }

    /// The loop thread's kernel thread id (for thread-directed signals in tests).
    public var threadID: Int32 { loopThreadID }

    /// Stops the loop after the handler running now, joins the thread and releases the
    /// loop's descriptors (registered descriptors stay open; their owners close them).
    /// Must not be called from the loop thread.
    public func shutdown() {
        precondition(!isOnLoopThread, "EventLoop.shutdown() from its own thread would deadlock")
        lock.withLock { state.stopping = true }
        wake()
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            let stopping = lock.withLock { () -> Bool in
                if state.rearmDeferred {
                    state.rearmDeferred = false
                    rearmTimerLocked()
                }
                return state.stopping
            }
            if stopping { return }
            let count = SystemCall.retryingInterrupts {
                events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, Int32($0.count), -1) }
            }
            if count < 0 {
                fatalError("epoll_wait: \(errnoDescription(errno))")
            }
            for index in 0..<Int(count) {
                let token = events[index].data.u64
                let flags = Events(rawValue: events[index].events)
                switch token {
                case Self.wakeToken: runPending()
                case Self.timerToken: fireDueTimers()
                case Self.signalToken: dispatchSignals()
                default:
                    // Looked up per event: an earlier handler in this batch may have
                    // unregistered it (and its fd number may already be reused).
                    guard let registration = lock.withLock({ state.registrations[token] }) else { continue }
                    registration.handler(flags)
                }
            }
        }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: Work from other threads

    /// Runs `work` on the loop thread, after the handler running now; callable from any
    /// thread. Closures run in the order they were submitted.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        lock.withLock { state.pending.append(work) }
        wake()
    }

    /// Runs `work` on the loop thread and waits for its result. On the loop thread it
    /// runs directly.
    public func executeAndWait<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T {
        if isOnLoopThread { return work() }
        let box = WaitBox<T>()
        sem_init(&box.done, 0, 0)
        execute {
            box.value = work()
            sem_post(&box.done)
        }
        _ = SystemCall.retryingInterrupts { sem_wait(&box.done) }
        sem_destroy(&box.done)
        return box.value!
    }

    private func runPending() {
        var counter: UInt64 = 0
        _ = read(wakeFD, &counter, 8)
        let work = lock.withLock {
            let work = state.pending
            state.pending.removeAll()
            return work
        }
        for item in work { item() }
    }

    // MARK: Descriptors

    private func addToEpoll(_ fd: Int32, events: UInt32, token: UInt64) throws(Error) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
            throw Error(operation: "epoll_ctl(ADD, fd \(fd))", errno: errno)
        }
    }

    /// Calls `handler` on the loop thread whenever `fd` is ready (level-triggered), with
    /// what happened. `.hangUp` and `.error` are always reported; ask for `.readable` and
    /// or `.priority`. The descriptor stays owned by the caller, who must `unregister`
    /// before closing it.
    @discardableResult
    public func register(
        fd: Int32, for events: Events = .readable, handler: @escaping (Events) -> Void
    ) throws(Error) -> RegistrationID {
        let id = reserveID()
        try register(fd: fd, for: events, id: id, handler: handler)
        return id
    }

    /// An id for a registration made later; lets a handler know its own id even when
    /// it fires before `register` has returned on another thread.
    private func reserveID() -> RegistrationID {
        lock.withLock {
            let id = state.nextID
            state.nextID += 1
            return RegistrationID(rawValue: id)
        }
    }

    private func register(
        fd: Int32, for events: Events, id: RegistrationID, handler: @escaping (Events) -> Void
    ) throws(Error) {
        lock.withLock { state.registrations[id.rawValue] = Registration(fd: fd, handler: handler) }
        do {
            try addToEpoll(fd, events: events.rawValue, token: id.rawValue)
        } catch {
            lock.withLock { _ = state.registrations.removeValue(forKey: id.rawValue) }
            throw error
        }
    }

    /// Stops watching a descriptor; no handler for it runs afterwards, even for events
    /// already collected in this loop turn.
    public func unregister(_ id: RegistrationID) {
        guard let registration = lock.withLock({ state.registrations.removeValue(forKey: id.rawValue) }) else {
            return
        }
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, registration.fd, nil)
    }

    // MARK: Timers

    /// `CLOCK_MONOTONIC` now, in nanoseconds: the clock of every timer.
    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Calls `handler` once on the loop thread after `delay`. An infinite delay never fires.
    @discardableResult
    public func addTimer(after delay: TimeSpan, handler: @escaping () -> Void) -> TimerID {
        let (ns, overflow) = delay.usec.multipliedReportingOverflow(by: 1_000)
        let deadline = overflow || delay.isInfinite ? UInt64.max : Self.monotonicNanoseconds() &+ ns
        return addTimer(atMonotonicNanoseconds: deadline, handler: handler)
    }

    /// Calls `handler` once on the loop thread at a `CLOCK_MONOTONIC` deadline (ns).
    @discardableResult
    public func addTimer(atMonotonicNanoseconds deadline: UInt64, handler: @escaping () -> Void) -> TimerID {
        let id = lock.withLock {
            let id = state.nextID
            state.nextID += 1
            state.timers[id] = handler
            if deadline != .max {
                state.deadlines.push(deadline: deadline, id: id)
                rearmSoonLocked()
            }
            return id
        }
        return TimerID(rawValue: id)
    }

    /// Cancels a timer; a no-op if it already fired. After this returns on the loop
    /// thread, the handler will not run.
    public func cancelTimer(_ id: TimerID) {
        lock.withLock {
            guard state.timers.removeValue(forKey: id.rawValue) != nil else { return }
            rearmSoonLocked()
        }
    }

    /// On the loop thread, the timerfd is re-armed before the loop next waits: a restart
    /// that sets a stop timeout and cancels it in the same turn then costs no
    /// `timerfd_settime` at all. From another thread (the loop may be waiting), at once.
    private func rearmSoonLocked() {
        if let loopThreadHandle, pthread_equal(pthread_self(), loopThreadHandle) != 0 {
            state.rearmDeferred = true
        } else {
            rearmTimerLocked()
        }
    }

    /// Points the timerfd at the earliest live deadline, or disarms it. Cancelled
    /// timers leave their heap entries behind; they are dropped when they reach the top.
    private func rearmTimerLocked() {
        while let top = state.deadlines.top, state.timers[top.id] == nil { state.deadlines.pop() }
        let next = state.deadlines.top?.deadline ?? 0
        guard next != state.armedDeadline else { return }
        state.armedDeadline = next
        var spec = itimerspec()
        spec.it_value.tv_sec = Int(next / 1_000_000_000)
        spec.it_value.tv_nsec = Int(next % 1_000_000_000)
        // An all-zero it_value disarms; an absolute time in the past fires at once.
        if next != 0 && spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0 { spec.it_value.tv_nsec = 1 }
        timerfd_settime(timerFD, Int32(TFD_TIMER_ABSTIME), &spec, nil)
    }

    private func fireDueTimers() {
        var expirations: UInt64 = 0
        _ = read(timerFD, &expirations, 8)
        while true {
            let now = Self.monotonicNanoseconds()
            let due: (() -> Void)? = lock.withLock {
                while let top = state.deadlines.top {
                    if state.timers[top.id] == nil {
                        state.deadlines.pop()
                        continue
                    }
                    guard top.deadline <= now else { break }
                    state.deadlines.pop()
                    return state.timers.removeValue(forKey: top.id)
                }
                // Force a re-arm: the timerfd expired, so it is no longer armed.
                state.armedDeadline = 0
                rearmTimerLocked()
                return nil
            }
            guard let due else { return }
            due()
        }
    }

    // MARK: Signals

    /// Blocks signals in the calling thread. Call it at the very start of `main`, before
    /// any other thread exists, for every signal given to `signal(_:handler:)`: a thread
    /// with the signal unblocked would otherwise take it (and SIGTERM's default action
    /// kills the whole process). Caveat: an `async` main parks its main thread in
    /// `sigsuspend` with an *empty* mask, so there every signal is taken by the main thread
    /// and never reaches the signalfd. Child exits are therefore watched with pidfds,
    /// never through SIGCHLD; only orphan reaping relies on SIGCHLD.
    public static func blockSignalsInCallingThread(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Calls `handler` on the loop thread for each delivery of `signal`, read from a
    /// signalfd. Blocks the signal in the calling thread (the loop thread has every signal
    /// blocked already); see `blockSignalsInCallingThread` for the other threads.
    /// A later call for the same signal replaces the handler.
    public func signal(_ signal: Int32, handler: @escaping (SignalInfo) -> Void) throws(Error) {
        Self.blockSignalsInCallingThread([signal])
        try lock.withLock { () throws(Error) in
            sigaddset(&signalMask, signal)
            let fd = signalfd(signalFD, &signalMask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
            guard fd >= 0 else { throw Error(operation: "signalfd(\(ProcessControl.signalName(signal)))", errno: errno) }
            if signalFD < 0 {
                signalFD = fd
                try addToEpoll(fd, events: EPOLLIN.rawValue, token: Self.signalToken)
            }
            state.signalHandlers[signal] = handler
        }
    }

    private func dispatchSignals() {
        var info = signalfd_siginfo()
        while read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            let signal = Int32(info.ssi_signo)
            let handler = lock.withLock { state.signalHandlers[signal] }
            handler?(SignalInfo(signal: signal, senderPID: Int32(bitPattern: info.ssi_pid), senderUID: info.ssi_uid))
        }
    }

    // MARK: Child exits

    /// Calls `handler` once on the loop thread when the process exits, after reaping it
    /// with `waitid(P_PIDFD)`; then closes the pidfd. The status is nil when the process
    /// could not be reaped here (not our child, or reaped by someone else).
    /// Call it right after `spawnProcess`, on the loop thread, so the orphan reaper
    /// always knows the pid is watched.
    public func watchExit(_ process: SpawnedProcess, handler: @escaping (ExitStatus?) -> Void) throws(Error) {
        lock.withLock { _ = state.watchedPIDs.insert(process.pid) }
        let registration = reserveID()
        do {
            try register(fd: process.pidfd, for: .readable, id: registration) { [unowned self] _ in
                var code: Int32 = 0
                var status: Int32 = 0
                var pid: pid_t = 0
                let rc = warden_wait_pidfd(process.pidfd, WNOHANG, &code, &status, &pid)
                if rc == 0 && pid == 0 { return }  // not exited yet
                self.unregister(registration)
                let reaper = self.lock.withLock {
                    _ = self.state.watchedPIDs.remove(process.pid)
                    return self.state.orphanHandler
                }
                handler(rc == 0 ? ExitStatus(waitCode: code, status: status) : nil)
                close(process.pidfd)
                // The orphan reaper stops at a watched zombie (see reapOrphans): go on now.
                if reaper != nil { self.reapOrphans() }
            }
        } catch {
            lock.withLock { _ = state.watchedPIDs.remove(process.pid) }
            throw error
        }
    }

    /// `watchExit` for a pidfd alone; the pid is read from `/proc/self/fdinfo`.
    public func watchExit(pidfd: Int32, handler: @escaping (ExitStatus?) -> Void) throws(Error) {
        guard let text = try? LocalFileSystem().readFile("/proc/self/fdinfo/\(pidfd)"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Pid:") }),
            let pid = Int32(line.dropFirst(4).filter { $0 != " " && $0 != "\t" }), pid > 0
        else { throw Error(operation: "read /proc/self/fdinfo/\(pidfd) (not a live pidfd)", errno: EBADF) }
        try watchExit(SpawnedProcess(pid: pid, pidfd: pidfd), handler: handler)
    }

    // MARK: Orphans

    /// For PID 1 or a subreaper: reaps orphaned descendants on SIGCHLD and reports each
    /// to `handler` with its pid and status. Children watched with `watchExit` are never
    /// reaped here, so their statuses still reach their own handlers.
    /// Needs SIGCHLD blocked in every thread (see `blockSignalsInCallingThread`).
    public func enableOrphanReaping(handler: @escaping (Int32, ExitStatus) -> Void) throws(Error) {
        lock.withLock { state.orphanHandler = handler }
        try signal(SIGCHLD) { [unowned self] _ in self.reapOrphans() }
        // Orphans that died before the signalfd existed.
        execute { [unowned self] in self.reapOrphans() }
    }

    /// Reaps every exited child that no `watchExit` is waiting for.
    ///
    /// `waitid(P_ALL, WNOWAIT)` only *peeks* at one exited child. If it is not watched,
    /// it is reaped by pid and the peek repeats. If it is watched, we stop: a further
    /// peek would return the same zombie again, and reaping it would steal its status from
    /// its pidfd handler. That zombie's pidfd is readable, so its handler runs in this or
    /// the next loop turn, reaps it, and calls this again, which then gets past it.
    /// SIGCHLDs coalesce, hence the loop rather than one reap per signal.
    ///
    /// Caveat: a zombie of anything else in this process that reaps its own children by
    /// pid (`system(3)`, Foundation.Process) is reaped here too; a supervisor that receives
    /// orphans must own all its children.
    public func reapOrphans() {
        guard let handler = lock.withLock({ state.orphanHandler }) else { return }
        while true {
            var code: Int32 = 0
            var status: Int32 = 0
            var pid: pid_t = 0
            guard warden_wait_any(WNOWAIT, &code, &status, &pid) == 0, pid > 0 else { return }
            if lock.withLock({ state.watchedPIDs.contains(pid) }) { return }
            guard warden_wait_pid(pid, &code, &status) == 1 else { return }
            handler(pid, ExitStatus(waitCode: code, status: status))
        }
    }
}

/// Hands a result from the loop thread to a waiting thread; the semaphore orders the accesses.
private final class WaitBox<T>: @unchecked Sendable {
    var value: T?
    var done = sem_t()
}

/// `CLOCK_MONOTONIC` now, in microseconds: the clock of the deadlines that commands
/// outside the loop wait for (a helper command's output, a process's exit).
func monotonicMicroseconds() -> UInt64 { EventLoop.monotonicNanoseconds() / 1000 }
