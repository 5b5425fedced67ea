/// A parsed JSON value. Numbers keep their text so each integer type can check its own
/// range, as `JSONDecoder` does.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}
