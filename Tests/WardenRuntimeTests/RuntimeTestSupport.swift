import Glibc
import Logging
import Testing
import WardenCore
import WardenLinux
@testable import WardenRuntime

// Real-process harness: unit files in a temp directory, a Supervisor on its own loop,
// log lines captured in order. Every wait has a generous deadline that only bounds how
// long a failure takes to show; nothing asserts a duration.

/// Where the built binaries are: next to the test bundle, else the package's .build/debug.
enum BuiltBinary {
    static func path(_ name: String) -> String? {
        var candidates: [String] = []
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            var directory = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            for _ in 0..<4 {
                guard let slash = directory.lastIndex(of: "/") else { break }
                directory = String(directory[..<slash])
                candidates.append(directory + "/" + name)
            }
        }
        let packageRoot = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
            .dropLast(3).joined(separator: "/")
        candidates.append(packageRoot + "/.build/debug/" + name)
        return candidates.first { access($0, X_OK) == 0 }
    }

    static let demo = path("warden-demo")
    static let warden = path("warden")
    static var directory: String? { demo.map { String($0[..<$0.lastIndex(of: "/")!]) } }
}

/// Log lines, collected from every thread.
final class LogCapture: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var collected: [String] = []

    init() { pthread_mutex_init(&mutex, nil) }

    func append(_ line: String) {
        pthread_mutex_lock(&mutex)
        collected.append(line)
        pthread_mutex_unlock(&mutex)
    }

    var lines: [String] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return collected
    }

    /// The index of the first line containing every fragment.
    func firstIndex(_ fragments: String...) -> Int? {
        lines.firstIndex { line in fragments.allSatisfy { line.contains($0) } }
    }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let unit = event.metadata?[WardenLogHandler.unitKey].map { "[\($0)]" } ?? ""
        capture.append("warden\(unit): \(event.message)")
    }
}

func monotonicSeconds() -> Double {
    Double(EventLoop.monotonicNanoseconds()) / 1e9
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass.
func eventually(within seconds: Double = 20, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

func readText(_ path: String) -> String {
    (try? LocalFileSystem().readFile(path)) ?? ""
}

func writeText(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "cannot write \(path)")
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

/// True when `pid` exists and is not a zombie.
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = Optional(readText("/proc/\(pid)/stat")), !stat.isEmpty,
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// A temp directory with a `units/` directory, removed at the end.
final class Workspace: @unchecked Sendable {
    let root: String
    var units: String { root + "/units" }

    init() {
        var template = Array("/tmp/warden-rt-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        root = String(cString: made!)
        mkdir(root + "/units", 0o755)
    }

    func unit(_ name: String, _ text: String) {
        writeText(units + "/" + name, text)
    }

    func removeUnit(_ name: String) { unlink(units + "/" + name) }

    func path(_ name: String) -> String { root + "/" + name }

    func load() -> ConfigurationLoader.Result {
        var searchPath = ConfigurationLoader.systemdExecutableSearchPath
        if let directory = BuiltBinary.directory { searchPath.append(directory) }
        let loader = ConfigurationLoader(
            fileSystem: LocalFileSystem(), specifiers: SpecifierContext(hostname: "test"),
            executableSearchPath: searchPath)
        writeText(root + "/warden.conf", "[Warden]\nUnitDirectories=units\nShutdownBudgetSec=30s\n")
        return loader.load(configPath: root + "/warden.conf")
    }

    deinit {
        // Only files this workspace created: units, markers, the state directory.
        for directory in [units, root + "/state", root] {
            for name in LocalFileSystem().listDirectory(directory) ?? [] { unlink(directory + "/" + name) }
        }
        rmdir(units)
        rmdir(root + "/state")
        rmdir(root)
    }
}

/// A supervisor over a workspace's units, shut down (and its processes gone) at the end.
final class Harness {
    let workspace: Workspace
    let capture = LogCapture()
    let supervisor: Supervisor
    private var exitCode: Int32?

    init(
        _ workspace: Workspace, start: Bool = true, healthProber: HealthProber? = nil, previousRunEndedUncleanly: Bool = false,
        execDirectoryBases: ExecDirectoryBases = .system, cgroupAvailability: CgroupAvailability? = nil
    ) throws {
        self.workspace = workspace
        let result = workspace.load()
        guard let configuration = result.configuration else {
            throw HarnessError(description: result.diagnostics.map(\.description).joined(separator: "\n"))
        }
        var searchPath = ConfigurationLoader.systemdExecutableSearchPath
        if let directory = BuiltBinary.directory { searchPath.append(directory) }
        let capture = self.capture
        let logger = Logger(label: "warden") { _ in CapturingLogHandler(capture: capture) }
        // Never a subreaper inside the test process: orphans of concurrently running tests
        // would become its zombies, and Swift Testing's exit-test monitor spins on children
        // it does not own. Tests that need a subreaper run `warden run`.
        var options = SupervisorOptions(
            stateDirectory: workspace.root + "/state", executableSearchPath: searchPath, becomeSubreaper: false)
        options.previousRunEndedUncleanly = previousRunEndedUncleanly
        options.execDirectoryBases = execDirectoryBases
        options.cgroupAvailability = cgroupAvailability
        supervisor = try Supervisor(
            configuration: configuration,
            options: options,
            logger: logger, reloadSource: { [workspace] in workspace.load() }, healthProber: healthProber)
        if start { supervisor.start() }
    }

    func status(_ name: String) -> ComponentStatus? {
        supervisor.status().first { $0.name == name }
    }

    /// Waits for the named component to satisfy `condition`.
    func wait(_ name: String, within seconds: Double = 20, until condition: (ComponentStatus) -> Bool) -> ComponentStatus? {
        var last: ComponentStatus?
        let met = eventually(within: seconds) {
            last = status(name)
            return last.map(condition) ?? false
        }
        if !met { Issue.record("\(name) never met the condition; last: \(String(describing: last))\n\(capture.lines.joined(separator: "\n"))") }
        return met ? last : nil
    }

    /// Shuts down and returns the exit code (nil if it did not finish in time).
    @discardableResult
    func shutdown(within seconds: Double = 60) -> Int32? {
        if let exitCode { return exitCode }
        supervisor.requestShutdown()
        exitCode = supervisor.waitForExit(timeoutSeconds: seconds)
        return exitCode
    }

    deinit {
        if exitCode == nil { shutdown() }
        supervisor.close()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
}

/// The number of open descriptors of this process.
func openDescriptorCount() -> Int {
    (LocalFileSystem().listDirectory("/proc/self/fd") ?? []).count
}
