extension String {
    /// Without leading and trailing spaces, tabs and line ends (kernel files end in `\n`).
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" || c == "\r" { s = s.dropLast() }
        return String(s)
    }
}
