import CWardenShims
import Dispatch
import Glibc
import WardenCore

/// `getaddrinfo` off the caller's thread: it may block for seconds on DNS, and neither the
/// event loop (a health probe) nor a deadline (a webhook) can wait that long. One detached
/// thread per lookup, with every signal blocked (signals belong to the loop's signalfd).
/// Lookups are rare (one per probe interval or alert, only for names that are neither
/// literals nor localhost), so a thread per lookup costs less than keeping a pool alive.
enum HostResolver {
    struct Failure: Error, Hashable, Sendable {
        var message: String
    }

    /// Starts the lookup; `done` runs once on the helper thread. Returns why the thread
    /// could not be started, or nil.
    static func resolve(
        _ host: String, port: UInt16, done: @escaping @Sendable (Result<[ProbeAddress], Failure>) -> Void
    ) -> String? {
        do {
            try SignalBlockedThread.start("resolver", detached: true) { done(lookUp(host, port: port)) }
            return nil
        } catch {
            return "cannot start the resolver thread: \(errnoDescription(error.errno))"
        }
    }

    /// The lookup on its thread, waited for until the monotonic clock reads `deadline`
    /// (microseconds; `.max` waits as long as it takes); nil when the deadline came first (the late answer is dropped).
    static func lookUp(
        _ host: String, port: UInt16, untilMonotonicMicroseconds deadline: UInt64
    ) -> Result<[ProbeAddress], Failure>? {
        let answer = Answer()
        if let why = resolve(host, port: port, done: { answer.set($0) }) { return .failure(Failure(message: why)) }
        let now = monotonicMicroseconds()
        let wait =
            deadline == .max ? DispatchTime.distantFuture : DispatchTime.now() + .microseconds(Int(clamping: deadline > now ? deadline - now : 0))
        guard answer.arrived.wait(timeout: wait) == .success else { return nil }
        return answer.get()
    }

    /// One lookup's answer, handed from the resolver thread to the thread waiting for it.
    private final class Answer: @unchecked Sendable {
        let arrived = DispatchSemaphore(value: 0)
        private let lock = PthreadLock()
        private var value: Result<[ProbeAddress], Failure>?

        func set(_ answer: Result<[ProbeAddress], Failure>) {
            lock.withLock { value = answer }
            arrived.signal()
        }

        func get() -> Result<[ProbeAddress], Failure>? { lock.withLock { value } }
    }

    /// The blocking lookup: every IPv4 and IPv6 stream address, in the resolver's order.
    static func lookUp(_ host: String, port: UInt16) -> Result<[ProbeAddress], Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0 else {
            let message = rc == EAI_SYSTEM ? errnoDescription(errno) : String(cString: gai_strerror(rc))
            return .failure(Failure(message: message))
        }
        defer { freeaddrinfo(list) }
        var found: [ProbeAddress] = []
        var entry = list
        while let current = entry {
            entry = current.pointee.ai_next
            guard let raw = current.pointee.ai_addr else { continue }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            var address: ProbeAddress?
            switch current.pointee.ai_family {
            case AF_INET:
                var sin = UnsafeRawPointer(raw).loadUnaligned(as: sockaddr_in.self)
                if inet_ntop(AF_INET, &sin.sin_addr, &text, socklen_t(text.count)) != nil {
                    address = ProbeAddress(family: .ipv4, host: Self.string(text), port: port)
                }
            case AF_INET6:
                var sin6 = UnsafeRawPointer(raw).loadUnaligned(as: sockaddr_in6.self)
                if inet_ntop(AF_INET6, &sin6.sin6_addr, &text, socklen_t(text.count)) != nil {
                    var numeric = Self.string(text)
                    if sin6.sin6_scope_id != 0 { numeric += "%\(sin6.sin6_scope_id)" }
                    address = ProbeAddress(family: .ipv6, host: numeric, port: port, scopeID: sin6.sin6_scope_id)
                }
            default:
                break
            }
            if let address, !found.contains(address) { found.append(address) }
        }
        return .success(found)
    }

    /// A NUL-terminated C buffer as a String.
    private static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
