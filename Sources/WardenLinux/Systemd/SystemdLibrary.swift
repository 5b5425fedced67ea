import CSystemd

/// libsystemd.so.0, which Warden loads with `dlopen` at its first use rather than linking
/// (Sources/CSystemd/systemd.c): a daemon that is not under systemd, and does not log to
/// the journal, maps none of it. `sd_notify()`/`sd_watchdog_enabled()` while
/// `$NOTIFY_SOCKET`/`$WATCHDOG_USEC` are unset answer without it, and `sd_booted()` is
/// `SystemdHost.isBooted`.
public enum SystemdLibrary {
    /// Loads the library if that was not yet tried; nil when it is loaded, else why not,
    /// naming the library and the Debian package (`libsystemd0`), for the operator.
    public static var loadError: String? {
        warden_systemd_load_error().map { String(cString: $0) }
    }
}
