import ArgumentParser
import Glibc
import WardenCore
import WardenLinux
import WardenRuntime

/// `warden check-config`: validate the configuration and print the plan it implies.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate warden.conf and the units, and print what they will do.",
        discussion: """
            Exit status 0 when the configuration is valid, 78 (EX_CONFIG) when it is not. \
            Problems are printed as FILE:LINE: KEY: message, all of them in one run. \
            Without --config and --units, a daemon answering on the control socket is asked \
            which configuration it runs, and that one is checked (one line on stderr says \
            so); with no daemon, /etc/warden/warden.conf and /etc/warden/units.
            """)

    @OptionGroup var location: ConfigLocation

    @OptionGroup var daemon: DaemonSocketOption

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Flag(help: "Do not check limits against this machine's CPUs and memory.")
    var noHostCheck = false

    func run() throws {
        let facts = HostProbe.facts()
        var result = ConfigChoice.resolve(location, socket: daemon).load(host: noHostCheck ? nil : facts)
        // What this Warden cannot grant (a capability it lacks, a limit above its own):
        // `warden run` runs without it, or refuses with FailOnUnenforceable=yes.
        if let configuration = result.configuration, !noHostCheck {
            let findings = PrivilegeCheck.unenforceable(
                in: configuration, capabilities: HostProbe.effectiveCapabilities(), ownLimits: ThisProcess.resourceLimits())
            let refuse = configuration.settings.failOnUnenforceable == true
            for finding in findings {
                let service = configuration.services.first { $0.name.description == finding.unit }
                let location = service?.keyLocations[finding.key] ?? service?.location ?? configuration.settings.location
                let message = finding.description + (refuse ? " (FailOnUnenforceable=yes: warden run refuses)" : "")
                result.diagnostics.append(
                    refuse ? .error(location, key: finding.key, message) : .warning(location, key: finding.key, message))
            }
            if refuse && !findings.isEmpty { result.configuration = nil }
        }
        let plan = result.configuration.map { ConfigurationPlan(configuration: $0, host: noHostCheck ? nil : facts) }
        // What this machine's cgroup tree cannot enforce, said before anything runs.
        var notEnforced: [String] = []
        let discovery = noHostCheck ? nil : CgroupDiscovery.discover()
        let backend = result.configuration.flatMap { configuration in
            discovery.map { Daemon.cgroupBackend(for: configuration, host: facts, discovery: $0) }
        }
        if case .refused(let reason) = backend {
            notEnforced.append(
                "every limit: CgroupBackend=systemd, and systemd's D-Bus API is not available here (\(reason)); `warden run` refuses to start")
        } else if backend == .systemd {
            // The scopes' limits are systemd's to enforce, and it is here.
        } else if let configuration = result.configuration, let discovery {
            let groups = CgroupPlan.plan(for: configuration, host: facts)
            notEnforced = CgroupEnforcement.messages(
                CgroupEnforcement.unenforced(plan: groups, availability: discovery.availability))
        }
        if json {
            let report = CheckReport(
                valid: result.configuration != nil,
                diagnostics: result.diagnostics.map(CheckReport.Problem.init), plan: plan,
                notEnforcedOnThisHost: notEnforced, masked: result.masked.map(CheckReport.Masked.init))
            let encoder = JSONWriter(prettyPrinted: true)
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for diagnostic in result.diagnostics {
                writeStandardError(diagnostic.description)
            }
            if !result.masked.isEmpty {
                print("Masked (not loaded, as under systemd):")
                for unit in result.masked { print("  \(unit.name)  \(unit.path)") }
                if plan != nil { print("") }
            }
            if let plan {
                print(plan.renderText(), terminator: "")
                if !notEnforced.isEmpty {
                    print("\nNot enforced on this host (the components still run, without these limits):")
                    for line in notEnforced { print("  \(line)") }
                }
            } else {
                let errors = result.diagnostics.filter { $0.severity == .error }.count
                writeStandardError("configuration invalid: \(errors) error(s)")
            }
        }
        if result.configuration == nil { throw ExitCode(78) }
    }
}

/// `warden check-config --json` output. Field names are part of Warden's stable interface.
struct CheckReport: Encodable {
    struct Problem: Encodable {
        var severity: String
        var file: String
        var line: Int
        var key: String?
        var message: String

        init(_ diagnostic: Diagnostic) {
            severity = diagnostic.severity.rawValue
            file = diagnostic.location.file
            line = diagnostic.location.line
            key = diagnostic.key
            message = diagnostic.message
        }
    }

    /// A unit whose file is empty or a link to /dev/null.
    struct Masked: Encodable {
        var unit: String
        var path: String

        init(_ masked: MaskedUnit) {
            unit = masked.name
            path = masked.path
        }
    }

    var valid: Bool
    var diagnostics: [Problem]
    var plan: ConfigurationPlan?
    /// One line per reason, naming the settings the host's cgroup tree cannot enforce.
    var notEnforcedOnThisHost: [String]
    /// The masked units, by name.
    var masked: [Masked]
}

/// `--config` and `--units`, shared by every command that reads the configuration.
struct ConfigLocation: ParsableArguments {
    @Option(name: .long, help: "warden.conf to read (default /etc/warden/warden.conf when it exists).")
    var config: String?

    @Option(name: .long, help: "Unit directory, overriding UnitDirectories= (repeatable).")
    var units: [String] = []

    func load(host: HostFacts?) -> ConfigurationLoader.Result {
        DaemonArguments.loadConfiguration(configPath: config, unitDirectories: units, host: host)
    }

    /// Nothing names a configuration and none is where Warden looks by default: a host
    /// where Warden was never set up, and an operator following the runbook.
    var isUnconfigured: Bool {
        var info = stat()
        return config == nil && units.isEmpty && stat("/etc/warden/warden.conf", &info) != 0
            && stat(WardenSettings.defaultUnitDirectory, &info) != 0
    }

    /// The configuration, or on an unconfigured host Warden's defaults with no component
    /// (`ThrottleSlices=` the host's system.slice and user.slice): the operator commands
    /// act on those instead of refusing for want of a file.
    func loadOrDefaults(host: HostFacts?) -> (result: ConfigurationLoader.Result, defaults: Bool) {
        guard isUnconfigured else { return (load(host: host), false) }
        let loader = ConfigurationLoader(
            fileSystem: LocalFileSystem(maximumBytes: LocalFileSystem.configurationMaximumBytes),
            specifiers: SpecifierContext.ofThisHost(), host: host)
        return (loader.load(configPath: nil, unitDirectories: []), true)
    }
}
