/// Unit names systemd always has (systemd.special(7)) that Warden accepts as
/// dependencies without a unit file: the special targets, the root slices, and the
/// D-Bus and journal services a unit may name. Ordering against them and `Wants=` or
/// `Requires=` of them pass without the "is not a configured unit" diagnostic, so unit
/// files written for systemd load unchanged.
///
/// A special target with no file in the unit directories is an implicit target: it
/// groups the units that name it (`WantedBy=`, `Before=`, a `*.wants/` directory) and is
/// reached once they have started. The special `.socket`, `.mount` and `.scope` units
/// are not here: Warden has no such units, and `UnsupportedUnitKinds` says so.
public enum WellKnownUnits {
    /// The special targets of systemd 252's systemd.special(7).
    public static let targets: Set<String> = [
        "basic.target", "bluetooth.target", "boot-complete.target", "cryptsetup-pre.target", "cryptsetup.target",
        "ctrl-alt-del.target", "default.target", "emergency.target", "exit.target", "factory-reset.target",
        "final.target", "first-boot-complete.target", "getty-pre.target", "getty.target", "graphical.target",
        "halt.target", "hibernate.target", "hybrid-sleep.target", "initrd-fs.target", "initrd-root-device.target",
        "initrd-root-fs.target", "initrd-usr-fs.target", "initrd.target", "integritysetup-pre.target",
        "integritysetup.target", "kbrequest.target", "kexec.target", "local-fs-pre.target", "local-fs.target",
        "machines.target", "multi-user.target", "network-online.target", "network-pre.target", "network.target",
        "nss-lookup.target", "nss-user-lookup.target", "paths.target", "poweroff.target", "printer.target",
        "reboot.target", "remote-cryptsetup.target", "remote-fs-pre.target", "remote-fs.target",
        "remote-veritysetup.target", "rescue.target", "rpcbind.target", "runlevel2.target", "runlevel3.target",
        "runlevel4.target", "runlevel5.target", "shutdown.target", "sigpwr.target", "sleep.target", "slices.target",
        "smartcard.target", "sockets.target", "sound.target", "suspend-then-hibernate.target", "suspend.target",
        "swap.target", "sysinit.target", "system-update-pre.target", "system-update.target", "time-set.target",
        "time-sync.target", "timers.target", "umount.target", "usb-gadget.target", "veritysetup-pre.target",
        "veritysetup.target", "graphical-session.target", "graphical-session-pre.target",
        "xdg-desktop-autostart.target",
    ]

    public static let names: Set<String> = targets.union([
        "-.slice", "system.slice", "user.slice", "machine.slice",
        "dbus.service", "display-manager.service", "system-update-cleanup.service",
        "systemd-journald.service",
    ])
}
