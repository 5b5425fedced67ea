import Glibc

/// The one rule for interrupted system calls: a call that fails with `EINTR` (a signal
/// arrived while it waited; Warden blocks its signals, but a stopped and continued process
/// or a debugger can still interrupt) is made again, and only then judged.
public enum SystemCall {
    @inline(__always)
    public static func retryingInterrupts<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result < 0 && errno == EINTR { continue }
            return result
        }
    }

    /// Sleeps the calling thread for `nanoseconds`; an interrupted sleep goes on for the
    /// time that was left.
    public static func sleep(nanoseconds: UInt64) {
        var pause = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var left = timespec()
        while nanosleep(&pause, &left) != 0 && errno == EINTR { pause = left }
    }

    /// Waits until `fd` has one of `events` or the monotonic clock reads `deadline`
    /// (microseconds); an interrupted wait goes on with the time left. `poll`'s answer:
    /// above 0 ready, 0 when the deadline passed, below 0 an error (`errno`).
    public static func poll(_ fd: Int32, events: Int16, untilMonotonicMicroseconds deadline: UInt64) -> Int32 {
        while true {
            let now = monotonicMicroseconds()
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let remainingMs = now >= deadline ? 0 : Int32(min((deadline - now + 999) / 1000, UInt64(Int32.max)))
            let ready = Glibc.poll(&entry, 1, remainingMs)
            if ready < 0 && errno == EINTR { continue }
            return ready
        }
    }

    /// Sleeps the calling thread until the monotonic clock reads `microseconds`.
    /// `clock_nanosleep` returns its error rather than setting `errno`; with an absolute
    /// deadline an interrupted sleep is simply made again.
    public static func sleep(untilMonotonicMicroseconds microseconds: UInt64) {
        var deadline = timespec(tv_sec: Int(microseconds / 1_000_000), tv_nsec: Int(microseconds % 1_000_000) * 1_000)
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
    }
}
