/// `/proc/loadavg` (`0.52 0.58 0.59 1/267 12345`): the load averages over 1, 5 and 15
/// minutes, in hundredths, exactly (no binary floating point on the way).
public enum LoadAverage {
    /// The three averages; nil when the text does not start with three of them.
    public static func parse(_ text: String) -> [Int]? {
        let values = text.split(separator: " ").prefix(3).compactMap(hundredths)
        return values.count == 3 ? values : nil
    }

    /// `4.07` → 407, `4.1` → 410, `4` → 400; nil for anything else (the kernel prints two
    /// decimals).
    public static func hundredths(_ text: Substring) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int(parts[0]), whole >= 0 else { return nil }
        guard parts.count == 2 else { return whole * 100 }
        let digits = parts[1]
        guard (1...2).contains(digits.count), digits.allSatisfy(\.isNumber), let fraction = Int(digits) else { return nil }
        return whole * 100 + (digits.count == 1 ? fraction * 10 : fraction)
    }
}
