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
}
