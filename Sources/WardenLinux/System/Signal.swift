import Glibc

/// The signal numbers the runtime names, by what they mean to a supervisor.
public enum Signal {
    public static let hangup = SIGHUP
    public static let interrupt = SIGINT
    public static let kill = SIGKILL
    public static let terminate = SIGTERM
    public static let windowChange = SIGWINCH
}

/// The errno values the runtime tells apart.
public enum Errno {
    /// `ESRCH`: the process is gone.
    public static let noSuchProcess = ESRCH
    /// `ECANCELED`: an operation was given up (a spawn the gate cancelled).
    public static let canceled = ECANCELED
    /// `EPERM`.
    public static let notPermitted = EPERM

    /// The errno of the call that just failed on this thread.
    public static var current: Int32 { errno }
}
