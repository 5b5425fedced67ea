extension DuplicatePolicy {
    /// `duplicate PID 1234 (cmdline)`, or `duplicate PIDs 1234, 1240 (cmdline of the
    /// first)`: the words `blocked:` and the log lines use for the copies of one scan.
    public static func summary(of duplicates: [ScannedProcess]) -> String {
        duplicates.isEmpty ? "no duplicate" : describe(duplicates)
    }
}
