import Testing
@testable import WardenCore

/// A unit file that is empty or a link to /dev/null masks the unit (systemd.unit(5)).
@Suite struct MaskedUnitTests {
    static func tree(_ units: [String: String], devices: Set<String> = []) -> ConfigurationLoader.Result {
        var files = units.reduce(into: [String: String]()) { $0["/u/" + $1.key] = $1.value }
        files["/etc/warden/warden.conf"] = "[Warden]\nUnitDirectories=/u\n"
        let loader = ConfigurationLoader(
            fileSystem: WithDevices(
                files: InMemoryFileSystem(files: files, executables: ["/usr/bin/true"]), devices: Set(devices.map { "/u/" + $0 })),
            specifiers: SpecifierContext(hostname: "testhost"), host: nil, executableSearchPath: ["/usr/bin"])
        return loader.load(configPath: "/etc/warden/warden.conf")
    }

    @Test func maskedUnitsAreListedWithoutAnError() {
        let result = Self.tree(
            ["a.service": "[Service]\nExecStart=/usr/bin/true\n", "empty.service": "", "null.service": "x"],
            devices: ["null.service"])
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.configuration?.services.map(\.name.description) == ["a.service"])
        #expect(result.masked == [
            MaskedUnit(name: "empty.service", path: "/u/empty.service"),
            MaskedUnit(name: "null.service", path: "/u/null.service"),
        ])
    }

    /// systemd fails the start of a unit that requires a masked one; wanting it or
    /// ordering against it is fine.
    @Test(arguments: [
        ("Requires", Diagnostic.Severity?.some(.warning), "m.service is masked: systemd fails the start of a.service"),
        ("BindsTo", .warning, "m.service is masked"),
        ("Wants", nil, ""),
        ("After", nil, ""),
    ])
    func dependencyOnAMaskedUnit(key: String, severity: Diagnostic.Severity?, message: String) {
        let result = Self.tree([
            "a.service": "[Unit]\n\(key)=m.service\n[Service]\nExecStart=/usr/bin/true\n", "m.service": "",
        ])
        let found = result.diagnostics.filter { $0.key == key }
        #expect(found.count == (severity == nil ? 0 : 1), "\(found)")
        if let severity, let diagnostic = found.first {
            #expect(diagnostic.severity == severity && diagnostic.message.contains(message), "\(diagnostic)")
            #expect(diagnostic.location == SourceLocation(file: "/u/a.service", line: 2))
        }
        #expect(result.configuration != nil)
    }
}

/// Files of which some are devices, as a unit file linked to /dev/null reads.
private struct WithDevices: ConfigFileSystem {
    var files: InMemoryFileSystem
    var devices: Set<String>

    func readFile(_ path: String) throws(ConfigFileError) -> String {
        if devices.contains(path) { throw ConfigFileError(path: path, reason: "a device", kind: .device) }
        return try files.readFile(path)
    }

    func listDirectory(_ path: String) -> [String]? { files.listDirectory(path) }
    func isExecutableFile(_ path: String) -> Bool { files.isExecutableFile(path) }
}
