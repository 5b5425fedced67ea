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

    /// Sleeps the calling thread until the monotonic clock reads `microseconds`.
    /// `clock_nanosleep` returns its error rather than setting `errno`; with an absolute
    /// deadline an interrupted sleep is simply made again.
    public static func sleep(untilMonotonicMicroseconds microseconds: UInt64) {
        var deadline = timespec(tv_sec: Int(microseconds / 1_000_000), tv_nsec: Int(microseconds % 1_000_000) * 1_000)
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
    }
}
