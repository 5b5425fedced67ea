import Glibc

// Every line goes out with one write(2), unbuffered: the supervisor tags and
// timestamps lines as they arrive, so a line held back in a stdio buffer would be
// stamped late, and a line cut in half by a buffer boundary would be tagged twice.

/// Writes one line to standard output.
func say(_ line: String) {
    writeLine(line, to: STDOUT_FILENO)
}

/// Writes one line to standard error (usage errors, failed notifications).
func complain(_ line: String) {
    writeLine(line, to: STDERR_FILENO)
}

private func writeLine(_ line: String, to fd: Int32) {
    var bytes = Array(line.utf8)
    bytes.append(UInt8(ascii: "\n"))
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { buffer in
            write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        }
        if written < 0 {
            // A closed pipe (EPIPE, SIGPIPE is ignored) or a full disk: the demo keeps
            // running; losing its chatter is harmless.
            if errno == EINTR { continue }
            return
        }
        offset += written
    }
}

/// `x` with exactly `decimals` digits after the point ("43125.50"), without Foundation.
func fixed(_ x: Double, decimals: Int) -> String {
    guard x.isFinite else { return String(x) }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int64((abs(x) * scale).rounded())
    let divisor = Int64(scale)
    let whole = scaled / divisor
    var text = (x < 0 && scaled != 0 ? "-" : "") + String(whole)
    if decimals > 0 {
        let fraction = String(scaled % divisor)
        text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
    return text
}

/// The text of an errno value, for error lines.
func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code)) + " (errno \(code))"
}
