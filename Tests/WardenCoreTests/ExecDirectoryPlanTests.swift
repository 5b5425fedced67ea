import Testing
@testable import WardenCore

@Suite struct ExecDirectoryPlanTests {
    static let bases = ExecDirectoryBases.below("/t")

    func load(_ body: String) -> ConfigurationLoader.Result {
        var tree = Tree()
        tree.unit("app.service", service(body))
        return tree.load()
    }

    /// systemd.exec(5)'s own examples.
    @Test func manPageExamples() throws {
        let result = load("RuntimeDirectory=foo/bar baz\nStateDirectory=aaa/bbb ccc\nUser=nobody")
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        let app = try #require(result.configuration?.services.first)
        let plan = ExecDirectoryPlan(app.directories, bases: Self.bases)
        #expect(plan.directories.map(\.path) == ["/t/run/foo/bar", "/t/run/baz", "/t/var/lib/aaa/bbb", "/t/var/lib/ccc"])
        #expect(plan.directories[0].parents == ["/t/run/foo"])
        #expect(plan.directories.allSatisfy { $0.mode == 0o755 && $0.ownedByService })
        #expect(plan.environment.map { "\($0.name)=\($0.value)" } == [
            "RUNTIME_DIRECTORY=/t/run/foo/bar:/t/run/baz", "STATE_DIRECTORY=/t/var/lib/aaa/bbb:/t/var/lib/ccc",
        ])
        #expect(plan.runtimePaths == ["/t/run/foo/bar", "/t/run/baz"])
    }

    @Test func symlinksModesAndPreserve() throws {
        let result = load(
            "RuntimeDirectory=foo:bar foo:baz\nRuntimeDirectoryMode=0700\nCacheDirectory=c\nCacheDirectoryMode=750\n"
                + "ConfigurationDirectory=app\nLogsDirectory=app//logs/\nRuntimeDirectoryPreserve=restart")
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        let app = try #require(result.configuration?.services.first)
        #expect(app.directories.effectiveRuntimePreserve == .restart)
        let plan = ExecDirectoryPlan(app.directories, bases: Self.bases)
        #expect(plan.directories.map(\.path) == ["/t/run/foo", "/t/var/cache/c", "/t/var/log/app/logs", "/t/etc/app"])
        #expect(plan.directories[0].symlinks == ["/t/run/bar", "/t/run/baz"])
        #expect(plan.directories.map(\.mode) == [0o700, 0o750, 0o755, 0o755])
        #expect(plan.directories.map(\.ownedByService) == [true, true, true, false])
        #expect(plan.runtimePaths == ["/t/run/bar", "/t/run/baz", "/t/run/foo"])
        #expect(plan.environment.map(\.name) == ["RUNTIME_DIRECTORY", "CACHE_DIRECTORY", "LOGS_DIRECTORY", "CONFIGURATION_DIRECTORY"])
    }

    @Test(arguments: [
        ("RuntimeDirectory=/run/foo", "not absolute"),
        ("StateDirectory=a/../b", "'..' are not allowed"),
        ("CacheDirectory=a:", "symlink name is empty"),
        ("ConfigurationDirectory=a:b", "takes no ':symlink'"),
        ("LogsDirectoryMode=0999", "not an access mode"),
        ("RuntimeDirectoryPreserve=sometimes", "expected yes, no or restart"),
    ])
    func invalidValuesAreErrors(line: String, expected: String) throws {
        let result = load(line)
        let error = try #require(result.errors.first, "\(result.diagnostics)")
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(error.key == String(line.prefix { $0 != "=" }))
    }

    @Test func emptyAssignmentResets() throws {
        let result = load("RuntimeDirectory=a\nRuntimeDirectory=\nRuntimeDirectory=b")
        let app = try #require(result.configuration?.services.first)
        #expect(ExecDirectoryPlan(app.directories, bases: Self.bases).directories.map(\.path) == ["/t/run/b"])
    }

    /// check-config shows a unit's other names and its directories.
    @Test func planShowsNamesAndDirectories() throws {
        var tree = Tree()
        tree.unit("redis-server.service", service("User=redis\nRuntimeDirectory=redis\nRuntimeDirectoryMode=2755\nConfigurationDirectory=redis") + "[Install]\nAlias=redis.service\n")
        let configuration = try #require(tree.load().configuration)
        let settings = ConfigurationPlan(configuration: configuration, host: nil).components.first?.processSettings ?? []
        #expect(settings.suffix(3) == [
            "also named = redis.service",
            "RuntimeDirectory = /run/redis (mode 02755, owner redis, removed at every stop)",
            "ConfigurationDirectory = /etc/redis (mode 0755)",
        ])
    }

    @Test func directoryKeysAreEnforced() {
        var lines = ExecDirectoryKind.allCases.map { "\($0.key)=x\n\($0.modeKey)=0700" }
        lines.append("RuntimeDirectoryPreserve=yes")
        let result = load(lines.joined(separator: "\n"))
        #expect(result.errors.isEmpty && result.warnings.isEmpty, "\(result.diagnostics)")
    }
}
