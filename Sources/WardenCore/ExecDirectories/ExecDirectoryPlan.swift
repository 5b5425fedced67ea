/// One directory to make before a service's first command.
public struct PlannedExecDirectory: Hashable, Sendable {
    public var kind: ExecDirectoryKind
    /// The kind's base (`/run`), made with its parents when missing.
    public var base: String
    /// The innermost directory, absolute (`/run/foo/bar`).
    public var path: String
    /// The directories between the base and `path` that may need creating, outermost
    /// first (`/run/foo`): made with mode 0755 and left to root, as systemd does.
    public var parents: [String]
    /// The mode `path` gets, created or not.
    public var mode: UInt32
    /// Whether `path` is given to `User=`/`Group=`.
    public var ownedByService: Bool
    /// Links to `path` to make (absolute), from the `:symlink` syntax.
    public var symlinks: [String]
}

/// What systemd does with `RuntimeDirectory=`, `StateDirectory=`, `CacheDirectory=`,
/// `LogsDirectory=` and `ConfigurationDirectory=`, decided without touching the file
/// system: which directories, with which mode and owner, which variables the commands
/// see, and what goes when the service stops.
public struct ExecDirectoryPlan: Hashable, Sendable {
    public var directories: [PlannedExecDirectory]
    /// `RUNTIME_DIRECTORY=/run/foo:/run/baz` and its kin, in the kinds' order; only kinds
    /// that are set.
    public var environment: [(name: String, value: String)] {
        ExecDirectoryKind.allCases.compactMap { kind in
            let paths = directories.filter { $0.kind == kind }.map(\.path)
            return paths.isEmpty ? nil : (kind.environmentVariable, paths.joined(separator: ":"))
        }
    }
    /// `RuntimeDirectory=`'s directories and links: removed when the service stops
    /// (unless `RuntimeDirectoryPreserve=` keeps them).
    public var runtimePaths: [String] {
        directories.filter { $0.kind == .runtime }.flatMap { $0.symlinks + [$0.path] }
    }

    public init(_ settings: ExecDirectories, bases: ExecDirectoryBases) {
        var directories: [PlannedExecDirectory] = []
        for kind in ExecDirectoryKind.allCases {
            let base = bases.base(for: kind)
            for entry in settings.entries[kind] ?? [] {
                let components = entry.path.split(separator: "/")
                var parents: [String] = []
                var current = base
                for component in components.dropLast() {
                    current += "/" + component
                    parents.append(current)
                }
                let path = base + "/" + components.joined(separator: "/")
                // The same directory named twice is made once; its links add up.
                if let i = directories.firstIndex(where: { $0.path == path }) {
                    directories[i].symlinks += entry.symlinks.map { base + "/" + $0 }
                    continue
                }
                directories.append(PlannedExecDirectory(
                    kind: kind, base: base, path: path, parents: parents, mode: settings.mode(for: kind),
                    ownedByService: kind.isOwnedByService, symlinks: entry.symlinks.map { base + "/" + $0 }))
            }
        }
        self.directories = directories
    }

    /// Parses one word of a directory key: a relative path without `..`, `.` or empty
    /// components, optionally followed by `:` and the relative path of a link to make.
    /// Redundant slashes are dropped, as systemd's path_simplify() does.
    public static func parseEntry(_ word: String, kind: ExecDirectoryKind) -> Result<ExecDirectoryEntry, ValueError> {
        var parts = word.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2 && !kind.allowsSymlinks {
            return .failure(ValueError("'\(word)': \(kind.key)= takes no ':symlink'; expected a relative directory name"))
        }
        var simplified: [String] = []
        for (index, part) in parts.enumerated() {
            let what = index == 0 ? "directory" : "symlink"
            guard !part.isEmpty else { return .failure(ValueError("'\(word)': the \(what) name is empty; expected a relative path such as foo or foo/bar")) }
            guard !part.hasPrefix("/") else {
                return .failure(ValueError("'\(word)': the \(what) must be relative to \(kind == .runtime ? "/run" : "its base directory"), not absolute"))
            }
            let components = part.split(separator: "/")
            if components.contains(where: { $0 == ".." || $0 == "." }) {
                return .failure(ValueError("'\(word)': '.' and '..' are not allowed in a \(what) name"))
            }
            if components.isEmpty { return .failure(ValueError("'\(word)': the \(what) name is empty")) }
            simplified.append(components.joined(separator: "/"))
        }
        parts = simplified
        return .success(ExecDirectoryEntry(path: parts[0], symlinks: Array(parts.dropFirst())))
    }
}
