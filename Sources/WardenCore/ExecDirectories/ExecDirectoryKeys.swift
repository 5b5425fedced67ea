/// The keys of `ExecDirectories`: `RuntimeDirectory=` and its four kin, their `*Mode=`,
/// and `RuntimeDirectoryPreserve=`, with systemd 252's syntax.
enum ExecDirectoryKeys {
    static let rules: [KeyRule<ServiceConfig>] = ExecDirectoryKind.allCases.flatMap { kind in
        [directoryRule(kind), modeRule(kind)]
    } + [preserveRule]

    private static func base(_ kind: ExecDirectoryKind) -> String {
        ExecDirectoryBases.system.base(for: kind)
    }

    private static func directoryRule(_ kind: ExecDirectoryKind) -> KeyRule<ServiceConfig> {
        let owner = kind.isOwnedByService ? ", owned by User=/Group=" : " (left to root)"
        let links = kind.allowsSymlinks ? "; dir:link also makes \(base(kind))/link a symbolic link to it" : ""
        let lifetime = kind == .runtime ? "; removed when the component stops (see RuntimeDirectoryPreserve=)" : "; kept when the component stops"
        return KeyRule(
            kind.key, in: ["Service"],
            KeyDoc(
                "Directories made below \(base(kind)) before the first command (parents too, left to root), with \(kind.modeKey)=\(owner)\(lifetime); $\(kind.environmentVariable) holds their paths, separated by ':'.",
                syntax: kind.allowsSymlinks ? "space-separated relative paths, each optionally :link" : "space-separated relative paths",
                default: "none", mapsTo: "mkdir(2), chown(2), $\(kind.environmentVariable)")
        ) { model, entry, diagnostics in
            if entry.value.isEmpty {
                model.directories.entries[kind] = nil
                return
            }
            switch SystemdWords.split(entry.value) {
            case .success(let words):
                for word in words {
                    switch ExecDirectoryPlan.parseEntry(word, kind: kind) {
                    case .success(let parsed): model.directories.entries[kind, default: []].append(parsed)
                    case .failure(let error): diagnostics.append(.error(entry.location, key: entry.key, error.message))
                    }
                }
            case .failure(let error):
                diagnostics.append(.error(entry.location, key: entry.key, "\(error)"))
            }
        }
    }

    private static func modeRule(_ kind: ExecDirectoryKind) -> KeyRule<ServiceConfig> {
        KeyRule(
            kind.modeKey, in: ["Service"],
            KeyDoc(
                "Access mode of the \(kind.key)= directories (the innermost ones), set whether they were made or found.",
                syntax: "octal mode, e.g. 0750", default: "0755", mapsTo: "chmod(2)")
        ) { model, entry, diagnostics in
            if entry.value.isEmpty {
                model.directories.modes[kind] = nil
                return
            }
            let text = entry.value.trimmingWhitespace()
            guard !text.isEmpty, text.count <= 5, let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
                diagnostics.append(.error(entry.location, key: entry.key, "'\(entry.value)' is not an access mode; expected an octal number such as 0755"))
                return
            }
            model.directories.modes[kind] = mode
        }
    }

    private static let preserveRule = KeyRule<ServiceConfig>(
        "RuntimeDirectoryPreserve", in: ["Service"],
        KeyDoc(
            "no: RuntimeDirectory= is removed whenever the component stops, restarts too; restart: kept across restarts, removed when it stops for good; yes: never removed.",
            syntax: "boolean or restart", default: "no", mapsTo: "rm -r at stop")
    ) { model, entry, diagnostics in
        if entry.value.isEmpty {
            model.directories.runtimePreserve = nil
            return
        }
        if entry.value == "restart" {
            model.directories.runtimePreserve = .restart
            return
        }
        switch SystemdBoolean.parse(entry.value) {
        case .success(let on): model.directories.runtimePreserve = on ? .yes : .no
        case .failure:
            diagnostics.append(.error(entry.location, key: entry.key, "'\(entry.value)' is not valid; expected yes, no or restart"))
        }
    }
}
