/// Text helpers shared by the operator commands' human output: aligned tables, sizes,
/// percentages and optional ANSI colour. Pure, so output is golden-testable.
public enum OperatorText {
    /// `text` cut to `limit` characters with a trailing `…` when longer.
    public static func abbreviate(_ text: String, to limit: Int) -> String {
        guard text.count > limit, limit > 1 else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }

    /// `812.0 MiB`, `4.0 GiB`, `512 B`: binary units with one decimal, as operators read
    /// memory limits (`MemoryMax=4G` is 4 GiB).
    public static func bytes(_ count: UInt64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard count >= 1024 else { return "\(count) B" }
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return fixed(value, decimals: 1) + " " + units[unit]
    }

    /// `x` with exactly `decimals` digits after the point, rounded half away from zero
    /// (no Foundation `String(format:)` in the core).
    public static func fixed(_ x: Double, decimals: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = x < 0
        let scaled = (abs(x) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e15 else { return String(x) }
        let integer = UInt64(scaled)
        let factor = UInt64(scale)
        var text = String(integer / factor)
        if decimals > 0 {
            let fraction = String(integer % factor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return (negative && integer != 0 ? "-" : "") + text
    }

    /// `42 s`, `3 min`, `5 h 12 min`, `3 d 4 h`.
    public static func duration(seconds: Double) -> String {
        let s = Int(seconds.rounded(.down))
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        if s < 86400 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86400) d \(s % 86400 / 3600) h"
    }

    /// A column of a `table`.
    public struct Column: Sendable {
        public var header: String
        public var rightAligned: Bool

        public init(_ header: String, rightAligned: Bool = false) {
            self.header = header
            self.rightAligned = rightAligned
        }
    }

    /// Rows under headers, columns separated by two spaces, each padded to its widest
    /// cell; the last column is not padded (it holds free text such as a command line).
    /// Lines have no trailing spaces and end with a newline.
    public static func table(_ columns: [Column], _ rows: [[String]], indent: String = "") -> String {
        var widths = columns.map { $0.header.count }
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, column) in columns.enumerated() {
                let cell = i < cells.count ? cells[i] : ""
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                if i == columns.count - 1 && !column.rightAligned {
                    parts.append(cell)
                } else {
                    parts.append(column.rightAligned ? pad + cell : cell + pad)
                }
            }
            var text = indent + parts.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text + "\n"
        }
        return line(columns.map(\.header)) + rows.map(line).joined()
    }

    /// ANSI colours, applied only when the output is a terminal.
    public enum Color: String, Sendable {
        case red = "31"
        case yellow = "33"
        case green = "32"
        case bold = "1"
    }

    public static func paint(_ text: String, _ color: Color, enabled: Bool) -> String {
        enabled ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }
}
