import Testing
@testable import WardenCore

@Suite struct UnitFileLoaderTests {
    static let context = SpecifierContext(hostname: "node1", machineID: "0123456789abcdef0123456789abcdef")

    func loader(_ files: [String: String]) -> UnitLoader {
        UnitLoader(fileSystem: InMemoryFileSystem(files: files), specifiers: Self.context)
    }

    /// `Key=Value` of every entry in `section`, in order.
    func values(_ unit: UnitFile?, _ section: String = "Service", _ key: String) -> [String] {
        (unit?.sections(named: section) ?? []).flatMap { $0.entries.filter { $0.key == key }.map(\.value) }
    }

    @Test func loadsServicesSlicesAndTargetsSkippingOthers() {
        let l = loader([
            "/u/b.service": "[Service]\nExecStart=/bin/b\n",
            "/u/a.slice": "[Slice]\nCPUWeight=50\n",
            "/u/feed@.service": "[Service]\nExecStart=/bin/feed %i\n",
            "/u/multi-user.target": "[Unit]\n",
            "/u/podman.socket": "[Socket]\n",
            "/u/warden.conf": "[Warden]\n",
            "/u/README": "hello",
            "/u/b.service.d/x.conf": "[Service]\nNice=5\n",
        ])
        let (units, diagnostics, _) = l.loadDirectory("/u")
        #expect(units.map(\.name.description) == ["a.slice", "b.service", "multi-user.target"])
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.severity == .note)
        #expect(diagnostics.first?.location.file == "/u/podman.socket")
        #expect(values(units[1], "Service", "Nice") == ["5"])
    }

    @Test func invalidUnitFileNameIsError() {
        let (units, diagnostics, _) = loader(["/u/bad name.service": "[Service]\n", "/u/ok.service": "[Service]\n"]).loadDirectory("/u")
        #expect(units.map(\.name.description) == ["ok.service"])
        #expect(diagnostics.map(\.severity) == [.error])
        #expect(diagnostics.first?.location.file == "/u/bad name.service")
    }

    @Test func missingDirectoryIsError() {
        let (units, diagnostics, _) = loader([:]).loadDirectory("/nowhere")
        #expect(units.isEmpty)
        #expect(diagnostics.hasErrors)
    }

    @Test func dropInsApplyInLexicalOrderAfterMainFile() throws {
        let l = loader([
            "/u/app.service": "[Service]\nEnvironment=A=main\nRestart=no\n",
            "/u/app.service.d/20-b.conf": "[Service]\nEnvironment=A=twenty\n",
            "/u/app.service.d/10-a.conf": "[Service]\nEnvironment=A=ten\nRestart=always\n",
            "/u/app.service.d/99-z.conf": "[Service]\nEnvironment=\n",
            "/u/app.service.d/notes.txt": "[Service]\nEnvironment=A=ignored\n",
        ])
        let (unit, diagnostics) = l.load(unit: try #require(UnitName(parsing: "app.service")), from: "/u")
        #expect(diagnostics.isEmpty)
        #expect(values(unit, "Service", "Environment") == ["A=main", "A=ten", "A=twenty", ""])
        #expect(values(unit, "Service", "Restart") == ["no", "always"])
        let files = unit?.sections.flatMap { $0.entries.map(\.location.file) } ?? []
        #expect(files == ["/u/app.service", "/u/app.service", "/u/app.service.d/10-a.conf",
                          "/u/app.service.d/10-a.conf", "/u/app.service.d/20-b.conf", "/u/app.service.d/99-z.conf"])
        #expect(unit?.path == "/u/app.service")
    }

    @Test func templateInstanceGetsSpecifiersAndTemplateDropIns() throws {
        let l = loader([
            "/u/feed@.service": "[Unit]\nDescription=Feed %i on %H\n[Service]\nExecStart=/opt/feed --shard %i --name %n --path %f\n",
            "/u/feed@.service.d/10-common.conf": "[Service]\nEnvironment=SHARD=%i\nNice=1\n",
            "/u/feed@2.service.d/10-common.conf": "[Service]\nNice=2\n",
            "/u/feed@2.service.d/20-own.conf": "[Service]\nCPUQuota=20%\n",
        ])
        let name = try #require(UnitName(parsing: "feed@2.service"))
        let (unit, diagnostics) = l.load(unit: name, from: "/u")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(unit?.name == name)
        #expect(unit?.path == "/u/feed@.service")
        #expect(values(unit, "Unit", "Description") == ["Feed 2 on node1"])
        #expect(values(unit, "Service", "ExecStart") == ["/opt/feed --shard 2 --name feed@2.service --path /2"])
        // Same file name: the instance's own directory wins over the template's.
        #expect(values(unit, "Service", "Nice") == ["2"])
        #expect(values(unit, "Service", "Environment") == [])
        #expect(values(unit, "Service", "CPUQuota") == ["20%"])
    }

    @Test func instanceWithOwnFileUsesIt() throws {
        let l = loader(["/u/feed@.service": "[Service]\nNice=1\n", "/u/feed@9.service": "[Service]\nNice=9\n"])
        let (unit, _) = l.load(unit: try #require(UnitName(parsing: "feed@9.service")), from: "/u")
        #expect(unit?.path == "/u/feed@9.service")
        #expect(values(unit, "Service", "Nice") == ["9"])
    }

    @Test func missingUnitAndTemplateAreErrors() throws {
        let l = loader(["/u/feed@.service": "[Service]\n"])
        let (missing, d1) = l.load(unit: try #require(UnitName(parsing: "nope@1.service")), from: "/u")
        #expect(missing == nil)
        #expect(d1.first?.message.contains("not found") == true)
        let (template, d2) = l.load(unit: try #require(UnitName(parsing: "feed@.service")), from: "/u")
        #expect(template == nil)
        #expect(d2.first?.message.contains("is a template") == true)
        let (plain, d3) = l.load(unit: try #require(UnitName(parsing: "gone.service")), from: "/u")
        #expect(plain == nil)
        #expect(d3.hasErrors)
    }

    @Test func hierarchicalPrefixAndTypeDropIns() throws {
        let l = loader([
            "/u/a-b-c.service": "[Service]\nExecStart=/bin/x\n",
            "/u/service.d/50-all.conf": "[Service]\nEnvironment=LEVEL=type\n",
            "/u/a-.service.d/50-all.conf": "[Service]\nEnvironment=LEVEL=a\n",
            "/u/a-b-.service.d/50-all.conf": "[Service]\nEnvironment=LEVEL=a-b\n",
            "/u/a-.service.d/10-a.conf": "[Service]\nNice=1\n",
            "/u/service.d/05-type.conf": "[Service]\nNice=0\n",
            "/u/x-.service.d/10-a.conf": "[Service]\nNice=99\n",
        ])
        let name = try #require(UnitName(parsing: "a-b-c.service"))
        #expect(l.dropInDirectories(for: name, in: "/u") == [
            "/u/a-b-c.service.d", "/u/a-b-.service.d", "/u/a-.service.d", "/u/service.d",
        ])
        let (unit, diagnostics) = l.load(unit: name, from: "/u")
        #expect(diagnostics.isEmpty)
        #expect(values(unit, "Service", "Nice") == ["0", "1"])
        #expect(values(unit, "Service", "Environment") == ["LEVEL=a-b"])
    }

    @Test func instanceDropInDirectoryOrder() throws {
        let l = loader([:])
        let name = try #require(UnitName(parsing: "feed-eu@2.service"))
        #expect(l.dropInDirectories(for: name, in: "/u/") == [
            "/u/feed-eu@2.service.d", "/u/feed-eu@.service.d", "/u/feed-.service.d", "/u/service.d",
        ])
        let root = try #require(UnitName(parsing: "-.slice"))
        #expect(l.dropInDirectories(for: root, in: "/u") == ["/u/-.slice.d", "/u/slice.d"])
    }

    @Test func unknownSpecifierDropsAssignmentWithPositionedError() throws {
        let l = loader(["/u/app.service": "[Service]\nType=simple\nExecStart=/bin/date +%z\nNice=1\n"])
        let (unit, diagnostics) = l.load(unit: try #require(UnitName(parsing: "app.service")), from: "/u")
        #expect(values(unit, "Service", "ExecStart") == [])
        #expect(values(unit, "Service", "Nice") == ["1"])
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.key == "ExecStart")
        #expect(diagnostics.first?.location == SourceLocation(file: "/u/app.service", line: 3))
        #expect(diagnostics.first?.description.hasPrefix("/u/app.service:3: ExecStart: unknown specifier %z") == true)
    }

    @Test func syntaxErrorsInDropInsNameTheDropIn() throws {
        let l = loader([
            "/u/app.service": "[Service]\nNice=1\n",
            "/u/app.service.d/10.conf": "Nice=2\n",
        ])
        let (unit, diagnostics) = l.load(unit: try #require(UnitName(parsing: "app.service")), from: "/u")
        #expect(values(unit, "Service", "Nice") == ["1"])
        #expect(diagnostics.map(\.location) == [SourceLocation(file: "/u/app.service.d/10.conf", line: 1)])
    }

    @Test func loadFileWithOwnDropIns() throws {
        let l = loader([
            "/etc/warden/warden.conf": "[Warden]\nStateDirectory=%S/warden\n",
            "/etc/warden/warden.conf.d/10-host.conf": "[Warden]\nHost=%H\n",
        ])
        let (unit, diagnostics) = l.loadFile(path: "/etc/warden/warden.conf", as: UnitName(prefix: "warden", kind: .service))
        #expect(diagnostics.isEmpty)
        #expect(values(unit, "Warden", "StateDirectory") == ["/var/lib/warden"])
        #expect(values(unit, "Warden", "Host") == ["node1"])
        let (missing, d2) = l.loadFile(path: "/etc/warden/none.conf", as: UnitName(prefix: "none", kind: .service))
        #expect(missing == nil)
        #expect(d2.first?.message.contains("No such file") == true)
    }

    @Test func continuationLinesKeepFirstLineAndDropInLocation() throws {
        let l = loader(["/u/app.service": "[Service]\nExecStart=/bin/echo \\\n  %n\n"])
        let (unit, _) = l.load(unit: try #require(UnitName(parsing: "app.service")), from: "/u")
        let entry = try #require(unit?.sections.first?.entries.first)
        #expect(entry.value == "/bin/echo    app.service")
        #expect(entry.location.line == 2)
    }
}
