import Glibc


/// What each signal from outside does to a supervising Warden. None may end it: a Warden
/// killed by a stray `kill -USR1` would leave every component running unsupervised.
public enum SignalContract {
    /// Stop every component in reverse dependency order, then exit.
    public static let stop: [Int32] = [SIGTERM, SIGINT]
    /// As PID 1 only: systemd's halt signal (`SIGRTMIN+3`), which `podman stop` sends a
    /// container run with `--systemd=always` whose image names no stop signal. It stops
    /// everything as TERM does; elsewhere it is one of `ignoredWithALogLine`.
    public static var haltAsInit: Int32 { SIGRTMIN_VALUE + 3 }
    /// Read the configuration again.
    public static let reload: [Int32] = [SIGHUP]
    /// Whose default action would end the process: taken and logged, nothing else. The
    /// faults a process raises itself (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS) are not
    /// here: they mean Warden itself broke, and blocking them changes nothing.
    public static var ignoredWithALogLine: [Int32] {
        [SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO, SIGPWR, SIGSTKFLT]
            + Array(SIGRTMIN_VALUE...SIGRTMAX_VALUE)
    }
    /// With a main program (`warden run -- CMD`): passed on to it, as tini passes every
    /// signal on, instead of being ignored (WINCH is otherwise left at its default,
    /// ignored).
    public static let forwarded: [Int32] = [SIGUSR1, SIGUSR2, SIGWINCH]
    /// The real-time signals glibc leaves to programs (it keeps 32 and 33 for itself).
    public static var SIGRTMIN_VALUE: Int32 { Int32(__libc_current_sigrtmin()) }
    public static var SIGRTMAX_VALUE: Int32 { Int32(__libc_current_sigrtmax()) }
    /// Every signal the loop takes through its signalfd: blocked in the main thread
    /// before any other thread exists, so no thread ever runs a default action.
    public static var handled: [Int32] { [SIGCHLD, SIGWINCH] + stop + reload + ignoredWithALogLine }

    /// A write to a closed pipe or socket fails with `EPIPE` instead of killing Warden
    /// (children get their own disposition back at spawn).
    public static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }
}
