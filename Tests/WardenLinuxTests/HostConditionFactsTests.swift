import Foundation
import Testing
import WardenCore
import WardenLinux

/// systemd-detect-virt's order over a seeded directory: the container first, then the VM.
@Suite struct VirtualizationDetectorTests {
    struct Case: Sendable, CustomStringConvertible {
        var files: [String: String]
        var cpuid: String?
        var container: String?
        var vm: String?
        var description: String { "\(files.keys.sorted()) cpuid=\(cpuid ?? "-")" }
    }

    static let cases: [Case] = [
        Case(files: [:], cpuid: nil, container: nil, vm: nil),
        Case(files: ["/.dockerenv": ""], cpuid: "KVMKVMKVM", container: "docker", vm: "kvm"),
        Case(files: ["/run/.containerenv": "", "/.dockerenv": ""], cpuid: nil, container: "podman", vm: nil),
        // /run/systemd/container wins over the files.
        Case(files: ["/run/systemd/container": "systemd-nspawn\n", "/.dockerenv": ""], cpuid: nil, container: "systemd-nspawn", vm: nil),
        Case(files: ["/run/systemd/container": "lxc\n"], cpuid: nil, container: "lxc", vm: nil),
        Case(files: ["/run/systemd/container": "oci\n"], cpuid: nil, container: "container-other", vm: nil),
        Case(files: ["/proc/1/environ": "PATH=/bin\u{0}container=podman\u{0}"], cpuid: nil, container: "podman", vm: nil),
        Case(files: ["/proc/sys/kernel/osrelease": "5.15.90.1-microsoft-standard-WSL2\n"], cpuid: "Microsoft Hv", container: "wsl", vm: "microsoft"),
        Case(files: ["/proc/vz": ""], cpuid: nil, container: "openvz", vm: nil),
        Case(files: ["/sys/class/dmi/id/sys_vendor": "QEMU\n"], cpuid: "KVMKVMKVM", container: nil, vm: "kvm"),
        Case(files: ["/sys/class/dmi/id/sys_vendor": "QEMU\n"], cpuid: "TCGTCGTCGTCG", container: nil, vm: "qemu"),
        Case(files: ["/sys/class/dmi/id/sys_vendor": "QEMU\n"], cpuid: nil, container: nil, vm: "qemu"),
        Case(files: ["/sys/class/dmi/id/product_name": "VirtualBox\n"], cpuid: "KVMKVMKVM", container: nil, vm: "oracle"),
        Case(files: ["/sys/class/dmi/id/sys_vendor": "Amazon EC2\n"], cpuid: "KVMKVMKVM", container: nil, vm: "amazon"),
        Case(files: ["/sys/class/dmi/id/sys_vendor": "VMware, Inc.\n"], cpuid: "VMwareVMware", container: nil, vm: "vmware"),
        Case(files: [:], cpuid: "SomethingNew", container: nil, vm: "vm-other"),
        Case(files: ["/proc/cpuinfo": "processor\t: 0\nvendor_id\t: User Mode Linux\n"], cpuid: nil, container: nil, vm: "uml"),
        Case(files: ["/sys/hypervisor/type": "xen\n"], cpuid: nil, container: nil, vm: "xen"),
        Case(files: ["/sys/class/dmi/id/bios_vendor": "Dell Inc.\n"], cpuid: nil, container: nil, vm: nil),
    ]

    @Test(arguments: cases)
    func detects(_ c: Case) throws {
        let root = NSTemporaryDirectory() + "warden-virt-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (path, text) in c.files {
            let full = root + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: false, encoding: .utf8)
        }
        let signature = c.cpuid
        let found = VirtualizationDetector(root: root, cpuidSignature: { signature }).detect()
        #expect(found.container == c.container)
        #expect(found.virtualMachine == c.vm)
        #expect(found.innermost == c.container ?? c.vm ?? "none")
    }
}

/// The real host's answers, against files made for the test and against systemd's own
/// evaluation (`systemd-analyze condition`) where it is installed.
@Suite struct HostConditionFactsTests {
    @Test func pathChecks() throws {
        let root = NSTemporaryDirectory() + "warden-cond-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/hidden-only", withIntermediateDirectories: true)
        try "".write(toFile: root + "/hidden-only/.keep", atomically: false, encoding: .utf8)
        try "x".write(toFile: root + "/file", atomically: false, encoding: .utf8)
        try "".write(toFile: root + "/zero", atomically: false, encoding: .utf8)
        try "#!/bin/sh\n".write(toFile: root + "/script", atomically: false, encoding: .utf8)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/script")
        try fm.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/script")
        let facts = HostConditionFacts()
        let table: [(ConditionTest.PathTest, String, Bool)] = [
            (.exists, "/file", true), (.exists, "/missing", false), (.exists, "/link", true),
            (.isDirectory, "/empty", true), (.isDirectory, "/file", false),
            (.isSymbolicLink, "/link", true), (.isSymbolicLink, "/script", false),
            (.directoryNotEmpty, "/empty", false), (.directoryNotEmpty, "/hidden-only", false),
            (.directoryNotEmpty, "", true), (.directoryNotEmpty, "/file", false),
            (.fileNotEmpty, "/file", true), (.fileNotEmpty, "/zero", false), (.fileNotEmpty, "/empty", false),
            (.fileIsExecutable, "/script", true), (.fileIsExecutable, "/link", true), (.fileIsExecutable, "/file", false),
            (.isReadWrite, "/file", true), (.isReadWrite, "/missing", false),
            (.isMountPoint, "/file", false), (.isEncrypted, "/missing", false),
        ]
        for (test, path, expected) in table {
            #expect(facts.pathTest(test, root + path) == expected, "\(test) \(path)")
        }
        #expect(facts.pathTest(.isMountPoint, "/proc") == true)
        #expect(facts.pathTest(.isEncrypted, "/proc") == false)
        #expect(facts.globMatches(root + "/scr*"))
        #expect(!facts.globMatches(root + "/nothing*"))
    }

    @Test func hostFactsAreRead() {
        let facts = HostConditionFacts()
        #expect(!facts.machine.isEmpty)
        #expect(!facts.kernelRelease.isEmpty)
        #expect(facts.cpuCount >= 1)
        #expect(facts.memoryBytes > 0)
        #expect(facts.osRelease["ID"] != nil)
        #expect(facts.managerEnvironment.contains { $0.hasPrefix("PATH=") })
        #expect(facts.groupIDs.contains(getgid()))
    }

    static let systemdAnalyze = "/usr/bin/systemd-analyze"

    static let compared = [
        "ConditionVirtualization=container", "ConditionVirtualization=vm", "ConditionVirtualization=yes",
        "ConditionVirtualization=docker", "ConditionVirtualization=kvm", "ConditionVirtualization=private-users",
        "ConditionFirstBoot=yes", "ConditionPathIsReadWrite=/", "ConditionPathIsReadWrite=/sys",
        "ConditionPathIsMountPoint=/proc", "ConditionPathIsMountPoint=/proc/sys/fs/binfmt_misc",
        "ConditionPathIsEncrypted=/", "ConditionSecurity=tpm2", "ConditionSecurity=audit", "ConditionSecurity=apparmor",
        "ConditionSecurity=selinux", "ConditionSecurity=uefi-secureboot", "ConditionCapability=CAP_SYS_ADMIN",
        "ConditionACPower=true", "ConditionNeedsUpdate=/etc", "ConditionNeedsUpdate=/var",
        "ConditionKernelVersion=>=4.0", "ConditionMemory=>=64M", "ConditionMemory=>=1P", "ConditionCPUs=>=1",
        "ConditionCPUs=>1024", "ConditionCPUFeature=sse2", "ConditionCPUFeature=rdseed", "ConditionCPUFeature=sha_ni",
        "ConditionOSRelease=ID=debian", "ConditionControlGroupController=v2", "ConditionControlGroupController=v1",
        "ConditionControlGroupController=memory", "ConditionControlGroupController=cpu frobnicate",
        "ConditionPathIsReadWrite=/nonexistent", "ConditionPathIsMountPoint=/nonexistent",
        "ConditionDirectoryNotEmpty=/nonexistent", "ConditionPathIsEncrypted=/nonexistent", "ConditionUser=65534",
        "ConditionHost=nonmatching", "ConditionFirmware=smbios-field(bios_vendor = x)", "ConditionMemoryPressure=100%", "ConditionUser=@system",
        "ConditionGroup=root", "ConditionFirmware=uefi", "ConditionFirmware=device-tree", "ConditionArchitecture=native",
        "ConditionKernelCommandLine=quiet", "ConditionEnvironment=PATH", "ConditionHost=*",
    ]

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: systemdAnalyze), "systemd-analyze is not installed"))
    func agreesWithSystemd() throws {
        let evaluator = ConditionEvaluator(facts: HostConditionFacts())
        for line in Self.compared {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.systemdAnalyze)
            process.arguments = ["condition", line]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            let systemd = process.terminationStatus == 0
            let equals = line.firstIndex(of: "=")!
            let condition = try UnitCondition.parse(key: String(line[..<equals]), value: String(line[line.index(after: equals)...])).get()
            let verdict = evaluator.evaluate(conditions: [condition], asserts: [])
            #expect((verdict.outcome == .met) == systemd, "\(line): systemd says \(systemd ? "met" : "unmet")")
        }
    }
}
