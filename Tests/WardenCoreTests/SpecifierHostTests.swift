import Testing
@testable import WardenCore

@Suite struct SpecifierHostTests {
    static let osRelease = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        NAME="Debian GNU/Linux"
        VERSION_ID="12"
        VERSION_CODENAME=bookworm
        ID=debian
        VARIANT_ID=server
        IMAGE_ID='edge'
        IMAGE_VERSION=3.1

        """

    static let host = SpecifierContext.host(
        hostname: "node1.example.com", machineID: "0123456789ABCDEF0123456789abcdef\n",
        bootID: "fedcba98-7654-3210-fedc-ba9876543210\n", osRelease: osRelease,
        machineInfo: "PRETTY_HOSTNAME=\"Trading node 1\"\nCHASSIS=server\n",
        kernelRelease: "6.1.0-18-amd64", unameMachine: "x86_64")

    static let unit = UnitName(prefix: "feed", instance: "2", kind: .service)

    /// Every specifier of systemd.unit(5)'s table, from the host's files.
    @Test(arguments: [
        ("%m", "0123456789abcdef0123456789abcdef"),
        ("%b", "fedcba9876543210fedcba9876543210"),
        ("%v", "6.1.0-18-amd64"),
        ("%a", "x86-64"),
        ("%o", "debian"), ("%w", "12"), ("%W", "server"), ("%B", ""), ("%M", "edge"), ("%A", "3.1"),
        ("%H", "node1.example.com"), ("%l", "node1"), ("%q", "Trading node 1"),
        ("%d", "/run/credentials/feed@2.service"),
        ("%n %N %p %i %I %j %J %f", "feed@2.service feed@2 feed 2 2 feed feed /2"),
        ("%t %S %C %L %E %T %V", "/run /var/lib /var/cache /var/log /etc /tmp /var/tmp"),
        ("%%", "%"),
    ])
    func expandsFromHostFiles(text: String, expected: String) {
        #expect(Self.host.expand(text, for: Self.unit) == .success(expected))
    }

    /// What systemd does when a file is missing or a field unset.
    @Test func missingFilesAndFields() {
        let bare = SpecifierContext.host(
            hostname: "box.lan", machineID: "not an id", bootID: nil, osRelease: "NAME=x\n", machineInfo: nil,
            kernelRelease: nil, unameMachine: "vax")
        #expect(bare.expand("%q", for: Self.unit) == .success("box"))
        #expect(bare.expand("%o|%w|%B", for: Self.unit) == .success("||"))
        for text in ["%m", "%b", "%v", "%a"] {
            guard case .failure(let error) = bare.expand(text, for: Self.unit) else {
                Issue.record("\(text) expanded without its fact")
                continue
            }
            #expect(error.message.contains("not known on this host"))
        }
        let noOSRelease = SpecifierContext.host(
            hostname: "h", machineID: nil, bootID: nil, osRelease: nil, machineInfo: "PRETTY_HOSTNAME=\n",
            kernelRelease: nil, unameMachine: nil)
        #expect(noOSRelease.expand("%q", for: Self.unit) == .success("h"))
        if case .success = noOSRelease.expand("%o", for: Self.unit) { Issue.record("%o without an os-release") }
    }

    @Test(arguments: [
        ("x86_64", true, "x86-64"), ("i686", true, "x86"), ("i386", true, "x86"), ("aarch64", true, "arm64"),
        ("aarch64_be", false, "arm64-be"), ("armv7l", true, "arm"), ("armv7b", false, "arm-be"),
        ("ppc64le", true, "ppc64-le"), ("ppc64", false, "ppc64"), ("s390x", false, "s390x"),
        ("riscv64", true, "riscv64"), ("loongarch64", true, "loongarch64"), ("mips64", true, "mips64-le"),
        ("mips", false, "mips"), ("sh4", true, "sh"), ("parisc64", false, "parisc64"), ("alpha", true, "alpha"),
        ("vax", true, nil),
    ] as [(String, Bool, String?)])
    func architectureNames(machine: String, littleEndian: Bool, expected: String?) {
        #expect(SystemdArchitecture.name(unameMachine: machine, littleEndian: littleEndian) == expected)
    }

    /// A specifier that fails in `ExecStart=` is one error: not also "ExecStart= missing".
    @Test(arguments: [
        "ExecStart=/usr/bin/sleep %m",
        "Type=simple\nExecStart=/usr/bin/sleep %m",
        "Type=oneshot\nExecStart=/usr/bin/true\nExecStart=/usr/bin/sleep %m",
        "Type=notify\nExecStart=/usr/bin/sleep %m\nExecStop=/usr/bin/true",
    ])
    func failedSpecifierIsOneError(lines: String) {
        var tree = Tree()
        tree.unit("a.service", "[Service]\n\(lines)\n")
        let errors = tree.load().errors
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.key == "ExecStart")
        #expect(errors.first?.message.contains("%m (machine ID) is not known on this host") == true)
    }
}
