import Glibc
import Synchronization

/// Set once at shutdown; workers poll it between batches.
private let workersStop = Atomic<Bool>(false)
/// Simulated bars processed by all workers, in total.
private let barsProcessed = Atomic<UInt64>(0)

/// The batch job: a backtest that keeps N CPUs busy and, on request, leaks memory at
/// a steady rate, so CPUQuota=, CPUWeight=, MemoryHigh= and MemoryMax= have something
/// to act on. SIGUSR1 (the units' CleanupSignal=) unmaps everything leaked: the
/// leak is held in anonymous mmap(2) chunks, so freeing returns the pages to the
/// kernel at once and VmRSS drops, with no malloc arena holding on to them.
struct Backtest: DemoRole {
    static let options = ["threads", "leak-mb-per-s"]
    static let usage = """
        backtest [--threads N] [--leak-mb-per-s X]
            Batch backtest: busy loops on N threads (default: every CPU it may run on;
            0 for none) and, with --leak-mb-per-s, allocates X MiB a second that only
            SIGUSR1 gives back.
        """

    let periodNanoseconds = 100 * nanosecondsPerMillisecond
    private static let chunkBytes = 1 << 20

    private let threadCount: Int
    private let leakBytesPerSecond: Double
    private var workers: [pthread_t] = []
    private var leakedChunks: [UnsafeMutableRawPointer] = []
    private var leakStartNanoseconds = monotonicNanoseconds()
    private var nextReportNanoseconds = monotonicNanoseconds() + nanosecondsPerSecond
    private var barsAtLastReport: UInt64 = 0
    private var leakFailureLogged = false

    init(_ arguments: RoleArguments) throws(UsageError) {
        threadCount = try arguments.integer("threads", default: Self.usableCPUCount(), in: 0...1_024)
        leakBytesPerSecond = try arguments.number("leak-mb-per-s", default: 0, in: 0...10_000)
            * Double(Self.chunkBytes)
        let leakText = leakBytesPerSecond > 0
            ? ", leaking \(fixed(leakBytesPerSecond / Double(Self.chunkBytes), decimals: 1)) MiB/s" : ""
        say("backtest starting on \(threadCount) threads\(leakText)")
        for index in 0..<threadCount {
            var thread = pthread_t()
            let result = pthread_create(&thread, nil, backtestWorker, UnsafeMutableRawPointer(bitPattern: index + 1))
            if result != 0 {
                complain("backtest: pthread_create for worker \(index) failed: \(errnoText(result))")
                break
            }
            workers.append(thread)
        }
    }

    /// The CPUs in this process's affinity mask: what "all CPUs" means under a
    /// `CPUAffinity=` or cpuset, where the online count would overcommit. Read from
    /// the `Cpus_allowed:` mask in /proc/self/status because Swift's Glibc module
    /// does not declare sched_getaffinity (it is behind _GNU_SOURCE).
    private static func usableCPUCount() -> Int {
        let online = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        guard let file = fopen("/proc/self/status", "r") else { return online }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4_096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("Cpus_allowed:") else { continue }
            let allowed = text.dropFirst("Cpus_allowed:".count).reduce(0) { count, character in
                count + (character.hexDigitValue?.nonzeroBitCount ?? 0)
            }
            return allowed > 0 ? allowed : online
        }
        return online
    }

    mutating func tick(nowNanoseconds now: UInt64, latenessNanoseconds: UInt64) {
        leak(upTo: now)
        guard now >= nextReportNanoseconds else { return }
        nextReportNanoseconds = now + nanosecondsPerSecond
        let bars = barsProcessed.load(ordering: .relaxed)
        let rate = bars - barsAtLastReport
        barsAtLastReport = bars
        say("backtest: \(threadCount) threads, \(fixed(Double(rate) / 1e6, decimals: 1)) M bars/s, holding \(leakedChunks.count) MiB")
    }

    /// Maps and touches whole chunks until the leak matches rate × time since the
    /// last cleanup. Touching every page makes the memory resident, so it counts
    /// against the cgroup's memory.current.
    private mutating func leak(upTo now: UInt64) {
        guard leakBytesPerSecond > 0 else { return }
        let elapsedSeconds = Double(now - leakStartNanoseconds) / Double(nanosecondsPerSecond)
        let targetChunks = Int(leakBytesPerSecond * elapsedSeconds) / Self.chunkBytes
        while leakedChunks.count < targetChunks {
            let chunk = mmap(nil, Self.chunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let chunk, chunk != MAP_FAILED else {
                if !leakFailureLogged {
                    complain("backtest: mmap of 1 MiB failed at \(leakedChunks.count) MiB: \(errnoText(errno))")
                    leakFailureLogged = true
                }
                return
            }
            memset(chunk, 0xA5, Self.chunkBytes)
            leakedChunks.append(chunk)
        }
    }

    mutating func freeCaches() {
        let released = leakedChunks.count
        for chunk in leakedChunks { munmap(chunk, Self.chunkBytes) }
        leakedChunks.removeAll()
        leakStartNanoseconds = monotonicNanoseconds()
        leakFailureLogged = false
        say("freeing caches: released \(released) MiB")
    }

    mutating func reload() {
        say("reloading: strategy parameters re-read")
    }

    mutating func finish() {
        workersStop.store(true, ordering: .relaxed)
        for worker in workers { pthread_join(worker, nil) }
        say("backtest stopped: \(barsProcessed.load(ordering: .relaxed)) bars processed")
    }
}

/// One busy worker: a moving-average crossover over a pseudo-random price series,
/// pure arithmetic with no syscalls, so all its time is user CPU the governor can see.
private func backtestWorker(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    var state = UInt64(UInt(bitPattern: context)) &* 0x9E37_79B9_7F4A_7C15
    var price = 100.0
    var average = 100.0
    var position = 0.0
    var profit = 0.0
    while !workersStop.load(ordering: .relaxed) {
        for _ in 0..<100_000 {
            // xorshift64: cheap, deterministic per thread.
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            price *= 1 + (Double(state >> 11) / Double(1 << 53) - 0.5) * 0.001
            average += (price - average) * 0.05
            let wanted = price > average ? 1.0 : -1.0
            if wanted != position {
                profit -= (wanted - position) * price
                position = wanted
            }
        }
        barsProcessed.add(100_000, ordering: .relaxed)
    }
    // Keep the result observable so the optimiser cannot drop the loop.
    if profit.isNaN { say("backtest: numeric failure") }
    return nil
}
