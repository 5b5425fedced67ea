// Small adaptors between the value parsers and the model's key tables.

/// Turns a parser that returns nil for an empty value (systemd's reset) into one for
/// non-empty text; the key table handles the empty value itself before parsing.
func nonEmpty<T>(
    _ parse: @escaping @Sendable (String) -> Result<T?, ValueError>
) -> @Sendable (String) -> Result<T, ValueError> {
    { text in
        parse(text).flatMap { value in
            value.map { .success($0) } ?? .failure(ValueError("'\(text)' is empty; expected a value"))
        }
    }
}

func parseUserOrGroup(_ text: String) -> Result<String, ValueError> {
    UserGroupName.parse(text).map(\.description)
}

extension ServiceConfig {
    mutating func foldCapabilities(
        _ entry: UnitEntry, key: CapabilityKey, into field: WritableKeyPath<ServiceConfig, CapabilitySet?>,
        _ diagnostics: inout [Diagnostic]
    ) {
        if !entry.value.isEmpty, case .failure(let error) = CapabilityAssignment.parse(entry.value) {
            diagnostics.append(.error(entry.location, key: entry.key, error.message))
            return
        }
        capabilityAssignments[key, default: []].append(entry.value)
        switch CapabilitySet.fold(capabilityAssignments[key]!, key: key) {
        case .success(let set): self[keyPath: field] = set
        case .failure(let error): diagnostics.append(.error(entry.location, key: entry.key, error.message))
        }
    }
}

extension ResourceLimitKind {
    /// The kernel's name, `RLIMIT_NOFILE`.
    public var linuxName: String {
        switch self {
        case .cpu: "RLIMIT_CPU"
        case .fileSize: "RLIMIT_FSIZE"
        case .data: "RLIMIT_DATA"
        case .stack: "RLIMIT_STACK"
        case .core: "RLIMIT_CORE"
        case .residentSet: "RLIMIT_RSS"
        case .openFiles: "RLIMIT_NOFILE"
        case .addressSpace: "RLIMIT_AS"
        case .processes: "RLIMIT_NPROC"
        case .lockedMemory: "RLIMIT_MEMLOCK"
        case .fileLocks: "RLIMIT_LOCKS"
        case .pendingSignals: "RLIMIT_SIGPENDING"
        case .messageQueue: "RLIMIT_MSGQUEUE"
        case .nice: "RLIMIT_NICE"
        case .realtimePriority: "RLIMIT_RTPRIO"
        case .realtimeTime: "RLIMIT_RTTIME"
        }
    }

    var syntaxNote: String {
        switch syntax {
        case .bytes: "; sizes with K/M/G suffixes"
        case .count: ""
        case .seconds: "; a time span in seconds"
        case .microseconds: "; a time span in microseconds"
        case .nice: "; +N/-N nice level or raw 0…40"
        }
    }
}

extension MemoryLimit {
    /// Bytes for comparing two limits; nil when a percentage cannot be resolved without
    /// knowing the machine, `UInt64.max` for infinity.
    func comparableBytes(on host: HostFacts?) -> UInt64? {
        switch resolved(on: host) {
        case .value(let bytes): bytes
        case .unlimited: .max
        case nil: nil
        }
    }
}

extension CapabilitySet {
    public func isSubset(of other: CapabilitySet) -> Bool { bits & ~other.bits == 0 }
    public func subtracting(_ other: CapabilitySet) -> CapabilitySet { CapabilitySet(bits: bits & ~other.bits) }
}
