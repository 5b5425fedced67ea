/// What Warden does with each key of systemd's own table (`SystemdKeyTable`), for
/// docs/systemd-compatibility.md (`warden keys --compatibility`). The treatment of a key
/// is derived from the rules the parser uses, so the table cannot claim more than Warden
/// does; only the reason a key is not enforced is written here, by kind of key.
public enum SystemdCompatibility {
    public enum Treatment: String, Sendable, CaseIterable {
        /// Warden has a rule for the key and acts on it.
        case enforced
        /// A condition or assert, evaluated before each start.
        case evaluated
        /// Read for the unit graph or by `systemctl enable`, as systemd does.
        case honoured = "honoured"
        /// Accepted with one warning per configuration; no effect.
        case ignored = "accepted, not enforced"
        /// systemd 252 itself only says it is obsolete.
        case obsolete
    }

    public struct Row: Hashable, Sendable {
        public var section: String
        public var key: String
        public var treatment: Treatment
        public var note: String
    }

    /// Every key of systemd's table for the sections Warden reads, in section order.
    public static func rows() -> [Row] {
        var rows: [Row] = []
        let serviceRules = Dictionary(
            ServiceConfig.rules.flatMap { rule in rule.sections.map { ("\($0).\(rule.key)", rule.doc) } },
            uniquingKeysWith: { first, _ in first })
        let sliceRules = Dictionary(
            SliceConfig.rules.flatMap { rule in rule.sections.map { ("\($0).\(rule.key)", rule.doc) } },
            uniquingKeysWith: { first, _ in first })
        for section in ["Unit", "Service", "Slice", "Install"] {
            for key in SystemdOnlyKeys.keys(of: section).sorted() {
                let doc = serviceRules["\(section).\(key)"] ?? sliceRules["\(section).\(key)"]
                rows.append(row(section: section, key: key, doc: doc))
            }
        }
        return rows
    }

    static func row(section: String, key: String, doc: KeyDoc?) -> Row {
        if let doc {
            let isCondition = key.hasPrefix("Condition") || key.hasPrefix("Assert")
            let note: String
            switch doc.systemd {
            case .differs(let difference): note = difference
            case .same, .wardenOnly: note = isCondition ? "evaluated when the component starts" : "same syntax and meaning"
            }
            return Row(section: section, key: key, treatment: isCondition ? .evaluated : .enforced, note: note)
        }
        if SystemdOnlyKeys.isObsolete(key, section: section) {
            return Row(section: section, key: key, treatment: .obsolete, note: "systemd 252 ignores it too")
        }
        if SystemdOnlyKeys.informational.contains(key) {
            return Row(section: section, key: key, treatment: .honoured, note: "describes the unit; shown by `warden status`")
        }
        if section == "Install" {
            if let entry = KeyReference.installKeys.first(where: { $0.key == key }) {
                return Row(section: section, key: key, treatment: .honoured, note: entry.doc.meaning)
            }
            return Row(section: section, key: key, treatment: .ignored, note: installReason(key))
        }
        return Row(section: section, key: key, treatment: .ignored, note: reason(for: key))
    }

    static func installReason(_ key: String) -> String {
        "read by `systemctl enable`; Warden starts every unit of its unit directories"
    }

    /// Why a key Warden has no rule for is not enforced, by the kind of setting it is.
    static func reason(for key: String) -> String {
        for (matches, why) in reasons where matches(key) { return why }
        return "not implemented"
    }

    private static func any(_ prefixes: [String], exact: Set<String> = []) -> @Sendable (String) -> Bool {
        { key in exact.contains(key) || prefixes.contains { key.hasPrefix($0) } }
    }

    private static let reasons: [(@Sendable (String) -> Bool, String)] = [
        (any(["Private", "Protect", "ReadWrite", "ReadOnly", "Inaccessible", "Root", "Bind", "MountAPIVFS", "MountImages",
              "Extension", "TemporaryFileSystem", "NetworkNamespacePath", "IPCNamespacePath"],
             exact: ["ExecPaths", "NoExecPaths", "MountFlags", "DynamicUser", "ProcSubset", "RemoveIPC", "KeyringMode",
                     "JoinsNamespaceOf"]),
         "sandboxing: mount, user, IPC and network namespaces are the container runtime's job (or systemd's on a host); Warden builds none"),
        (any(["SystemCall", "Restrict", "SELinux", "AppArmor", "Smack"],
             exact: ["LockPersonality", "MemoryDenyWriteExecute", "Personality", "SecureBits", "NoNewPrivileges"]),
         "seccomp filters and LSM labels are not applied"),
        (any(["Syslog", "LogLevel", "LogExtra", "LogRate", "LogNamespace", "LogFilter"]),
         "Warden logs each component's output itself (journald or standard error), without systemd's per-unit filters"),
        (any(["LoadCredential", "SetCredential", "ImportCredential"]), "systemd credentials are not provided"),
        (any(["Job", "OnFailure", "OnSuccess", "Propagate", "Upholds", "IgnoreOn", "AllowIsolate", "RefuseManual",
              "FailureAction", "SuccessAction", "StartLimitAction", "RebootArgument", "StopPropagated",
              "ReloadPropagated", "Requisite", "RequiresOverridable"],
             exact: ["Conflicts", "PartOf", "StopWhenUnneeded", "CollectMode", "DefaultDependencies", "RequiresMountsFor"]),
         "systemd's job engine: transactions, isolation, unit garbage collection and system-wide actions that a supervisor of one stack does not have"),
        (any(["IPAddress", "IPIngress", "IPEgress", "Device", "SocketBind", "RestrictNetworkInterfaces", "BPF",
              "ManagedOOM", "MemoryPressure", "NFTSet", "Delegate", "DisableControllers", "BlockIO", "IODevice",
              "IORead", "IOWrite", "Startup"],
             exact: ["CPUAccounting", "MemoryAccounting", "TasksAccounting", "IOAccounting", "IPAccounting",
                     "CPUShares", "MemoryLimit", "MemoryOOMGroup", "CPUQuotaPeriodSec"]),
         "a cgroup feature Warden does not map: eBPF firewalls and device policies, per-device I/O limits, cgroup v1 keys, start-up-only values, systemd-oomd (accounting is always on)"),
        (any(["Sockets", "FileDescriptorStore", "USBFunction"], exact: ["NonBlocking", "OpenFile"]),
         "socket activation and the file-descriptor store are not supported"),
        (any(["TTY", "Utmp", "StandardInput"], exact: ["PAMName"]), "terminals, utmp records and PAM sessions are not set up"),
        (any(["IOScheduling", "NUMA"], exact: ["CPUSchedulingResetOnFork", "TimerSlackNSec", "CoredumpFilter"]),
         "a scheduling setting Warden does not apply"),
    ]

    /// docs/systemd-compatibility.md.
    public static func markdown() -> String {
        let all = rows()
        var out = """
            # systemd compatibility

            Generated by `warden keys --compatibility` from systemd \(SystemdKeyTable.systemdVersion)'s own key \
            table (read from `libsystemd-core-\(SystemdKeyTable.systemdVersion).so` by `scripts/gen-systemd-keys`) \
            and the rules Warden's parser uses; do not edit by hand.

            Every key systemd \(SystemdKeyTable.systemdVersion) knows in `[Unit]`, `[Service]`, `[Slice]` and \
            `[Install]` is accepted: a unit written for systemd loads under Warden unchanged. What Warden does \
            with each:

            - **enforced**: Warden acts on it, with systemd's syntax and meaning unless the note says otherwise \
            (the details of each are in [configuration.md](configuration.md));
            - **evaluated**: a condition or assert, checked when the component starts (an unmet condition \
            skips it, a failed assert fails it);
            - **honoured**: read as systemd reads it;
            - **accepted, not enforced**: no effect, one warning per key for the whole configuration, and the \
            reason here;
            - **obsolete**: systemd itself ignores it.

            Counts: \(Treatment.allCases.map { t in "\(all.filter { $0.treatment == t }.count) \(t.rawValue)" }.joined(separator: ", ")) \
            (of \(all.count)).

            Unit types: Warden runs `.service` units and the `.slice` units that group them, reads `.target` \
            files as groupings, and treats systemd's special targets (systemd.special(7)) as known names. A \
            `Requires=` or `BindsTo=` of a unit type it cannot have (`.socket`, `.device`, `.mount`, `.path`, \
            `.timer`, `.swap`, `.automount`, `.scope`) is refused with the reason, except a service's own socket \
            (`rsyslog.service` requires `syslog.socket`): socket activation is not supported, the daemon opens \
            its sockets itself as it does when none is passed, and the dependency is dropped with a warning. \
            `Wants=` and ordering on them are accepted and ignored.


            """
        let later = (ServiceConfig.rules.flatMap { rule in rule.sections.map { ($0, rule.key) } }
            + SliceConfig.rules.flatMap { rule in rule.sections.map { ($0, rule.key) } })
            .filter { section, key in ["Unit", "Service", "Slice"].contains(section) && !SystemdOnlyKeys.isSystemdKey(key, section: section) }
            .map { "`[\($0.0)] \($0.1)=`" }
        if !later.isEmpty {
            out += "Warden also reads these keys of later systemd versions, with their meaning there: "
                + Array(Set(later)).sorted().joined(separator: ", ") + ".\n\n"
        }
        for section in ["Unit", "Service", "Slice", "Install"] {
            let rows = all.filter { $0.section == section }
            out += "## `[\(section)]`\n\n| key | Warden | note |\n| --- | --- | --- |\n"
            for row in rows {
                out += "| `\(row.key)=` | \(row.treatment.rawValue) | \(row.note.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")) |\n"
            }
            out += "\n"
        }
        return out
    }
}
