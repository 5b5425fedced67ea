import CTLS
import Glibc

/// A TLS client session over a connected non-blocking socket, through OpenSSL's libssl
/// loaded at the first use (`CTLS`, whose header says why libssl and not libcurl).
/// Certificates are verified, against the system's CA store or `caFile`, and must name
/// the host. The socket stays the caller's to close.
final class TLSSession {
    private let session: OpaquePointer

    /// Throws why no session could be made: libssl missing (naming the Debian package to
    /// install), an unreadable CA file.
    init(fd: Int32, host: String, caFile: String?) throws(Failure) {
        var error = [CChar](repeating: 0, count: 512)
        guard let made = warden_tls_open(fd, host, caFile, &error, error.count) else { throw Failure(Self.text(error)) }
        session = made
    }

    deinit { warden_tls_close(session) }

    struct Failure: Error, Hashable, Sendable {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// One step of the handshake: `.sent(0)` once it is done.
    func handshake() -> StreamTransfer {
        var error = [CChar](repeating: 0, count: 512)
        let result = warden_tls_handshake(session, &error, error.count)
        return result == 0 ? .sent(0) : Self.transfer(Int(result), error)
    }

    func send(_ bytes: ArraySlice<UInt8>) -> StreamTransfer {
        var error = [CChar](repeating: 0, count: 512)
        let result = bytes.withUnsafeBytes { warden_tls_write(session, $0.baseAddress, $0.count, &error, error.count) }
        return result > 0 ? .sent(result) : Self.transfer(result, error)
    }

    func receive(upTo count: Int) -> StreamTransfer {
        var error = [CChar](repeating: 0, count: 512)
        var buffer = [UInt8](repeating: 0, count: max(1, count))
        let result = buffer.withUnsafeMutableBytes { warden_tls_read(session, $0.baseAddress, count, &error, error.count) }
        return result > 0 ? .received(Array(buffer[0..<result])) : Self.transfer(result, error)
    }

    private static func transfer(_ result: Int, _ error: [CChar]) -> StreamTransfer {
        switch result {
        case Int(WARDEN_TLS_WANT_READ): .wait(Int16(POLLIN))
        case Int(WARDEN_TLS_WANT_WRITE): .wait(Int16(POLLOUT))
        case Int(WARDEN_TLS_CLOSED): .closed
        default: .failed(text(error))
        }
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
