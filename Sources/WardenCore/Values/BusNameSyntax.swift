/// The syntax of a D-Bus well-known name (`BusName=`), as the D-Bus specification defines
/// it: two or more elements separated by `.`, each of `[A-Za-z0-9_-]`, none empty or
/// starting with a digit, 255 characters at most. Unique names (`:1.42`) are not names a
/// service can be configured to take.
public enum BusNameSyntax {
    public static let maximumLength = 255

    public static func parse(_ text: String) -> Result<String, ValueError> {
        let expected = "expected a D-Bus well-known name such as org.freedesktop.PolicyKit1"
        guard !text.isEmpty, text.utf8.count <= maximumLength else {
            return .failure(ValueError("'\(text)' is not a valid bus name; \(expected), at most \(maximumLength) characters"))
        }
        let elements = text.split(separator: ".", omittingEmptySubsequences: false)
        guard elements.count >= 2 else {
            return .failure(ValueError("'\(text)' is not a valid bus name; \(expected) (two or more elements separated by '.')"))
        }
        for element in elements {
            let valid =
                !element.isEmpty && !element.first!.isNumber
                && element.unicodeScalars.allSatisfy { scalar in
                    scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
                }
            if !valid {
                return .failure(
                    ValueError("'\(text)' is not a valid bus name; \(expected) (element '\(element)' must be letters, digits, _ or - and not start with a digit)"))
            }
        }
        return .success(text)
    }
}
