/// Whether systemd is init here.
public enum SystemdHost {
    /// The test `sd_booted(3)` makes, without loading libsystemd: systemd creates the
    /// directory `/run/systemd/system/` early at boot when it is PID 1. `root` is a
    /// parameter so tests can point it at a seeded directory.
    public static func isBooted(root: String = "") -> Bool {
        FileIO.isDirectory(root + "/run/systemd/system")
    }
}
