/// How Warden reads the systemd keys it has no rule for. The keys come from systemd's own
/// table (`SystemdKeyTable`, generated from libsystemd-core), so the list cannot drift from
/// systemd: a unit written for systemd keeps working under Warden, every systemd key of a
/// section that Warden does not enforce gets a warning saying the setting has no effect
/// here, and anything else is an unknown or misspelt key.
enum SystemdOnlyKeys {
    /// Keys that only describe the unit: nothing to enforce, so nothing to warn about.
    static let informational: Set<String> = ["Description", "Documentation", "SourcePath"]

    /// Sections systemd defines that Warden reads no setting from; their keys are checked
    /// against systemd's table and otherwise ignored without a warning.
    static let ignoredSections: Set<String> = ["Install"]

    /// The text of the warning for a systemd key Warden does not enforce.
    static let notEnforced = "systemd setting not enforced by Warden; ignored"

    /// systemd's keys of `section`, empty for a section systemd does not define.
    static func keys(of section: String) -> Set<String> {
        switch section {
        case "Unit": SystemdKeyTable.unit
        case "Service": SystemdKeyTable.service
        case "Slice": SystemdKeyTable.slice
        case "Install": SystemdKeyTable.install
        default: []
        }
    }

    /// Whether systemd knows `key` in `section`.
    static func isSystemdKey(_ key: String, section: String) -> Bool {
        keys(of: section).contains(key)
    }

    /// Whether systemd itself only says that `key` is obsolete or unsupported.
    static func isObsolete(_ key: String, section: String) -> Bool {
        SystemdKeyTable.obsolete.contains("\(section).\(key)")
    }

    /// Names of the keys that systemd parses without `%` specifiers in every section of a
    /// service or slice where it defines them (`CPUQuota=`, `MemoryMax=`, `Restart=`): a
    /// `%` in them is a percentage or a literal.
    static let verbatimKeys: Set<String> = {
        var verbatim: Set<String> = []
        var expanded: Set<String> = []
        for section in ["Unit", "Service", "Slice"] {
            for key in keys(of: section) {
                if SystemdKeyTable.verbatim.contains("\(section).\(key)") {
                    verbatim.insert(key)
                } else {
                    expanded.insert(key)
                }
            }
        }
        return verbatim.subtracting(expanded)
    }()
}
