import CSystemd
import Glibc
import Logging
import WardenCore

/// One journal field, `NAME=value`. Names are what journald accepts: `A-Z`, `0-9`, `_`,
/// not starting with a digit or `_` (leading `_` is for trusted fields journald adds),
/// at most 64 bytes. Values may hold newlines and any bytes.
public struct JournalField: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { name + "=" + value }

    /// Whether journald accepts `name` from a client (`journal_field_valid`).
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 64, first != UInt8(ascii: "_"),
            !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        else { return false }
        return bytes.allSatisfy {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
    }

    /// A metadata key as a field name: upper-cased, every other character `_`.
    static func sanitizedName(_ key: String) -> String {
        String(
            key.uppercased().map { character -> Character in
                character.isASCII && (character.isLetter || character.isNumber) ? character : "_"
            })
    }
}

/// The journal's native protocol through libsystemd.
public enum Journal {
    /// journald's native socket; its absence means nothing will receive entries.
    public static let socketPath = "/run/systemd/journal/socket"

    /// Whether journald's socket exists on this host.
    public static var isAvailable: Bool { access(socketPath, F_OK) == 0 }

    /// Sends one entry with `sd_journal_sendv`. Returns 0 on success (also when no
    /// journald listens: libsystemd drops the entry then), else `-errno`; `-ELIBACC`
    /// when libsystemd could not be loaded (`SystemdLibrary.loadError` says why).
    @discardableResult
    public static func send(_ fields: [JournalField]) -> Int32 {
        // One contiguous buffer and iovecs into it, so every pointer stays valid for
        // the call. sd_journal_sendv itself switches to the protocol's binary form for
        // values containing newlines.
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: field.value.utf8)
            ranges.append(start..<buffer.count)
        }
        return buffer.withUnsafeMutableBytes { raw -> Int32 in
            var vectors = ranges.map { range in
                iovec(iov_base: raw.baseAddress! + range.lowerBound, iov_len: range.count)
            }
            return warden_sd_journal_sendv(&vectors, Int32(vectors.count))
        }
    }
}

/// `$JOURNAL_STREAM`: systemd sets it to `DEVICE:INODE` of the stream it connected to a
/// service's stdout/stderr. If stderr is still that stream, the service should log
/// natively to the journal instead (`systemd.exec(5)`, "$JOURNAL_STREAM").
public enum JournalStream {
    /// The device and inode in `$JOURNAL_STREAM`'s format, nil when malformed.
    public static func parse(_ value: String) -> (device: UInt64, inode: UInt64)? {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }

    /// Whether `fd` is the stream `value` names (`fstat` device and inode).
    public static func matches(fd: Int32, value: String) -> Bool {
        guard let (device, inode) = parse(value) else { return false }
        var status = stat()
        guard fstat(fd, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// Whether this process's stderr goes to the journal: `$JOURNAL_STREAM` is set and
    /// matches fd 2. The runtime uses it to pick `JournalLogHandler` automatically.
    public static func stderrIsJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        return matches(fd: STDERR_FILENO, value: String(cString: value))
    }
}

/// A swift-log handler writing structured journal entries with `sd_journal_sendv`.
///
/// Every entry has `MESSAGE`, `PRIORITY` (syslog level from `Logger.Level`),
/// `SYSLOG_IDENTIFIER`, `CODE_FILE`, `CODE_LINE`, `CODE_FUNC` and `WARDEN_LOGGER` (the
/// logger's label). Metadata becomes fields:
///
/// | metadata key | field |
/// | --- | --- |
/// | `component` | `WARDEN_COMPONENT` |
/// | `event` | `WARDEN_EVENT` (started, exited, restarted, throttled, …) |
/// | `exit_code`, `exit_status` | `EXIT_CODE`, `EXIT_STATUS` (systemd's own names and values: see `ExitStatus.journalMetadata`) |
/// | `syslog_identifier` | `SYSLOG_IDENTIFIER` |
/// | a valid upper-case field name (`UNIT`, `ERRNO`, …) | itself |
/// | anything else, e.g. `order_id` | `WARDEN_ORDER_ID` |
///
/// `SYSLOG_IDENTIFIER` is the handler's identifier (`warden`), except for lines that
/// carry a `component` but no `event`: those are the component's own output, forwarded
/// by Warden, and are sent under the component's name without its `.service` suffix,
/// so `journalctl -t order-executor` shows what the executor printed. Warden's events
/// about a component stay under `warden` and link to it by `WARDEN_COMPONENT=`, as
/// systemd's "Started …" lines stay under `systemd` (`journalctl WARDEN_COMPONENT=…`
/// shows both). An explicit `syslog_identifier` wins over both.
public struct JournalLogHandler: LogHandler {
    /// Where entries go: journald by default, a closure in tests.
    public struct Sink: Sendable {
        public let send: @Sendable ([JournalField]) -> Void

        public init(_ send: @escaping @Sendable ([JournalField]) -> Void) { self.send = send }

        /// `sd_journal_sendv`; when it fails, the message goes to stderr with its
        /// `<priority>` prefix, so it is not lost. Without libsystemd, stderr says so
        /// once, before the first such line.
        public static let journald = Sink { fields in
            let result = Journal.send(fields)
            if result == -ELIBACC { _ = missingLibraryNotice }
            if result < 0 {
                let priority = fields.first { $0.name == "PRIORITY" }?.value ?? "6"
                let message = fields.first { $0.name == "MESSAGE" }?.value ?? ""
                let line = "<\(priority)>" + message + "\n"
                _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            }
        }
    }

    /// Written once (a global's initialiser runs once, thread-safely) on the first entry
    /// that could not be sent for want of libsystemd.
    private static let missingLibraryNotice: Void = {
        let reason = SystemdLibrary.loadError ?? "libsystemd.so.0 is not loaded"
        let line = "warden: journal logging unavailable (\(reason)); logging to stderr\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    }()

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// The logger's label, sent as `WARDEN_LOGGER`.
    public let label: String
    /// `SYSLOG_IDENTIFIER` for Warden's own messages.
    public let identifier: String
    private let sink: Sink

    public init(
        label: String, identifier: String = "warden", metadataProvider: Logger.MetadataProvider? = nil,
        sink: Sink = .journald
    ) {
        self.label = label
        self.identifier = identifier
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var fields = Self.fields(
            level: event.level, message: event.message.description, metadata: merged, identifier: identifier,
            label: label, file: event.file, function: event.function, line: event.line)
        if let error = event.error { fields.append(JournalField("WARDEN_ERROR", "\(error)")) }
        sink.send(fields)
    }

    /// syslog priority for a swift-log level (`trace` has no syslog level below debug).
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The identifier a component's output is sent under: its unit name without a
    /// `.service` suffix (`order-executor.service` → `order-executor`).
    public static func identifier(forComponent component: String) -> String {
        component.hasSuffix(".service") ? String(component.dropLast(".service".count)) : component
    }

    /// The entry for one log call; pure, so the mapping is tested without journald.
    public static func fields(
        level: Logger.Level, message: String, metadata: Logger.Metadata, identifier: String, label: String,
        file: String, function: String, line: UInt
    ) -> [JournalField] {
        var syslogIdentifier = identifier
        if let component = metadata["component"], metadata["event"] == nil {
            syslogIdentifier = Self.identifier(forComponent: component.description)
        }
        if let explicit = metadata["syslog_identifier"] { syslogIdentifier = explicit.description }
        var fields = [
            JournalField("MESSAGE", message),
            JournalField("PRIORITY", String(priority(level))),
            JournalField("SYSLOG_IDENTIFIER", syslogIdentifier),
            JournalField("CODE_FILE", file),
            JournalField("CODE_LINE", String(line)),
            JournalField("CODE_FUNC", function),
            JournalField("WARDEN_LOGGER", label),
        ]
        let reserved: Set<String> = ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC"]
        for key in metadata.keys.sorted() {
            let value = metadata[key]!.description
            let name: String
            switch key {
            case "syslog_identifier": continue
            case "component": name = "WARDEN_COMPONENT"
            case "event": name = "WARDEN_EVENT"
            case "exit_code": name = "EXIT_CODE"
            case "exit_status": name = "EXIT_STATUS"
            default:
                if JournalField.isValidName(key) {
                    guard !reserved.contains(key) else { continue }
                    name = key
                } else {
                    name = "WARDEN_" + JournalField.sanitizedName(key)
                    guard JournalField.isValidName(name) else { continue }
                }
            }
            fields.append(JournalField(name, value))
        }
        return fields
    }
}

extension ExitStatus {
    /// `exit_code` and `exit_status` metadata with systemd's values, as in its own
    /// "Main process exited" entries: `exited` + the code, or `killed`/`dumped` + the
    /// signal's name without `SIG` (`TERM`, `SEGV`).
    public var journalMetadata: Logger.Metadata {
        switch self {
        case .exited(let code):
            return ["exit_code": "exited", "exit_status": "\(code)"]
        case .killed(let signal, let coreDumped):
            return ["exit_code": coreDumped ? "dumped" : "killed", "exit_status": "\(Self.signalName(signal))"]
        case .unknown:
            return ["exit_code": "unknown"]
        }
    }

    /// `TERM` for 15, `RTMIN+3`; systemd's `signal_to_string()` without `SIG`.
    static func signalName(_ signal: Int32) -> String {
        let name = SignalNumber(rawValue: signal).name
        return name.hasPrefix("SIG") ? String(name.dropFirst(3)) : name
    }
}
