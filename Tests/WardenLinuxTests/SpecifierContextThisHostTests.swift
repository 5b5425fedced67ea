import Foundation
import Testing
import WardenCore
@testable import WardenLinux

@Suite struct SpecifierContextThisHostTests {
    func seeded(_ files: [String: String]) throws -> String {
        var template = Array("/tmp/warden-host-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        for (path, text) in files {
            try FileManager.default.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: root + path, atomically: true, encoding: .utf8)
        }
        return root
    }

    /// The identity files are read below `root`; os-release falls back to /usr/lib.
    @Test func readsTheHostsIdentityFiles() throws {
        let root = try seeded([
            "/etc/machine-id": "00112233445566778899aabbccddeeff\n",
            "/proc/sys/kernel/random/boot_id": "01234567-89ab-cdef-0123-456789abcdef\n",
            "/usr/lib/os-release": "ID=debian\nVERSION_ID=\"12\"\n",
            "/etc/machine-info": "PRETTY_HOSTNAME='Box one'\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let context = SpecifierContext.ofThisHost(root: root)
        let unit = UnitName(prefix: "a", kind: .service)
        #expect(context.expand("%m %b %o %w %q", for: unit) == .success("00112233445566778899aabbccddeeff 0123456789abcdef0123456789abcdef debian 12 Box one"))
        // uname and the user are this process's own.
        #expect(context.kernelRelease?.isEmpty == false)
        #expect(context.architecture != nil)
        #expect(context.userID == geteuid() && context.groupID == getegid())
        #expect(context.userName != nil && context.groupName != nil && context.homeDirectory != nil && context.shell != nil)
    }

    /// On this machine, every specifier of systemd.unit(5) resolves.
    @Test(.enabled(if: HostIdentity.isComplete, HostIdentity.missing))
    func everySpecifierResolvesHere() {
        let context = SpecifierContext.ofThisHost()
        let unit = UnitName(prefix: "a", instance: "b", kind: .service)
        for specifier in SpecifierContext.knownSpecifiers {
            let result = context.expand("%\(specifier)", for: unit, fragmentPath: "/etc/warden/a@.service")
            if case .failure(let error) = result { Issue.record("%\(specifier): \(error)") }
        }
    }
}

/// Whether this machine has every file the specifiers are read from (a container may lack
/// /etc/machine-id).
enum HostIdentity {
    static var isComplete: Bool {
        let context = SpecifierContext.ofThisHost()
        return context.machineID != nil && context.bootID != nil && context.osID != nil && context.architecture != nil
            && context.kernelRelease != nil
    }

    static let missing: Comment = "needs /etc/machine-id, boot_id, an os-release and an architecture systemd names"
}
