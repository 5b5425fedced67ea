// warden-bench: prints the supervision figures of docs/benchmarks.md.
//
//   warden-bench [restart|ready|startup|idle|surface|flood|all] [--count N] [--components N] [--seconds S]
//
// It runs the real `warden run` (found next to this binary) on generated unit files
// whose component is `warden-bench-child`, a small C program that appends one
// timestamped line per event to a file (CLOCK_MONOTONIC is shared by every process),
// so every latency is measured from the components' side. Where a peer makes sense,
// the same figure is measured for a minimal posix_spawn/waitpid loop and the ratio is
// printed. Each figure is printed with the load average at the time: on a busy
// machine the figures mean little.
import Foundation
import Glibc
import WardenCore

// MARK: - Plumbing

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("warden-bench: \(message)\n".utf8))
    exit(1)
}

func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func loadAverage() -> String {
    let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?"
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

let ownDirectory: String = {
    let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (path as NSString).deletingLastPathComponent
}()
let wardenBinary = ownDirectory + "/warden"
let childBinary = ownDirectory + "/warden-bench-child"

struct Event {
    var kind: String
    var pid: Int32
    var nanoseconds: Int64
}

func readEvents(_ path: String) -> [Event] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ")
        guard fields.count == 3, let pid = Int32(fields[1]), let ns = Int64(fields[2]) else { return nil }
        return Event(kind: String(fields[0]), pid: pid, nanoseconds: ns)
    }
}

func spawn(_ arguments: [String], output: String? = nil) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let output {
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid = pid_t()
    let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
    guard result == 0 else { fail("cannot start \(arguments[0]): \(String(cString: strerror(result)))") }
    return pid
}

func waitExit(_ pid: pid_t, timeoutSeconds: Double) -> Int32? {
    let deadline = monotonicNanoseconds() + Int64(timeoutSeconds * 1e9)
    var status: Int32 = 0
    while monotonicNanoseconds() < deadline {
        if waitpid(pid, &status, WNOHANG) == pid { return status }
        usleep(5_000)
    }
    return nil
}

/// A `warden run` on a generated configuration, stopped with SIGTERM at the end.
final class WardenRun {
    let directory: String
    let events: String
    var pid: pid_t = 0

    init(name: String, units: [String: String]) {
        directory = NSTemporaryDirectory() + "warden-bench-\(name)-\(getpid())"
        events = directory + "/events"
        try? FileManager.default.removeItem(atPath: directory)
        try! FileManager.default.createDirectory(atPath: directory + "/units", withIntermediateDirectories: true)
        let conf = "[Warden]\nUnitDirectories=units\nStateDirectory=\(directory)/state\nShutdownBudgetSec=30s\n[Governor]\nEnabled=no\n"
        try! conf.write(toFile: directory + "/warden.conf", atomically: true, encoding: .utf8)
        for (file, text) in units {
            try! text.write(toFile: directory + "/units/" + file, atomically: true, encoding: .utf8)
        }
    }

    func start() -> Int64 {
        let before = monotonicNanoseconds()
        pid = spawn([wardenBinary, "run", "--config", directory + "/warden.conf"], output: directory + "/warden.log")
        return before
    }

    /// Waits until `predicate` holds for the events so far. The events carry their own
    /// timestamps, so how soon this notices changes no figure; it looks every 50 ms and
    /// parses only a file that grew. Parsing the whole file every 2 ms, as it once did,
    /// took most of a CPU while Warden restarted 1,000 times on a 2-core machine (the
    /// bare loop's run has no such poller), which showed up in Warden's p99.
    /// Polls the events file every 50 ms until `predicate` holds. It is parsed only once it
    /// grew and holds at least `minimumBytes`: while Warden restarts, parsing a growing file
    /// takes CPU time on this 2-CPU machine that the loop's run (no poller) does not pay.
    func waitFor(
        timeoutSeconds: Double, _ what: String, minimumBytes: Int64 = 0, _ predicate: ([Event]) -> Bool
    ) -> [Event] {
        let deadline = monotonicNanoseconds() + Int64(timeoutSeconds * 1e9)
        var parsedSize: Int64 = -1
        while monotonicNanoseconds() < deadline {
            var info = stat()
            let size = stat(self.events, &info) == 0 ? Int64(info.st_size) : 0
            if size != parsedSize, size >= minimumBytes {
                parsedSize = size
                let events = readEvents(self.events)
                if predicate(events) { return events }
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                fail("warden exited early (status \(status)) while waiting for \(what); log: \(directory)/warden.log")
            }
            usleep(50_000)
        }
        stop()
        fail("timed out waiting for \(what); log: \(directory)/warden.log")
    }

    func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        if waitExit(pid, timeoutSeconds: 60) == nil {
            kill(pid, SIGKILL)
            _ = waitExit(pid, timeoutSeconds: 5)
            fail("warden did not stop within 60 s of SIGTERM")
        }
        pid = 0
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct Summary {
    var values: [Double]

    func percentile(_ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        // Nearest-rank percentile.
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    var line: String {
        String(format: "p50 %.3f ms  p99 %.3f ms  max %.3f ms  (n=%d)", percentile(50), percentile(99), values.max() ?? .nan, values.count)
    }
}

func report(_ name: String, _ text: String) {
    print(String(format: "%-34@ %@   [load %@]", name as NSString, text, loadAverage()))
}

// MARK: - Benchmarks

/// Child death → replacement exec'd, with `Restart=always`, `RestartSec=0`.
func benchmarkRestart(count: Int) {
    let run = WardenRun(
        name: "restart",
        units: [
            "crasher.service": """
            [Unit]
            StartLimitIntervalSec=0
            [Service]
            ExecStart=\(childBinary) crash EVENTS
            Restart=always
            RestartSec=0
            """.replacingOccurrences(of: "EVENTS", with: NSTemporaryDirectory() + "warden-bench-restart-\(getpid())/events"),
        ])
    _ = run.start()
    // Warden's own CPU time over the restarts: unlike the latency, it barely depends on
    // what else the machine is doing (the first start is counted too, hence one extra).
    _ = run.waitFor(timeoutSeconds: 60, "the first start") { $0.contains { $0.kind == "start" } }
    let cpuBefore = cpuSeconds(of: run.pid)
    let startsBefore = readEvents(run.events).filter { $0.kind == "start" }.count
    // An exit and a start per restart, lines of nearly one length: the file is not read
    // before it can hold them all (the shortest lines so far, so never too late).
    var info = stat()
    let shortestLine = Int64((try? String(contentsOfFile: run.events, encoding: .utf8))?
        .split(separator: "\n").map { $0.utf8.count + 1 }.min() ?? 1)
    _ = stat(run.events, &info)
    let expectedBytes = Int64(info.st_size) + shortestLine * Int64(2 * count)
    let events = run.waitFor(timeoutSeconds: 120, "\(count) restarts", minimumBytes: expectedBytes) {
        $0.filter { $0.kind == "start" }.count > count
    }
    let cpuAfter = cpuSeconds(of: run.pid)
    let restartsMeasured = events.filter { $0.kind == "start" }.count - startsBefore
    run.stop()
    var latencies: [Double] = []
    var lastExit: Int64?
    for event in events {
        if event.kind == "exit" { lastExit = event.nanoseconds }
        if event.kind == "start", let exit = lastExit {
            latencies.append(Double(event.nanoseconds - exit) / 1e6)
            lastExit = nil
        }
    }
    let warden = Summary(values: Array(latencies.prefix(count)))
    report("restart (death → exec'd), warden", warden.line)

    // The peer: the least a supervisor can do, posix_spawn and waitpid in a loop.
    let path = NSTemporaryDirectory() + "warden-bench-loop-\(getpid())"
    defer { unlink(path) }
    var loopLatencies: [Double] = []
    let loopCPUBefore = ownCPUSeconds()
    for _ in 0..<count {
        let pid = spawn([childBinary, "crash", path])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
    let loopCPU = (ownCPUSeconds() - loopCPUBefore) / Double(count)
    lastExit = nil
    for event in readEvents(path) {
        if event.kind == "exit" { lastExit = event.nanoseconds }
        if event.kind == "start", let exit = lastExit {
            loopLatencies.append(Double(event.nanoseconds - exit) / 1e6)
            lastExit = nil
        }
    }
    let loop = Summary(values: loopLatencies)
    report("restart, posix_spawn/waitpid loop", loop.line)
    report(
        "restart ratio warden / loop",
        String(format: "p50 %.2fx  p99 %.2fx", warden.percentile(50) / loop.percentile(50), warden.percentile(99) / loop.percentile(99)))
    // Overhead over the peer in absolute terms, and the CPU each side spends per restart
    // (the child's own time excluded on both sides: it is the same program).
    let wardenCPU = (cpuAfter - cpuBefore) / Double(max(1, restartsMeasured))
    report(
        "restart overhead over the loop",
        String(format: "p50 %+.3f ms  p99 %+.3f ms", warden.percentile(50) - loop.percentile(50), warden.percentile(99) - loop.percentile(99)))
    report(
        "restart CPU, warden / loop",
        String(format: "%.3f ms / %.3f ms per restart (ratio %.2fx, n=%d)", wardenCPU * 1e3, loopCPU * 1e3, wardenCPU / loopCPU, restartsMeasured))
}

/// READY=1 sent by a Type=notify component → the component ordered after it exec'd.
/// One pair per `warden run`, `runs` times over: with many pairs at once the figure
/// would mostly be the time the loop spends spawning the other notify units.
func benchmarkReady(runs: Int) {
    var latencies: [Double] = []
    var forkToReady: [Double] = []
    for run in 0..<runs {
        let directory = NSTemporaryDirectory() + "warden-bench-ready\(run)-\(getpid())"
        let units = [
            "ready.service": "[Service]\nType=notify\nExecStart=\(childBinary) notify \(directory)/events\n",
            "after.service":
                "[Unit]\nAfter=ready.service\nRequires=ready.service\n[Service]\nExecStart=\(childBinary) sleep \(directory)/events\n",
        ]
        let warden = WardenRun(name: "ready\(run)", units: units)
        _ = warden.start()
        let events = warden.waitFor(timeoutSeconds: 60, "the dependent of a notify unit") {
            $0.filter { $0.kind == "start" }.count == 2
        }
        warden.stop()
        guard let ready = events.first(where: { $0.kind == "ready" }),
            let notifyStart = events.first(where: { $0.kind == "start" && $0.pid == ready.pid }),
            let dependent = events.first(where: { $0.kind == "start" && $0.pid != ready.pid })
        else { fail("run \(run): events out of order: \(events)") }
        latencies.append(Double(dependent.nanoseconds - ready.nanoseconds) / 1e6)
        forkToReady.append(Double(dependent.nanoseconds - notifyStart.nanoseconds) / 1e6)
    }
    report("ready (READY=1 → dependent exec'd)", Summary(values: latencies).line)
    report("fork-to-ready (notify exec'd → next exec'd)", Summary(values: forkToReady).line)
}

/// Launch → N components running; then Warden's memory and wakeups while nothing happens.
func benchmarkStartupAndIdle(components: Int, idleSeconds: Double, measureIdle: Bool) {
    let directory = NSTemporaryDirectory() + "warden-bench-idle-\(getpid())"
    var units: [String: String] = [:]
    for i in 0..<components {
        units["idle\(i).service"] = "[Service]\nExecStart=\(childBinary) sleep \(directory)/events\n"
    }
    let run = WardenRun(name: "idle", units: units)
    let launched = run.start()
    let events = run.waitFor(timeoutSeconds: 120, "\(components) components started") {
        $0.filter { $0.kind == "start" }.count == components
    }
    let lastStart = events.filter { $0.kind == "start" }.map(\.nanoseconds).max()!
    // Read a moment after the last start (the poll interval): start-up is then over.
    let startCPU = cpuSeconds(of: run.pid)
    report("start \(components) components", String(format: "%.1f ms from exec of warden to the last one running", Double(lastStart - launched) / 1e6))

    let path = NSTemporaryDirectory() + "warden-bench-spawnloop-\(getpid())"
    defer { unlink(path) }
    let loopStart = monotonicNanoseconds()
    let loopCPUBefore = ownCPUSeconds()
    var children: [pid_t] = []
    for _ in 0..<components { children.append(spawn([childBinary, "sleep", path])) }
    let loopCPU = ownCPUSeconds() - loopCPUBefore
    while readEvents(path).count < components { usleep(1_000) }
    let loopLast = readEvents(path).map(\.nanoseconds).max()!
    for child in children {
        kill(child, SIGTERM)
        var status: Int32 = 0
        waitpid(child, &status, 0)
    }
    report(
        "start \(components), posix_spawn loop", String(format: "%.1f ms (ratio warden / loop %.2fx)", Double(loopLast - loopStart) / 1e6, Double(lastStart - launched) / Double(loopLast - loopStart)))
    // Warden's CPU includes its own start-up (loading, parsing \(components) unit files);
    // /proc counts it in clock ticks (10 ms here).
    report(
        "start \(components), CPU warden / loop",
        String(format: "%.0f ms / %.1f ms", startCPU * 1e3, loopCPU * 1e3))

    if measureIdle {
        usleep(1_000_000)  // let start-up settle
        let before = contextSwitches(of: run.pid)
        let t0 = monotonicNanoseconds()
        usleep(UInt32(idleSeconds * 1_000_000))
        let after = contextSwitches(of: run.pid)
        let elapsed = Double(monotonicNanoseconds() - t0) / 1e9
        report(
            "idle wakeups, \(components) components",
            String(format: "%.2f context switches/s over %.0f s (all threads: %d voluntary, %d involuntary)",
                   Double(after.total - before.total) / elapsed, elapsed, after.voluntary - before.voluntary, after.involuntary - before.involuntary))
        let memory = memoryOf(run.pid)
        report("memory, \(components) components", String(format: "PSS %.2f MB, RSS %.2f MB", memory.pss / 1024, memory.rss / 1024))
        // Where the PSS is: shared libraries count in full when no other process maps them.
        let mappings = pssByMapping(run.pid)
        let parts = mappings.prefix(6).map { String(format: "%@ %.2f", $0.name as NSString, $0.kb / 1024) }
        report("  PSS by mapping (MB)", parts.joined(separator: ", "))
        // This bench maps some of the same files, and PSS gives it half of what the two
        // share: said, so that the figure is read as what it is.
        let own = mappedFileNames(getpid())
        let shared = mappings.filter { own.contains($0.name) && $0.kb >= 10 }
            .map { String(format: "%@ PSS %.2f of RSS %.2f", $0.name as NSString, $0.kb / 1024, $0.rssKB / 1024) }
        report("  also mapped by warden-bench (MB)", shared.isEmpty ? "nothing" : shared.joined(separator: ", "))
    }
    run.stop()
}

/// User plus system CPU time of every thread of `pid` so far (`/proc/PID/stat`, in clock ticks).
func cpuSeconds(of pid: pid_t) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let fields = ProcessStatFields.parse(Array(text.utf8))
    else { return .nan }
    return Double(fields.cpuTicks) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// This process's CPU time so far, to the nanosecond.
func ownCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func contextSwitches(of pid: pid_t) -> (voluntary: Int, involuntary: Int, total: Int) {
    var voluntary = 0
    var involuntary = 0
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    for task in tasks {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8) else { continue }
        for line in status.split(separator: "\n") {
            let fields = line.split(separator: ":")
            guard fields.count == 2, let value = Int(fields[1].trimmingCharacters(in: .whitespaces)) else { continue }
            if fields[0] == "voluntary_ctxt_switches" { voluntary += value }
            if fields[0] == "nonvoluntary_ctxt_switches" { involuntary += value }
        }
    }
    return (voluntary, involuntary, voluntary + involuntary)
}

func memoryOf(_ pid: pid_t) -> (pss: Double, rss: Double) {
    func field(_ file: String, _ name: String) -> Double {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return .nan }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan
        }
        return .nan
    }
    return (field("/proc/\(pid)/smaps_rollup", "Pss"), field("/proc/\(pid)/status", "VmRSS"))
}

/// The names of the files `pid` maps, as `pssByMapping` names them.
func mappedFileNames(_ pid: pid_t) -> Set<String> {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8) else { return [] }
    var names = Set<String>()
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.count >= 6, fields[5].hasPrefix("/") { names.insert(String(fields[5].split(separator: "/").last ?? fields[5])) }
    }
    return names
}

/// PSS and RSS per mapped file (anonymous memory as "[anon]"), largest PSS first, from
/// /proc/PID/smaps.
func pssByMapping(_ pid: pid_t) -> [(name: String, kb: Double, rssKB: Double)] {
    // Read to the end by hand: /proc files report size 0, and a reader that trusts the
    // size stops after the first page (only the first mappings).
    let fd = open("/proc/\(pid)/smaps", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        bytes += chunk[..<n]
    }
    let text = String(decoding: bytes, as: UTF8.self)
    var totals: [String: Double] = [:]
    var rss: [String: Double] = [:]
    var current = "[anon]"
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if let first = fields.first, first.contains("-"), first.first?.isHexDigit == true {
            current = fields.count >= 6 ? String(fields[5].split(separator: "/").last ?? fields[5]) : "[anon]"
        } else if fields.first == "Pss:", fields.count >= 2, let kb = Double(fields[1]) {
            totals[current, default: 0] += kb
        } else if fields.first == "Rss:", fields.count >= 2, let kb = Double(fields[1]) {
            rss[current, default: 0] += kb
        }
    }
    return totals.map { (name: $0.key, kb: $0.value, rssKB: rss[$0.key] ?? 0) }.sorted { $0.kb > $1.kb }
}

/// A notify flood from a local user with no business with the stack (uid 65534, one
/// sender, as fast as Warden takes the datagrams) against Warden's notify socket, which
/// every user may write to: the restart latency of a crashing component and the time of
/// `warden status`, without and with the flood, and the ratios. One sender that blocks
/// while the queue is full measures what the flood costs Warden; senders spinning on
/// every CPU would measure the scheduler instead.
func benchmarkFlood(count: Int, seconds: Int) {
    let directory = NSTemporaryDirectory() + "warden-bench-flood-\(getpid())"
    let run = WardenRun(
        name: "flood",
        units: [
            "crasher.service": """
            [Unit]
            StartLimitIntervalSec=0
            [Service]
            ExecStart=\(childBinary) crash \(directory)/events
            Restart=always
            RestartSec=0
            """
        ])
    _ = run.start()
    _ = run.waitFor(timeoutSeconds: 60, "the first start") { $0.contains { $0.kind == "start" } }
    let socket = run.directory + "/state/control.sock"

    /// The next `n` restarts: from each exit to the next start.
    func restarts(_ n: Int) -> Summary {
        let before = readEvents(run.events).count
        let events = run.waitFor(timeoutSeconds: 120, "\(n) restarts") { $0.dropFirst(before).filter { $0.kind == "start" }.count > n }
        var latencies: [Double] = []
        var lastExit: Int64?
        for event in events.dropFirst(before) {
            if event.kind == "exit" { lastExit = event.nanoseconds }
            if event.kind == "start", let exit = lastExit {
                latencies.append(Double(event.nanoseconds - exit) / 1e6)
                lastExit = nil
            }
        }
        return Summary(values: Array(latencies.prefix(n)))
    }
    /// `warden status` run `n` times, each from its start to its exit.
    func statuses(_ n: Int) -> Summary {
        var times: [Double] = []
        for _ in 0..<n {
            let started = monotonicNanoseconds()
            let pid = spawn([wardenBinary, "status", "--socket", socket], output: "/dev/null")
            guard let status = waitExit(pid, timeoutSeconds: 30), status == 0 else {
                run.stop()
                fail("warden status failed during the flood benchmark")
            }
            times.append(Double(monotonicNanoseconds() - started) / 1e6)
        }
        return Summary(values: times)
    }

    let quietRestart = restarts(count)
    let quietStatus = statuses(20)
    let floodSeconds = max(seconds, 10)
    let notifySocket = run.directory + "/state/notify.sock"
    let flooders = (0..<1).map { index in
        spawn([childBinary, "flood", notifySocket, String(floodSeconds)], output: run.directory + "/flood.\(index)")
    }
    usleep(500_000)
    let cpuBefore = cpuSeconds(of: run.pid)
    let started = monotonicNanoseconds()
    let floodRestart = restarts(count)
    let floodStatus = statuses(20)
    let measured = Double(monotonicNanoseconds() - started) / 1e9
    let cpu = cpuSeconds(of: run.pid) - cpuBefore
    var sent = 0
    for (index, pid) in flooders.enumerated() {
        if waitExit(pid, timeoutSeconds: Double(floodSeconds) + 30) == nil { kill(pid, SIGKILL) }
        let text = (try? String(contentsOfFile: run.directory + "/flood.\(index)", encoding: .utf8)) ?? ""
        sent += Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
    if measured >= Double(floodSeconds) - 0.5 {
        print("warden-bench: note: the measurement outlasted the flood (\(floodSeconds) s); pass --seconds for a longer one")
    }
    run.stop()
    report("restart, quiet", quietRestart.line)
    report("restart, notify flood (uid 65534)", floodRestart.line)
    report(
        "restart ratio flood / quiet",
        String(format: "p50 %.2fx  p99 %.2fx", floodRestart.percentile(50) / quietRestart.percentile(50),
               floodRestart.percentile(99) / quietRestart.percentile(99)))
    report("warden status, quiet", quietStatus.line)
    report("warden status, notify flood", floodStatus.line)
    report(
        "flood: datagrams sent",
        String(format: "%d in %d s by one sender (%.0f/s); Warden's CPU while measured %.0f%% of one CPU",
               sent, floodSeconds, Double(sent) / Double(floodSeconds), cpu / measured * 100))
}

// MARK: - Main

let commandLine = Array(CommandLine.arguments.dropFirst())
let mode = commandLine.first.flatMap { $0.hasPrefix("-") ? nil : $0 } ?? "all"
func option(_ name: String, default value: Int) -> Int {
    let arguments = commandLine
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let n = Int(arguments[index + 1]) else { return value }
    return n
}
let count = option("--count", default: 1000)
let components = option("--components", default: 100)
let seconds = option("--seconds", default: 10)
for binary in [wardenBinary, childBinary] where access(binary, X_OK) != 0 {
    fail("\(binary) not found: run scripts/bench (it builds Warden and, with gcc, the C component)")
}
print("warden-bench on \(ProcessInfo.processInfo.activeProcessorCount) CPUs, \(wardenBinary)")
switch mode {
case "restart": benchmarkRestart(count: count)
case "ready": benchmarkReady(runs: 30)
case "startup": benchmarkStartupAndIdle(components: components, idleSeconds: 0, measureIdle: false)
case "idle": benchmarkStartupAndIdle(components: components, idleSeconds: Double(seconds), measureIdle: true)
case "flood": benchmarkFlood(count: commandLine.contains("--count") ? count : 300, seconds: seconds)
case "surface":
    // `--components N` measures one size instead of 10, 100 and 1000.
    let sizes = commandLine.contains("--components") ? [components] : [10, 100, 1000]
    benchmarkOperatorSurface(sizes: sizes, requests: option("--requests", default: 200))
case "all":
    benchmarkRestart(count: count)
    benchmarkReady(runs: 30)
    benchmarkStartupAndIdle(components: components, idleSeconds: Double(seconds), measureIdle: true)
    benchmarkOperatorSurface(sizes: [10, 100, 1000], requests: option("--requests", default: 200))
default:
    fail("unknown benchmark '\(mode)'; expected restart, ready, startup, idle, surface, flood or all")
}
