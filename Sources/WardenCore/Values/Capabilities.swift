// Linux capabilities and systemd's CapabilityBoundingSet= / AmbientCapabilities=
// list syntax (systemd.exec(5), `config_parse_capability_set()`).

/// A set of Linux capabilities as a bit mask (bit N = capability N).
public struct CapabilitySet: Hashable, Sendable, CustomStringConvertible {
    public var bits: UInt64

    public init(bits: UInt64) { self.bits = bits }

    /// The names of the capabilities Linux defines (6.x), indexed by number:
    /// `CAP_CHOWN` = 0 … `CAP_CHECKPOINT_RESTORE` = 40.
    public static let names: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
        "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ]

    /// systemd's `CAP_LIMIT`: the highest capability number a 64-bit mask can hold
    /// while keeping one bit free.
    public static let highestNumber = 62

    /// Every capability 0…62 (systemd's `CAP_MASK_ALL`), the known ones and those a
    /// newer kernel may add. Apply with `effectiveBits(lastCapability:)`.
    public static let all = CapabilitySet(bits: (UInt64(1) << 63) - 1)
    public static let empty = CapabilitySet(bits: 0)

    public init(_ numbers: [Int]) {
        bits = numbers.reduce(0) { $0 | (UInt64(1) << UInt64($1)) }
    }

    public func contains(_ number: Int) -> Bool { number >= 0 && number < 64 && bits & (UInt64(1) << UInt64(number)) != 0 }

    /// The capability numbers in the set, ascending.
    public var numbers: [Int] { (0...Self.highestNumber).filter { contains($0) } }

    /// The mask restricted to what the running kernel knows (`/proc/sys/kernel/cap_last_cap`).
    public func effectiveBits(lastCapability: Int) -> UInt64 {
        lastCapability >= 63 ? bits : bits & ((UInt64(1) << UInt64(lastCapability + 1)) - 1)
    }

    /// The number for a name such as `CAP_KILL` (ASCII case-insensitive, so
    /// `cap_kill` too), or a number 0…62, as systemd's `capability_from_name()`.
    public static func number(named name: String) -> Int? {
        if let n = ValueSyntax.signed(name) { return n >= 0 && n <= Int64(highestNumber) ? Int(n) : nil }
        return names.firstIndex(of: name.uppercased())
    }

    /// Space-separated names, `CAP_CHOWN CAP_KILL`. A set holding every unknown
    /// capability number (as `~…` assignments give) is written as the inversion of
    /// what it lacks: `~CAP_SYS_ADMIN`, and `~` for everything. Both forms parse back
    /// to the same set.
    public var description: String {
        let unknownBits = Self.all.bits & ~CapabilitySet(Array(0..<Self.names.count)).bits
        if bits & unknownBits == unknownBits {
            let missing = (0..<Self.names.count).filter { !contains($0) }.map { Self.names[$0] }
            return "~" + missing.joined(separator: " ")
        }
        return numbers.map { $0 < Self.names.count ? Self.names[$0] : String($0) }.joined(separator: " ")
    }
}

/// One `CapabilityBoundingSet=` / `AmbientCapabilities=` line.
public struct CapabilityAssignment: Hashable, Sendable {
    /// The listed capabilities (already inverted for a `~` line).
    public var set: CapabilitySet

    public init(set: CapabilitySet) { self.set = set }

    static let expectation =
        "capability names separated by spaces such as CAP_NET_BIND_SERVICE CAP_KILL, optionally preceded by ~ to invert"

    /// Parses one line: names (or numbers) separated by whitespace; a leading `~`
    /// inverts the list; empty is the empty set. Unlike systemd, which skips an
    /// unknown name with a debug message, an unknown name is an error here, so a
    /// typo cannot silently widen or narrow a set.
    public static func parse(_ text: String) -> Result<CapabilityAssignment, ValueError> {
        var body = Substring(text)
        let inverted = body.first == "~"
        if inverted { body = body.dropFirst() }
        var bits: UInt64 = 0
        for word in ValueSyntax.words(String(body)) {
            guard let n = CapabilitySet.number(named: word) else {
                return .failure(ValueError("'\(word)' in '\(text)' is not a capability; expected \(expectation)"))
            }
            bits |= UInt64(1) << UInt64(n)
        }
        return .success(CapabilityAssignment(set: CapabilitySet(bits: inverted ? CapabilitySet.all.bits & ~bits : bits)))
    }
}

/// Which capability key a sequence of assignments is for.
public enum CapabilityKey: String, CaseIterable, Hashable, Sendable {
    case boundingSet = "CapabilityBoundingSet"
    case ambient = "AmbientCapabilities"

    /// The value before any assignment: every capability for the bounding set,
    /// none for the ambient set.
    public var initial: CapabilitySet { self == .boundingSet ? .all : .empty }
}

extension CapabilitySet {
    /// The value after all of a unit's assignments of `key`, combined as systemd
    /// does: an assignment that yields the empty set (`""`, or `~` with every
    /// capability listed), or the first one while the value is still the initial
    /// one, replaces it; later ones are added (OR) to it. So
    /// `CapabilityBoundingSet=CAP_A` then `=CAP_B` gives `CAP_A CAP_B`, and an empty
    /// line starts again from nothing.
    public static func fold(_ lines: [String], key: CapabilityKey) -> Result<CapabilitySet, ValueError> {
        var current = key.initial
        for line in lines {
            switch CapabilityAssignment.parse(line) {
            case .failure(let e): return .failure(e)
            case .success(let a):
                if a.set.bits == 0 || current == key.initial {
                    current = a.set
                } else {
                    current.bits |= a.set.bits
                }
            }
        }
        return .success(current)
    }
}
