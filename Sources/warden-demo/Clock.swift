import Glibc

/// Nanoseconds on CLOCK_MONOTONIC: immune to wall-clock steps, like the supervisor's timers.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

let nanosecondsPerMillisecond: UInt64 = 1_000_000
let nanosecondsPerSecond: UInt64 = 1_000_000_000
