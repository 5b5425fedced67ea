import WardenCore

/// The JSON coding of control lines, with Warden's own small JSON coder
/// (`JSONWriter`, `JSONReader`) rather than Foundation's: the daemon links no Foundation
/// at all. The protocol types themselves are pure and live in WardenCore.
public enum ControlCodec {
    /// One request line (without the newline) → request, or the error to answer.
    public static func decodeRequest(_ line: [UInt8]) -> Result<ControlRequest, ControlError> {
        do {
            return .success(try JSONReader().decode(ControlRequest.self, from: line))
        } catch {
            return .failure(ControlError(.malformed, "not a control request: \(describe(error))"))
        }
    }

    /// A response as one line, `\n` included. Sorted keys: the same answer is the same
    /// bytes, which golden tests and diffing operators rely on.
    public static func encodeLine<T: Encodable>(_ value: T) -> [UInt8] {
        let writer = JSONWriter()
        do {
            var bytes = try writer.encode(value)
            bytes.append(UInt8(ascii: "\n"))
            return bytes
        } catch {
            // Only non-finite doubles fail to encode; say so instead of a broken line.
            let fallback = ControlResponse.failure(id: nil, ControlError(.unavailable, "answer could not be encoded: \(error)"))
            return (try? writer.encode(fallback) + [UInt8(ascii: "\n")]) ?? Array("{}\n".utf8)
        }
    }

    public static func decodeResponse(_ line: [UInt8]) -> Result<ControlResponse, ControlError> {
        do {
            return .success(try JSONReader().decode(ControlResponse.self, from: line))
        } catch {
            return .failure(ControlError(.malformed, "the daemon's answer is not a control response: \(describe(error))"))
        }
    }

    /// The decoder's complaint in one line, without Swift's debug dump.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        case DecodingError.dataCorrupted(let context):
            context.codingPath.isEmpty ? "invalid JSON" : "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' is invalid"
        default: "\(error)"
        }
    }
}
