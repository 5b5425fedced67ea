import WardenLinux

/// Writes a line to stderr in one write(2). The commands avoid Foundation's FileHandle
/// so the daemon's binary needs only FoundationEssentials (no ICU: smaller and leaner).
func writeStandardError(_ text: String) {
    StandardStreams.write(text.hasSuffix("\n") ? text : text + "\n", to: StandardStreams.error)
}
