// libFuzzer targets for the parsers that take bytes from outside: unit files and the
// loader (anyone who may write a unit directory), control request lines (every local
// client of the control socket), sd_notify datagrams (every local user: the notify
// socket is 0666) and HTTP request heads (whoever reaches the metrics listener).
//
// Built by scripts/fuzz with `-sanitize=fuzzer` against a WardenCore compiled with the
// same coverage; `WARDEN_FUZZ_TARGET` picks the target. Every input must parse or be
// refused without a crash, and in time linear in its size: scripts/fuzz runs libFuzzer
// with `-timeout=`, so a quadratic path on a large input fails the run.
import WardenCore

enum FuzzTarget: String, CaseIterable {
    case unitFile = "unit-file"
    case controlRequest = "control-request"
    case notifyMessage = "notify-message"
    case httpHead = "http-head"
}

let selected: FuzzTarget = {
    guard let name = getEnvironment("WARDEN_FUZZ_TARGET"), let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        fatalError("WARDEN_FUZZ_TARGET must name one of: \(names)")
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch selected {
    case .unitFile: unitFile(bytes)
    case .controlRequest: controlRequest(bytes)
    case .notifyMessage: notifyMessage(bytes)
    case .httpHead: httpHead(bytes)
    }
    return 0
}

/// The parser, then the whole loader over a directory holding the input as a unit, a
/// drop-in of it and warden.conf: every diagnostic must point into the file it names.
func unitFile(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    // Lines as the parser counts them: ended by LF bytes (a String's "\r\n" is one
    // Character, so splitting on "\n" would count fewer).
    let utf8 = Array(text.utf8)
    let lines = utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } + (utf8.last.map { $0 == 0x0A ? 0 : 1 } ?? 0)
    let (_, diagnostics) = UnitFileParser.parse(text: text, file: "f.service")
    for diagnostic in diagnostics where diagnostic.location.line > lines {
        fatalError("diagnostic past the end: \(diagnostic)")
    }
    let files = [
        "/u/warden.conf": "[Warden]\nUnitDirectories=/u\n",
        "/u/a.service": text,
        "/u/b.service": "[Service]\nExecStart=/bin/true\n",
        "/u/b.service.d/10.conf": text,
    ]
    let loader = ConfigurationLoader(
        fileSystem: InMemoryFileSystem(files: files, executables: ["/bin/true", "/bin/sleep"]),
        specifiers: SpecifierContext(hostname: "fuzz"))
    let result = loader.load(configPath: "/u/warden.conf")
    for diagnostic in result.diagnostics {
        if diagnostic.key.map({ $0.utf8.count > Diagnostic.longestKey }) == true
            || diagnostic.message.utf8.count > Diagnostic.longestMessage
        {
            fatalError("an unbounded diagnostic: \(diagnostic.description.prefix(200))")
        }
    }
}

func controlRequest(_ bytes: [UInt8]) {
    if case .success(let request) = ControlCodec.decodeRequest(bytes) {
        // What decodes must encode and decode to the same request.
        var line = ControlCodec.encodeLine(request)
        line.removeLast()
        guard case .success(let again) = ControlCodec.decodeRequest(line), again == request else {
            fatalError("a request does not survive its own encoding")
        }
    }
}

func notifyMessage(_ bytes: [UInt8]) {
    _ = try? NotifyMessage(parsing: bytes)
}

func httpHead(_ bytes: [UInt8]) {
    if let end = HTTPRequestHead.endOfHead(bytes) {
        guard end <= bytes.count else { fatalError("the head ends past the input") }
        _ = HTTPRequestHead.route(Array(bytes[0..<end]))
    }
    _ = HTTPRequestHead.route(bytes)
}
