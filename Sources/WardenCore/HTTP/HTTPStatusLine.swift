/// Finds the final status code at the start of an HTTP/1.x answer. Interim 1xx answers
/// (`103 Early Hints`; `100 Continue` from servers that send it unasked) are skipped with
/// their header block; `101` is final (a probe never asks to switch protocols).
public enum HTTPStatusLine {
    public enum Scan: Hashable, Sendable {
        case needMore
        case status(Int)
        /// The offending line, quoted and cut short for a log message.
        case malformed(String)
    }

    private static let prefix = Array("HTTP/".utf8)

    public static func scan(_ bytes: [UInt8]) -> Scan {
        var start = 0
        while true {
            // Reject an answer that is not HTTP as soon as its first bytes show it.
            let available = min(prefix.count, bytes.count - start)
            if available > 0 && bytes[start..<start + available].elementsEqual(prefix[0..<available]) == false {
                return .malformed(quote(bytes[start...]))
            }
            guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { return .needMore }
            var line = bytes[start..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            guard let code = statusCode(line) else { return .malformed(quote(line)) }
            guard (100...199).contains(code) && code != 101 else { return .status(code) }
            // Skip the interim answer's headers up to and including the empty line.
            var cursor = newline + 1
            while true {
                guard let end = bytes[cursor...].firstIndex(of: UInt8(ascii: "\n")) else { return .needMore }
                let header = bytes[cursor..<end]
                cursor = end + 1
                if header.isEmpty || header.elementsEqual([UInt8(ascii: "\r")]) { break }
            }
            start = cursor
            if start == bytes.count { return .needMore }
        }
    }

    /// `HTTP/1.1 200 OK` → 200; `HTTP/1.0 503` → 503; nil for anything else.
    public static func statusCode(_ line: ArraySlice<UInt8>) -> Int? {
        guard line.starts(with: prefix) else { return nil }
        var index = line.startIndex + prefix.count
        // Version: digits and dots (1.1, 1.0).
        let versionStart = index
        while index < line.endIndex, line[index] == UInt8(ascii: ".") || (48...57).contains(line[index]) { index += 1 }
        guard index > versionStart, index < line.endIndex, line[index] == UInt8(ascii: " ") else { return nil }
        index += 1
        guard line.endIndex - index >= 3 else { return nil }
        var code = 0
        for digit in line[index..<index + 3] {
            guard (48...57).contains(digit) else { return nil }
            code = code * 10 + Int(digit - 48)
        }
        index += 3
        guard index == line.endIndex || line[index] == UInt8(ascii: " ") else { return nil }
        return (100...599).contains(code) ? code : nil
    }

    /// The bytes as a quoted, printable string of at most 60 characters.
    public static func quote(_ bytes: ArraySlice<UInt8>) -> String {
        var text = ""
        for byte in bytes.prefix(60) {
            switch byte {
            case 0x20...0x7E where byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "'"):
                text.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "\r"): text += "\\r"
            case UInt8(ascii: "\n"): text += "\\n"
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return "'\(text)'" + (bytes.count > 60 ? "…" : "")
    }
}
