import Testing
import WardenCore

@Suite struct HTTPStatusLineTests {
    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\n", HTTPStatusLine.Scan.status(200)),
        ("HTTP/1.1 200\n", .status(200)),
        ("HTTP/1.0 301 Moved\r\n", .status(301)),
        ("HTTP/1.1 200 O", .needMore),
        ("HTT", .needMore),
        ("", .needMore),
        ("HTTP/1.1 100 Continue\r\n\r\n", .needMore),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n", .status(204)),
        ("HTTP/1.1 101 Switching Protocols\r\n", .status(101)),
        ("HTTP/1.1 103 Early Hints\r\nLink: x\r\n", .needMore),
        ("HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 502 Bad\r\n", .status(502)),
        ("HTTP/1.1 600 Nope\r\n", .malformed("'HTTP/1.1 600 Nope'")),
        ("HTTP/1.1 2000 OK\r\n", .malformed("'HTTP/1.1 2000 OK'")),
        ("HTTP/ 200\r\n", .malformed("'HTTP/ 200'")),
        ("http/1.1 200 OK\r\n", .malformed("'http/1.1 200 OK\\r\\n'")),
        ("<html>", .malformed("'<html>'")),
        ("HTTP/1.1 100 Continue\r\n\r\n<html>", .malformed("'<html>'")),
    ])
    func scan(text: String, expected: HTTPStatusLine.Scan) {
        #expect(HTTPStatusLine.scan(Array(text.utf8)) == expected)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK", 200),
        ("HTTP/1.0 503", 503),
        ("HTTP/2 404 Not Found", 404),
        ("HTTP/1.1 099 Low", nil),
        ("HTTP/1.1 20", nil),
        ("HTTP/1.1 20x", nil),
        ("HTTP/1.1  200", nil),
        ("HTTP/1.1 2001", nil),
        ("HTTP/x 200", nil),
        ("ICY 200 OK", nil),
    ] as [(String, Int?)])
    func statusCode(line: String, code: Int?) {
        #expect(HTTPStatusLine.statusCode(Array(line.utf8)[...]) == code)
    }

    @Test(arguments: [
        ("plain", "'plain'"),
        ("a\r\nb", "'a\\r\\nb'"),
        ("\u{1}\u{7f}", "'\\x01\\x7f'"),
        ("it's \\", "'it\\x27s \\x5c'"),
        (String(repeating: "x", count: 61), "'" + String(repeating: "x", count: 60) + "'…"),
    ])
    func quote(bytes: String, quoted: String) {
        #expect(HTTPStatusLine.quote(Array(bytes.utf8)[...]) == quoted)
    }
}
