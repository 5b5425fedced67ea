import CWardenShims
import Glibc
import Testing
import WardenCore
@testable import WardenLinux

@Suite struct SpawnTests {
    @Test(arguments: [
        ("exit 0", WardenCore.ExitStatus.exited(code: 0)),
        ("exit 3", .exited(code: 3)),
        ("exit 255", .exited(code: 255)),
        ("kill -TERM $$", .killed(signal: SIGTERM, coreDumped: false)),
        ("kill -KILL $$", .killed(signal: SIGKILL, coreDumped: false)),
    ])
    func exitStatusIsReported(script: String, expected: WardenCore.ExitStatus) throws {
        let process = try spawnProcess(TestProcess.shell(script))
        #expect(TestProcess.wait(process) == expected)
    }

    @Test func spawnsTrue() throws {
        let process = try spawnProcess(SpawnRequest(executablePath: "/bin/true"))
        #expect(process.pid > 0 && process.pidfd >= 0)
        #expect(TestProcess.wait(process) == .exited(code: 0))
    }

    @Test(arguments: [
        (SpawnRequest(executablePath: "/nonexistent/program"), "execve /nonexistent/program", ENOENT),
        (SpawnRequest(executablePath: "/etc/passwd"), "execve /etc/passwd", EACCES),
        (SpawnRequest(executablePath: "/bin/true", workingDirectory: "/nonexistent-dir"), "chdir /nonexistent-dir", ENOENT),
        (SpawnRequest(executablePath: "/bin/true", cpuAffinity: [5000]), "sched_setaffinity [5000]", EINVAL),
        (SpawnRequest(executablePath: "/bin/true", stdout: .fd(9999)), "dup2 stdout", EBADF),
        (
            SpawnRequest(executablePath: "/bin/true", resourceLimits: [ProcessResourceLimit(resource: RLIMIT_NOFILE_VALUE, soft: 10, hard: 5)]),
            "setrlimit(RLIMIT_NOFILE)", EINVAL
        ),
    ])
    func failureReportsStepAndErrno(request: SpawnRequest, step: String, code: Int32) {
        // The CLONE_VM child reports through shared memory, the fork-style one through
        // a pipe: both must name the same step.
        for forkStyle in [false, true] {
            #expect(throws: SpawnError(step: step, errno: code)) { try spawnProcess(request, forkStyle: forkStyle) }
        }
    }

    /// Spawns from several threads at once: one finds the kept child stack in use and
    /// must map its own; every child still runs its own program to its own status.
    @Test func concurrentSpawnsFromSeveralThreads() async {
        let results = await withTaskGroup(of: [(Int32, WardenCore.ExitStatus?)].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    (0..<20).map { i -> (Int32, WardenCore.ExitStatus?) in
                        let code = Int32((worker * 20 + i) % 7)
                        guard let process = try? spawnProcess(TestProcess.shell("exit \(code)")) else { return (code, nil) }
                        return (code, TestProcess.wait(process))
                    }
                }
            }
            var all: [(Int32, WardenCore.ExitStatus?)] = []
            for await part in group { all += part }
            return all
        }
        #expect(results.count == 80)
        for (code, status) in results { #expect(status == .exited(code: code)) }
    }

    @Test(arguments: [false, true])
    func bothClonePathsSetUpTheChild(forkStyle: Bool) throws {
        var request = SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"])
        request.nice = 3
        request.umask = 0o077
        let process = try spawnProcess(request, forkStyle: forkStyle)
        defer { TestProcess.kill(process) }
        #expect(TestProcess.statusField(process.pid, "Umask") == "0077")
        #expect(getsid(process.pid) == process.pid)
        #expect(TestProcess.descriptorsOnceSleeping(process.pid) == ["0", "1", "2"])
        #expect(throws: SpawnError(step: "chdir /nonexistent-dir", errno: ENOENT)) {
            try spawnProcess(SpawnRequest(executablePath: "/bin/true", workingDirectory: "/nonexistent-dir"), forkStyle: forkStyle)
        }
        let exited = try spawnProcess(TestProcess.shell("exit 9"), forkStyle: forkStyle)
        #expect(TestProcess.wait(exited) == .exited(code: 9))
    }

    @Test func failedSpawnLeavesNoZombieAndNoDescriptor() throws {
        let before = openDescriptorCount()
        for _ in 0..<500 {
            #expect(throws: SpawnError.self) { try spawnProcess(SpawnRequest(executablePath: "/nonexistent")) }
        }
        // Other tests run concurrently and open descriptors (a few hundred at once under
        // load); a leak here would be 1000 (a pidfd and a pipe end per failed spawn).
        #expect(openDescriptorCount() < before + 400)
    }

    @Test func argumentsEnvironmentAndStdoutArrive() throws {
        var request = TestProcess.shell(#"printf '%s|%s|%s|%s' "$0" "$1" "$GREETING" "$(pwd)""#)
        request.arguments += ["zeroth", "first arg"]
        request.environment = ["GREETING=hello world", "PATH=/usr/bin:/bin"]
        request.workingDirectory = "/tmp"
        let (status, output) = try TestProcess.run(request)
        #expect(status == .exited(code: 0))
        #expect(output == "zeroth|first arg|hello world|/tmp")
    }

    @Test func environmentIsExactlyTheRequested() throws {
        var request = SpawnRequest(executablePath: "/usr/bin/env", arguments: ["env"])
        request.environment = ["A=1", "B=two"]
        let (_, output) = try TestProcess.run(request)
        #expect(output == "A=1\nB=two\n")
    }

    /// IgnoreSIGPIPE=: SIGPIPE alone is ignored in the program (bit 13 of SigIgn); every
    /// other standard signal has its default disposition whatever the parent had.
    @Test(arguments: [true, false])
    func sigpipeIsIgnoredOnlyWhenAsked(_ ignore: Bool) throws {
        var request = SpawnRequest(executablePath: "/bin/grep", arguments: ["grep", "^SigIgn:", "/proc/self/status"])
        request.ignoreSIGPIPE = ignore
        let (status, output) = try TestProcess.run(request)
        #expect(status == .exited(code: 0))
        let mask = UInt64(output.split(separator: "\t").last?.split(separator: "\n").first ?? "", radix: 16)
        // Standard signals only (1…31): glibc refuses to reset its internal real-time
        // signals, so their dispositions are whatever the test process has.
        #expect(mask.map { $0 & 0x7FFF_FFFF } == (ignore ? UInt64(1) << (SIGPIPE - 1) : 0), "\(output)")
    }

    @Test func stderrAndStdinRedirect() throws {
        let (r, w) = TestProcess.pipe()
        var request = TestProcess.shell("echo to-stderr >&2; cat")
        request.stderr = .fd(w)
        request.stdout = .fd(w)
        request.stdin = .null
        let process = try spawnProcess(request)
        close(w)
        #expect(TestProcess.drain(r) == "to-stderr\n")
        #expect(TestProcess.wait(process) == .exited(code: 0))
    }

    @Test func newSessionAndProcessGroup() throws {
        let process = try spawnProcess(SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"]))
        defer { TestProcess.kill(process) }
        #expect(getsid(process.pid) == process.pid)
        #expect(getpgid(process.pid) == process.pid)
    }

    @Test func noDescriptorLeaksIntoChild() throws {
        // Open a few non-close-on-exec descriptors in the parent; the child must not see them.
        let leaked = (0..<3).map { _ in open("/dev/null", O_RDONLY) }
        defer { leaked.forEach { close($0) } }
        let process = try spawnProcess(SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"]))
        defer { TestProcess.kill(process) }
        let fds = TestProcess.descriptorsOnceSleeping(process.pid) ?? []
        #expect(fds == ["0", "1", "2"])
    }

    @Test func perProcessSettingsAreVisibleInProc() throws {
        var request = SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"])
        request.umask = 0o027
        request.resourceLimits = [
            ProcessResourceLimit(resource: RLIMIT_NOFILE_VALUE, soft: 123, hard: 456),
            ProcessResourceLimit(resource: RLIMIT_CORE_VALUE, soft: 0, hard: 0),
        ]
        request.nice = 7
        request.cpuAffinity = [1]
        request.oomScoreAdjust = 345
        request.noNewPrivileges = true
        let process = try spawnProcess(request)
        defer { TestProcess.kill(process) }
        let limits = TestProcess.read("/proc/\(process.pid)/limits") ?? ""
        let openFiles = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        #expect(openFiles.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2) == ["123", "456"])
        let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") } ?? ""
        #expect(core.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"])
        let stat = TestProcess.read("/proc/\(process.pid)/stat") ?? ""
        let fields = stat[stat.lastIndex(of: ")")!...].split(separator: " ")
        #expect(fields[17] == "7", "field 19 (nice)")
        if sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2 {
            #expect(TestProcess.statusField(process.pid, "Cpus_allowed_list") == "1")
        } else {
            print("skipped affinity check: host has one CPU")
        }
        #expect(TestProcess.read("/proc/\(process.pid)/oom_score_adj") == "345\n")
        #expect(TestProcess.statusField(process.pid, "NoNewPrivs") == "1")
        #expect(TestProcess.statusField(process.pid, "Umask") == "0027")
        #expect(ProcessControl.startTime(of: process.pid) != nil)
    }

    @Test func schedulingPolicyIsApplied() throws {
        var request = SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"])
        request.schedulingPolicy = SchedulingPolicy.batch.linuxValue
        let process = try spawnProcess(request)
        defer { TestProcess.kill(process) }
        #expect(sched_getscheduler(process.pid) == SchedulingPolicy.batch.linuxValue)
    }

    @Test func switchesToNobodyWithAmbientCapability() throws {
        guard getuid() == 0 else {
            print("skipped: needs root to switch users")
            return
        }
        let netBindService = 10
        var request = SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"])
        request.userID = 65534
        request.groupID = 65534
        request.ambientCapabilities = UInt64(1) << UInt64(netBindService)
        request.capabilityBoundingSet = UInt64(1) << UInt64(netBindService)
        let process = try spawnProcess(request)
        defer { TestProcess.kill(process) }
        #expect(TestProcess.statusField(process.pid, "Uid") == "65534\t65534\t65534\t65534")
        #expect(TestProcess.statusField(process.pid, "Gid") == "65534\t65534\t65534\t65534")
        #expect(TestProcess.statusField(process.pid, "Groups") == "")
        #expect(TestProcess.statusField(process.pid, "CapAmb") == "0000000000000400")
        #expect(TestProcess.statusField(process.pid, "CapEff") == "0000000000000400")
        #expect(TestProcess.statusField(process.pid, "CapBnd") == "0000000000000400")
    }

    @Test func switchesToNobodyWithoutCapabilities() throws {
        guard getuid() == 0 else {
            print("skipped: needs root to switch users")
            return
        }
        var request = SpawnRequest(executablePath: "/bin/sleep", arguments: ["sleep", "30"])
        request.userID = 65534
        request.groupID = 65534
        request.supplementaryGroups = [65534, 100]
        let process = try spawnProcess(request)
        defer { TestProcess.kill(process) }
        #expect(TestProcess.statusField(process.pid, "Uid") == "65534\t65534\t65534\t65534")
        #expect(TestProcess.statusField(process.pid, "Groups") == "100 65534")
        #expect(TestProcess.statusField(process.pid, "CapEff") == "0000000000000000")
        #expect(TestProcess.statusField(process.pid, "CapAmb") == "0000000000000000")
    }

    @Test func capabilityNamesComeFromLibcap() {
        #expect(Capabilities.lastSupportedCapability >= 37)
        #expect(Capabilities.number(named: "CAP_NET_BIND_SERVICE") == 10)
        #expect(Capabilities.number(named: "cap_sys_admin") == 21)
        #expect(Capabilities.number(named: "CAP_NO_SUCH_THING") == nil)
        #expect(Capabilities.name(of: 10) == "cap_net_bind_service")
    }
}

let RLIMIT_NOFILE_VALUE = Int32(RLIMIT_NOFILE.rawValue)
let RLIMIT_CORE_VALUE = Int32(RLIMIT_CORE.rawValue)

func openDescriptorCount() -> Int {
    LocalFileSystem().listDirectory("/proc/self/fd")?.count ?? 0
}
