import Glibc

// warden-demo: every role of the demo trading stack in one small binary, chosen by
// the first argument, so the demo units need one build product and no Foundation.

let roles: [(name: String, usage: String)] = [
    ("feed", Feed.usage), ("strategy", Strategy.usage), ("executor", Executor.usage),
    ("risk", Risk.usage), ("backtest", Backtest.usage), ("dashboard", Dashboard.usage),
    ("crashy", Crashy.usage),
]

let generalUsage = """
    usage: warden-demo ROLE [OPTIONS]
           warden-demo [ROLE] --help

    One process of the Warden demo trading stack. Every role answers:
      SIGTERM, SIGINT  log "shutting down", finish, exit 0
      SIGUSR1          log "freeing caches" and release memory it can release
      SIGHUP           log "reloading"
    Output is one short line per event on stdout; errors go to stderr; a usage
    error exits 2.

    Roles:
    """
    + "\n" + roles.map { "  " + $0.usage.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n  ") }
        .joined(separator: "\n")

func usageFailure(_ message: String) -> Never {
    complain(message)
    complain("try 'warden-demo --help'")
    exit(2)
}

let arguments = CommandLine.arguments.dropFirst()
guard let roleName = arguments.first else { usageFailure("warden-demo: no role given") }
if roleName == "--help" || roleName == "-h" || roleName == "help" {
    say(generalUsage)
    exit(0)
}
guard let role = roles.first(where: { $0.name == roleName }) else {
    usageFailure("warden-demo: unknown role '\(roleName)' (roles: \(roles.map(\.name).joined(separator: ", ")))")
}
let roleArguments = arguments.dropFirst()
if roleArguments.contains("--help") || roleArguments.contains("-h") {
    say("usage: warden-demo " + role.usage)
    exit(0)
}

func start<Role: DemoRole>(_ make: (RoleArguments) throws(UsageError) -> Role, accepted: [String]) -> Never {
    // Block the control signals before a role can start a thread.
    var inbox = SignalInbox()
    do {
        var instance = try make(try RoleArguments(roleArguments, role: roleName, accepted: accepted))
        run(&instance, inbox: &inbox)
    } catch {
        usageFailure(error.message)
    }
}

switch roleName {
case "feed": start(Feed.init, accepted: Feed.options)
case "strategy": start(Strategy.init, accepted: Strategy.options)
case "executor": start(Executor.init, accepted: Executor.options)
case "risk": start(Risk.init, accepted: Risk.options)
case "backtest": start(Backtest.init, accepted: Backtest.options)
case "dashboard": start(Dashboard.init, accepted: Dashboard.options)
default: start(Crashy.init, accepted: Crashy.options)
}
