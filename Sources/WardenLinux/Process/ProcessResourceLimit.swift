import Glibc

/// One `setrlimit(2)` call. `UInt64.max` is `RLIM_INFINITY`.
public struct ProcessResourceLimit: Hashable, Sendable {
    /// `RLIMIT_*` number (see `ProcessResourceLimit.name(of:)`).
    public var resource: Int32
    public var soft: UInt64
    public var hard: UInt64

    public init(resource: Int32, soft: UInt64, hard: UInt64) {
        self.resource = resource
        self.soft = soft
        self.hard = hard
    }

    /// The kernel's name for a resource number (`RLIMIT_NOFILE`), for error messages.
    public static func name(of resource: Int32) -> String {
        let names = [
            "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
            "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
            "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
            "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
        ]
        return resource >= 0 && Int(resource) < names.count ? names[Int(resource)] : "RLIMIT_\(resource)"
    }
}
