import Testing
import WardenCore
import WardenLinux

/// The reference in docs/ is generated from the key tables; this keeps the two equal.
@Suite struct DocumentationTests {
    static let repositoryRoot: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    @Test func configurationReferenceIsCurrent() throws {
        let committed = try LocalFileSystem().readFile(Self.repositoryRoot + "/docs/configuration.md")
        #expect(
            committed == KeyReference.markdown(),
            "docs/configuration.md is stale: run `make docs` (warden keys --markdown > docs/configuration.md)")
    }

    @Test func systemdCompatibilityTableIsCurrent() throws {
        let committed = try LocalFileSystem().readFile(Self.repositoryRoot + "/docs/systemd-compatibility.md")
        #expect(
            committed == SystemdCompatibility.markdown(),
            "docs/systemd-compatibility.md is stale: run `make docs` (warden keys --compatibility > docs/systemd-compatibility.md)")
    }

    @Test func everyKeyOfTheDemoStackIsDocumented() throws {
        let reference = KeyReference.markdown()
        let fs = LocalFileSystem()
        let directory = Self.repositoryRoot + "/config/demo"
        for name in fs.listDirectory(directory) ?? [] where name.hasSuffix(".service") {
            let parsed = UnitFileParser.parse(text: try fs.readFile(directory + "/" + name), file: name)
            for section in parsed.sections where section.name != "Install" {
                for entry in section.entries {
                    #expect(reference.contains("#### `\(entry.key)=`"), "\(name): \(entry.key) is not in the reference")
                }
            }
        }
    }
}
