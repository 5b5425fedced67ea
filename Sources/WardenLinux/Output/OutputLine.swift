/// One line of a component's output.
public struct OutputLine: Hashable, Sendable {
    /// How the line ended.
    public enum Ending: Hashable, Sendable {
        /// A newline (not included in `text`).
        case newline
        /// Cut at the maximum line length; the rest follows in the next line(s).
        case cut
        /// The pipe closed after this partial line.
        case endOfFile
    }

    /// Whose output it is (a unit name, or `unit/stderr`).
    public var tag: String
    /// The bytes as text; invalid UTF-8 is replaced with U+FFFD.
    public var text: String
    public var ending: Ending
}
