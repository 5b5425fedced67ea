/// The order of version strings as systemd's `strverscmp_improved()` (the UAPI version
/// format): segments of digits compare as numbers, segments of letters as strings; `~`
/// sorts before anything (pre-releases, `5.0~rc1` < `5.0`), `-` before `.` and `^`, a
/// numeric segment after an alphabetic one, and a longer version after its prefix.
public enum VersionOrder {
    public static func compare(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        var i = 0, j = 0
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        func isValid(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) || c == 0x7E || c == 0x5E || c == 0x2E || c == 0x2D }
        func at(_ s: [UInt8], _ k: Int) -> UInt8 { k < s.count ? s[k] : 0 }
        func cmp(_ x: Bool, _ y: Bool) -> Int { x == y ? 0 : (x ? 1 : -1) }
        func cmp(_ x: Int, _ y: Int) -> Int { x == y ? 0 : (x < y ? -1 : 1) }
        while true {
            while i < a.count, !isValid(a[i]) { i += 1 }
            while j < b.count, !isValid(b[j]) { j += 1 }
            for separator in [UInt8(ascii: "~")] where at(a, i) == separator || at(b, j) == separator {
                let r = cmp(at(a, i) != separator, at(b, j) != separator)
                if r != 0 { return r }
                i += 1
                j += 1
            }
            if i >= a.count || j >= b.count {
                // strcmp of the rests: the one with something left is newer.
                return cmp(a.count - i > 0, b.count - j > 0)
            }
            for separator in [UInt8(ascii: "-"), UInt8(ascii: "^"), UInt8(ascii: ".")]
            where at(a, i) == separator || at(b, j) == separator {
                let r = cmp(at(a, i) != separator, at(b, j) != separator)
                if r != 0 { return r }
                i += 1
                j += 1
            }
            if isDigit(at(a, i)) || isDigit(at(b, j)) {
                var ai = i, bj = j
                while ai < a.count, isDigit(a[ai]) { ai += 1 }
                while bj < b.count, isDigit(b[bj]) { bj += 1 }
                let r = cmp(ai != i, bj != j)
                if r != 0 { return r }
                while i < ai, a[i] == 0x30 { i += 1 }
                while j < bj, b[j] == 0x30 { j += 1 }
                let lengths = cmp(ai - i, bj - j)
                if lengths != 0 { return lengths }
                for k in 0..<(ai - i) where a[i + k] != b[j + k] { return a[i + k] < b[j + k] ? -1 : 1 }
                i = ai
                j = bj
            } else {
                var ai = i, bj = j
                while ai < a.count, isAlpha(a[ai]) { ai += 1 }
                while bj < b.count, isAlpha(b[bj]) { bj += 1 }
                for k in 0..<min(ai - i, bj - j) where a[i + k] != b[j + k] { return a[i + k] < b[j + k] ? -1 : 1 }
                let lengths = cmp(ai - i, bj - j)
                if lengths != 0 { return lengths }
                i = ai
                j = bj
            }
        }
    }
}
