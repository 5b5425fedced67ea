/// Shell-style pattern matching as `fnmatch(3)` without flags, which systemd uses for
/// `ConditionHost=`, `$=` expressions and SMBIOS fields: `*` any run of characters
/// (`/` included), `?` one character, `[…]` a set (`!` or `^` negates, `a-z` ranges),
/// `\` quotes the next character.
public enum ShellGlob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0
        var starP = -1, starT = 0
        while ti < t.count {
            if pi < p.count {
                switch p[pi] {
                case "*":
                    starP = pi
                    starT = ti
                    pi += 1
                    continue
                case "?":
                    pi += 1
                    ti += 1
                    continue
                case "[":
                    if let (matched, next) = matchSet(p, pi, t[ti]) {
                        if matched {
                            pi = next
                            ti += 1
                            continue
                        }
                    } else if t[ti] == "[" {
                        pi += 1
                        ti += 1
                        continue
                    }
                case "\\" where pi + 1 < p.count:
                    if p[pi + 1] == t[ti] {
                        pi += 2
                        ti += 1
                        continue
                    }
                default:
                    if p[pi] == t[ti] {
                        pi += 1
                        ti += 1
                        continue
                    }
                }
            }
            guard starP >= 0 else { return false }
            starT += 1
            ti = starT
            pi = starP + 1
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// A bracket expression at `start`: whether `c` is in it and the index after it; nil
    /// when the bracket is not closed (then `[` is an ordinary character).
    private static func matchSet(_ p: [Unicode.Scalar], _ start: Int, _ c: Unicode.Scalar) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < p.count, p[i] == "!" || p[i] == "^" {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < p.count {
            if p[i] == "]" && !first { return (matched != negate, i + 1) }
            first = false
            var low = p[i]
            if low == "\\", i + 1 < p.count {
                i += 1
                low = p[i]
            }
            if i + 2 < p.count, p[i + 1] == "-", p[i + 2] != "]" {
                let high = p[i + 2]
                if low.value <= c.value && c.value <= high.value { matched = true }
                i += 3
            } else {
                if low == c { matched = true }
                i += 1
            }
        }
        return nil
    }
}
