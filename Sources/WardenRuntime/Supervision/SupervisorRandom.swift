import CWardenShims
import WardenLinux

/// The kernel's randomness (`getrandom(2)`, what `SystemRandomNumberGenerator` reads),
/// fetched 256 bytes at a time. Every machine event draws a number (restart jitter) and
/// every run takes an invocation ID: one system call per number was six per restart
/// of a crash loop. Loop thread only, like the supervisor state that holds it.
struct BufferedSystemRandom: RandomNumberGenerator {
    private var words = [UInt64](repeating: 0, count: 32)
    private var used = 32

    mutating func next() -> UInt64 {
        if used == words.count {
            let filled = words.withUnsafeMutableBytes { buffer -> Bool in
                var offset = 0
                while offset < buffer.count {
                    let n = SystemCall.retryingInterrupts {
                        warden_getrandom(buffer.baseAddress! + offset, UInt(buffer.count - offset))
                    }
                    if n <= 0 { return false }
                    offset += Int(n)
                }
                return true
            }
            if !filled {
                // getrandom(2) does not fail on the kernels Warden supports; if it does,
                // the standard generator is the same source by another path.
                var system = SystemRandomNumberGenerator()
                for index in words.indices { words[index] = system.next() }
            }
            used = 0
        }
        defer { used += 1 }
        return words[used]
    }
}
