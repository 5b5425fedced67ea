extension DuplicateScan {
    /// Without a configuration: groups of processes running the same program with the
    /// same arguments — "two copies of the bot".
    ///
    /// - The same program: the same file behind `/proc/PID/exe` (device and inode), or,
    ///   when that cannot be read, the same path. A deleted executable (an upgrade under a
    ///   running copy) is another file than the one installed since.
    /// - The same arguments: argv[1…] equal. argv[0] is what the starter chose (`./bot`,
    ///   `/opt/bot/bot`, a shell's `-bash`), while the program is compared by its file.
    /// - One instance per process tree: a member whose parent is a member of the same
    ///   group is a worker its parent forked (a prefork pool whose children keep the
    ///   parent's argv), part of the parent's instance, not another copy. Workers that
    ///   rewrite their title (nginx, postgres) differ in argv and form no group anyway.
    /// - Never members: kernel threads, zombies, PID 1, `excluded` (Warden's processes and
    ///   the command's own ancestors), and a login shell without arguments (its
    ///   executable is one of `loginShells`, `/etc/shells`): a shell per terminal is how
    ///   people work, not a copy.
    ///
    /// A group needs two instances. The oldest (start time, then PID) is kept as the
    /// original (`supervised`); the newer ones are the duplicates, oldest first.
    public static func sameCommandGroups(
        in processes: [ScannedProcess], excluding excluded: Set<Int32>, loginShells: Set<String> = []
    ) -> [ComponentCopies] {
        enum Program: Hashable {
            case file(FileIdentity)
            case path(String)
        }
        struct Command: Hashable {
            var program: Program
            var arguments: [String]
        }
        var groups: [Command: [ScannedProcess]] = [:]
        for process in processes
        where process.pid > 1 && !process.hasExited && !process.isKernelThread && !excluded.contains(process.pid)
            && !process.arguments.isEmpty
        {
            guard let executable = process.executable else { continue }
            if process.arguments.count == 1 && loginShells.contains(executable) { continue }
            let program = process.executableFile.map(Program.file) ?? .path(executable)
            groups[Command(program: program, arguments: Array(process.arguments.dropFirst())), default: []].append(process)
        }
        var result: [ComponentCopies] = []
        for (command, members) in groups where members.count >= 2 {
            let pids = Set(members.map(\.pid))
            let instances = members.filter { !pids.contains($0.parentPID) }
                .sorted { ($0.startTimeTicks, $0.pid) < ($1.startTimeTicks, $1.pid) }
            guard instances.count >= 2 else { continue }
            let executable = instances[0].executable ?? ""
            let program = executable.split(separator: "/").last.map(String.init) ?? executable
            let whole = ([program] + command.arguments).joined(separator: " ")
            let name = whole.count > 60 ? String(whole.prefix(59)) + "…" : whole
            result.append(
                ComponentCopies(
                    component: name, policy: .warn, match: .executableAndArguments, supervised: [instances[0]],
                    duplicates: Array(instances.dropFirst())))
        }
        return result.sorted { ($0.component, $0.supervised[0].pid) < ($1.component, $1.supervised[0].pid) }
    }
}
