import Glibc

/// What an operator (or Warden) asks of a running role through a signal.
enum ControlRequest: Equatable {
    /// SIGTERM or SIGINT: stop gracefully.
    case shutDown
    /// SIGUSR1, the demo units' `CleanupSignal=`: give memory back.
    case freeCaches
    /// SIGHUP: re-read configuration.
    case reload
}

/// The control signals, received synchronously with `sigtimedwait` instead of in a
/// handler: the main loop's timed wait *is* the place a signal arrives, so handling
/// needs no global flags and a SIGTERM ends a wait at once. The signals are blocked
/// before any worker thread starts, and threads inherit the mask, so no thread can
/// take a signal's default action behind the main loop's back.
struct SignalInbox {
    private var watched = sigset_t()

    init() {
        sigemptyset(&watched)
        for signal in [SIGTERM, SIGINT, SIGUSR1, SIGHUP] {
            sigaddset(&watched, signal)
        }
        pthread_sigmask(SIG_BLOCK, &watched, nil)
        // Output goes to a pipe the supervisor holds; if it goes away, write(2)
        // returning EPIPE is enough, the default "terminate" would be a crash.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits until the monotonic deadline or a control signal, whichever comes first.
    /// Returns nil at the deadline.
    mutating func wait(untilNanoseconds deadline: UInt64) -> ControlRequest? {
        while true {
            let now = monotonicNanoseconds()
            let remaining = deadline > now ? deadline - now : 0
            var timeout = timespec(
                tv_sec: Int(remaining / nanosecondsPerSecond),
                tv_nsec: Int(remaining % nanosecondsPerSecond))
            let received = sigtimedwait(&watched, nil, &timeout)
            if received >= 0 { return Self.request(for: received) }
            if errno == EINTR { continue }
            return nil  // EAGAIN: the deadline passed without a signal.
        }
    }

    private static func request(for signal: Int32) -> ControlRequest {
        switch signal {
        case SIGUSR1: .freeCaches
        case SIGHUP: .reload
        default: .shutDown
        }
    }
}
