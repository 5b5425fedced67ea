// A small JSON encoder for `Encodable` values, so the daemon does not link
// FoundationEssentials (about 1 MB of Warden's PSS, most of it relocated data that is
// private to the process) for the control socket alone.
//
// It writes exactly what FoundationEssentials' `JSONEncoder` writes with
// `[.sortedKeys, .withoutEscapingSlashes]` (and `.prettyPrinted` when asked): keys in
// UTF-8 byte order, a floating-point number as its Swift `description` without a
// trailing `.0`, control characters as `\b \t \n \f \r` or `\u00xx`, everything else as
// UTF-8. Operators' scripts and the golden tests see the same bytes as before;
// `JSONCodingTests` compares the two encoders on the protocol's own types.

/// Encodes `Encodable` values as JSON with sorted keys and unescaped slashes.
public struct JSONWriter: Sendable {
    /// Indented output, as `JSONEncoder`'s `.prettyPrinted`: two spaces per level and
    /// `"key" : value`.
    public var prettyPrinted: Bool

    public init(prettyPrinted: Bool = false) {
        self.prettyPrinted = prettyPrinted
    }

    /// The JSON text of `value`, without a trailing newline. Throws
    /// `EncodingError.invalidValue` for a non-finite floating-point number, which JSON
    /// cannot carry.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let root = EncodedNode()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(root, into: &output, depth: 0)
        return output
    }

    private func write(_ node: EncodedNode, into output: inout [UInt8], depth: Int) {
        switch node.content {
        case .scalar(let bytes):
            output += bytes
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            if prettyPrinted {
                output.append(UInt8(ascii: "\n"))
                for (i, element) in elements.enumerated() {
                    if i > 0 { output += [UInt8(ascii: ","), UInt8(ascii: "\n")] }
                    indent(&output, depth + 1)
                    write(element, into: &output, depth: depth + 1)
                }
                output.append(UInt8(ascii: "\n"))
                indent(&output, depth)
            } else {
                for (i, element) in elements.enumerated() {
                    if i > 0 { output.append(UInt8(ascii: ",")) }
                    write(element, into: &output, depth: depth + 1)
                }
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            // JSONEncoder's `.sortedKeys` orders by the keys' UTF-8 bytes.
            let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            if prettyPrinted { output.append(UInt8(ascii: "\n")) }
            for (i, member) in sorted.enumerated() {
                if i > 0 {
                    output.append(UInt8(ascii: ","))
                    if prettyPrinted { output.append(UInt8(ascii: "\n")) }
                }
                if prettyPrinted { indent(&output, depth + 1) }
                JSONWriter.appendString(member.key, to: &output)
                if prettyPrinted {
                    output += [UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: " ")]
                } else {
                    output.append(UInt8(ascii: ":"))
                }
                write(member.value, into: &output, depth: depth + 1)
            }
            if prettyPrinted {
                output.append(UInt8(ascii: "\n"))
                indent(&output, depth)
            }
            output.append(UInt8(ascii: "}"))
        case .empty:
            // A value that encoded nothing: JSONEncoder writes an empty object.
            output += prettyPrinted ? Array("{\n\n".utf8) : Array("{".utf8)
            if prettyPrinted { indent(&output, depth) }
            output.append(UInt8(ascii: "}"))
        }
    }

    private func indent(_ output: inout [UInt8], _ depth: Int) {
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    static func appendString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: output += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x09: output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0A: output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0C: output += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0D: output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output += Array("\\u00".utf8)
                output += [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    static func number<F: BinaryFloatingPoint & CustomStringConvertible>(_ value: F, _ codingPath: [any CodingKey])
        throws -> [UInt8]
    {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, EncodingError.Context(codingPath: codingPath, debugDescription: "\(value) is not valid in JSON"))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return Array(text.utf8)
    }
}

/// One value being built: containers hand out child nodes and fill them later, so the
/// tree is made of references.
final class EncodedNode {
    enum Content {
        case empty
        case scalar([UInt8])
        case array([EncodedNode])
        case object([String: EncodedNode])
    }
    var content: Content = .empty

    func member(_ key: String) -> EncodedNode {
        let child = EncodedNode()
        if case .object(var members) = content {
            content = .empty  // keeps `members` uniquely referenced while it grows
            members[key] = child
            content = .object(members)
        } else {
            content = .object([key: child])
        }
        return child
    }

    func appendElement() -> EncodedNode {
        let child = EncodedNode()
        if case .array(var elements) = content {
            content = .empty
            elements.append(child)
            content = .array(elements)
        } else {
            content = .array([child])
        }
        return child
    }

    func makeObject() {
        if case .object = content { return }
        content = .object([:])
    }

    func makeArray() {
        if case .array = content { return }
        content = .array([])
    }
}

struct NodeEncoder: Encoder {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedNodeEncoder<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedNodeEncoder(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueNodeEncoder(node: node, codingPath: codingPath)
    }
}

/// What an encoder writes for one scalar, shared by the three containers.
enum ScalarEncoding {
    static func bool(_ value: Bool) -> [UInt8] { Array((value ? "true" : "false").utf8) }
    static func string(_ value: String) -> [UInt8] {
        var bytes: [UInt8] = []
        JSONWriter.appendString(value, to: &bytes)
        return bytes
    }
    static func integer<I: BinaryInteger>(_ value: I) -> [UInt8] { Array(String(value).utf8) }
}

struct KeyedNodeEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodedNode
    let codingPath: [any CodingKey]

    private func set(_ bytes: [UInt8], _ key: Key) { node.member(key.stringValue).content = .scalar(bytes) }

    mutating func encodeNil(forKey key: Key) throws { set(Array("null".utf8), key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(ScalarEncoding.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(ScalarEncoding.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try JSONWriter.number(value, codingPath + [key]), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(try JSONWriter.number(value, codingPath + [key]), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(ScalarEncoding.integer(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try value.encode(to: NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = node.member(key.stringValue)
        child.makeObject()
        return KeyedEncodingContainer(KeyedNodeEncoder<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.member(key.stringValue)
        child.makeArray()
        return UnkeyedNodeEncoder(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.member("super"), codingPath: codingPath + [JSONKey("super")])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
    }
}

struct UnkeyedNodeEncoder: UnkeyedEncodingContainer {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    var count: Int {
        if case .array(let elements) = node.content { return elements.count }
        return 0
    }

    private func append(_ bytes: [UInt8]) { node.appendElement().content = .scalar(bytes) }
    private var nextKey: JSONKey { JSONKey(index: count) }

    mutating func encodeNil() throws { append(Array("null".utf8)) }
    mutating func encode(_ value: Bool) throws { append(ScalarEncoding.bool(value)) }
    mutating func encode(_ value: String) throws { append(ScalarEncoding.string(value)) }
    mutating func encode(_ value: Double) throws { append(try JSONWriter.number(value, codingPath + [nextKey])) }
    mutating func encode(_ value: Float) throws { append(try JSONWriter.number(value, codingPath + [nextKey])) }
    mutating func encode(_ value: Int) throws { append(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: Int8) throws { append(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: Int16) throws { append(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: Int32) throws { append(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: Int64) throws { append(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt) throws { append(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt8) throws { append(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt16) throws { append(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt32) throws { append(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt64) throws { append(ScalarEncoding.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = codingPath + [nextKey]
        try value.encode(to: NodeEncoder(node: node.appendElement(), codingPath: path))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let path = codingPath + [nextKey]
        let child = node.appendElement()
        child.makeObject()
        return KeyedEncodingContainer(KeyedNodeEncoder<NestedKey>(node: child, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = codingPath + [nextKey]
        let child = node.appendElement()
        child.makeArray()
        return UnkeyedNodeEncoder(node: child, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let path = codingPath + [nextKey]
        return NodeEncoder(node: node.appendElement(), codingPath: path)
    }
}

struct SingleValueNodeEncoder: SingleValueEncodingContainer {
    let node: EncodedNode
    let codingPath: [any CodingKey]

    private func set(_ bytes: [UInt8]) { node.content = .scalar(bytes) }

    mutating func encodeNil() throws { set(Array("null".utf8)) }
    mutating func encode(_ value: Bool) throws { set(ScalarEncoding.bool(value)) }
    mutating func encode(_ value: String) throws { set(ScalarEncoding.string(value)) }
    mutating func encode(_ value: Double) throws { set(try JSONWriter.number(value, codingPath)) }
    mutating func encode(_ value: Float) throws { set(try JSONWriter.number(value, codingPath)) }
    mutating func encode(_ value: Int) throws { set(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: Int8) throws { set(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: Int16) throws { set(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: Int32) throws { set(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: Int64) throws { set(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt8) throws { set(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt16) throws { set(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt32) throws { set(ScalarEncoding.integer(value)) }
    mutating func encode(_ value: UInt64) throws { set(ScalarEncoding.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    }
}

/// A coding key for array positions and `super`.
struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ string: String) {
        stringValue = string
        intValue = nil
    }

    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}
