/// One PSI file's `avg10`, `avg60` and `avg300`, in hundredths of a percent, for the
/// `full` line and the `some` line (`full` is nil where the kernel has none).
public struct PressureAverages: Hashable, Sendable {
    public var some: [Int: Int]
    public var full: [Int: Int]?

    public init(some: [Int: Int], full: [Int: Int]?) {
        self.some = some
        self.full = full
    }
}

extension PressureAverages {
    /// A PSI file (`/proc/pressure/memory`): `some avg10=0.00 avg60=0.00 avg300=0.00 total=0`
    /// and, except for the CPU of older kernels, a `full` line.
    public static func parse(_ text: String) -> PressureAverages? {
        var some: [Int: Int]?
        var full: [Int: Int]?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let kind = fields.first else { continue }
            var averages: [Int: Int] = [:]
            for field in fields.dropFirst() {
                for (name, seconds) in [("avg10=", 10), ("avg60=", 60), ("avg300=", 300)] where field.hasPrefix(name) {
                    let value = field.dropFirst(name.count)
                    let parts = value.split(separator: ".", omittingEmptySubsequences: false)
                    guard let whole = Int(parts[0]) else { continue }
                    var hundredths = 0
                    if parts.count > 1 {
                        let digits = String(parts[1].prefix(2))
                        hundredths = (Int(digits) ?? 0) * (digits.count == 1 ? 10 : 1)
                    }
                    averages[seconds] = whole * 100 + hundredths
                }
            }
            if kind == "some" { some = averages } else if kind == "full" { full = averages }
        }
        guard let some else { return nil }
        return PressureAverages(some: some, full: full)
    }
}
