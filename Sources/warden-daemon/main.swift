// warden-daemon: the long-running half of `warden run`, which executes it.
//
// It takes `warden run`'s options (`[run] [--config FILE] [--units DIR]...
// [--state-dir DIR]`) and links neither swift-argument-parser nor FoundationEssentials:
// the daemon's resident memory is mostly its own binary and the libraries it maps, and
// both would stay mapped for the daemon's whole life for a command line read once.
import Glibc
import WardenRuntime

switch DaemonArguments.parse(Array(CommandLine.arguments.dropFirst())) {
case .success(let arguments):
    exit(Daemon.run(arguments))
case .failure(let error):
    let text = "warden-daemon: \(error)\nusage: warden-daemon [run] [--config FILE] [--units DIR]... [--state-dir DIR]\n"
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    exit(64)  // EX_USAGE
}
