import Glibc
import WardenCore

/// Facts about Warden's own process and the machine it asks the C library for.
public enum ThisProcess {
    public static var pid: Int32 { getpid() }

    /// Effective user id 0.
    public static var isRoot: Bool { geteuid() == 0 }

    /// The environment this process was given or has set, one `NAME=value` each: what a
    /// helper command it starts inherits.
    public static var environment: [String] {
        var entries: [String] = []
        guard var entry = Optional(environ) else { return entries }
        while let text = entry.pointee {
            entries.append(String(cString: text))
            entry += 1
        }
        return entries
    }

    /// The working directory (`getcwd`), nil when it cannot be named (removed, or longer
    /// than PATH_MAX).
    public static var workingDirectory: String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return String(cString: buffer)
    }

    /// Bytes of a memory page.
    public static var pageSize: UInt64 { UInt64(max(1, sysconf(Int32(_SC_PAGESIZE)))) }

    /// CPUs online now (at least 1).
    public static var onlineCPUs: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Physical memory in bytes.
    public static var physicalMemoryBytes: UInt64 {
        UInt64(max(0, sysconf(Int32(_SC_PHYS_PAGES)))) * pageSize
    }

    /// Warden's own resource limits (`getrlimit`), by the unit-file key's kind; nil for
    /// an unlimited value. What a component's `Limit*=` can reach without
    /// CAP_SYS_RESOURCE is this hard limit.
    public static func resourceLimits() -> [ResourceLimitKind: ResourceLimit] {
        var limits: [ResourceLimitKind: ResourceLimit] = [:]
        for kind in ResourceLimitKind.allCases {
            var value = rlimit()
            guard getrlimit(__rlimit_resource_t(UInt32(kind.linuxResource)), &value) == 0 else { continue }
            func number(_ raw: rlim_t) -> UInt64? { raw == rlim_t.max ? nil : UInt64(raw) }
            limits[kind] = ResourceLimit(soft: number(value.rlim_cur), hard: number(value.rlim_max))
        }
        return limits
    }

    /// Writes a line to standard error at once, unbuffered (for errors before or after the
    /// logger, and from the command line).
    public static func writeStandardError(_ line: String) {
        StandardStreams.write(line + "\n", to: StandardStreams.error)
    }
}

/// Unbuffered writes to a descriptor: log lines go out whole and at once, with no buffer
/// to lose when the process is killed.
public enum StandardStreams {
    public static let error = STDERR_FILENO

    /// Writes all of `text` to `fd`; gives up silently on an error (a closed stderr must
    /// not stop the daemon).
    public static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = SystemCall.retryingInterrupts {
                bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            guard n > 0 else { return }
            offset += n
        }
    }
}
