import Glibc
import WardenCore

/// Reads `/proc/PID/stat` into a reused buffer.
public struct ProcessStatReader {
    public static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    public static let pageBytes = UInt64(max(1, sysconf(Int32(_SC_PAGESIZE))))

    private var buffer = [UInt8](repeating: 0, count: 1024)
    let procRoot: String

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    /// `pid` nil reads `/proc/self/stat`.
    public mutating func read(pid: Int32?) -> ProcessStatFields? {
        let path = procRoot + "/" + (pid.map(String.init) ?? "self") + "/stat"
        guard let count = FileIO.read(path, into: &buffer) else { return nil }
        return buffer.withUnsafeBufferPointer { ProcessStatFields.parse(UnsafeBufferPointer(rebasing: $0[0..<count])) }
    }
}
