/// systemd's `condition_test_list()` over a unit's conditions, then its asserts, with the
/// host's answers from a `ConditionFacts`. Pure: the same facts give the same verdict.
///
/// The combination rule (systemd.unit(5)): every regular condition must hold; when there
/// are triggering (`|`) conditions, at least one of them must hold too. `!` inverts a
/// check. Asserts follow the same rule and are tested only when the conditions are met.
public struct ConditionEvaluator {
    public var facts: any ConditionFacts

    public init(facts: any ConditionFacts) {
        self.facts = facts
    }

    public func evaluate(conditions: [UnitCondition], asserts: [UnitCondition]) -> ConditionVerdict {
        var unevaluated: [UnitCondition] = []
        if let failed = failing(conditions, &unevaluated) {
            return ConditionVerdict(outcome: .conditionUnmet(failed), unevaluated: unevaluated)
        }
        if let failed = failing(asserts, &unevaluated) {
            return ConditionVerdict(outcome: .assertFailed(failed), unevaluated: unevaluated)
        }
        return ConditionVerdict(outcome: .met, unevaluated: unevaluated)
    }

    /// The conditions that make the list fail, or nil when it holds. As systemd, the
    /// first failing regular condition ends the test.
    private func failing(_ list: [UnitCondition], _ unevaluated: inout [UnitCondition]) -> [UnitCondition]? {
        var triggers: [UnitCondition] = []
        var triggered = false
        for condition in list {
            let holds: Bool
            if let result = check(condition.test) {
                holds = result != condition.isNegated
            } else {
                unevaluated.append(condition)
                holds = true
            }
            if !condition.isTriggering {
                if !holds { return [condition] }
            } else {
                triggers.append(condition)
                if holds { triggered = true }
            }
        }
        return triggers.isEmpty || triggered ? nil : triggers
    }

    /// The check without `!`: true, false, or nil when it cannot be told here.
    public func check(_ test: ConditionTest) -> Bool? {
        switch test {
        case .architecture(let name):
            let wanted = name == "native" ? Self.nativeArchitecture ?? Self.systemdArchitecture(machine: facts.machine) : name
            return Self.systemdArchitecture(machine: facts.machine) == wanted
        case .firmware(let firmware):
            return checkFirmware(firmware)
        case .virtualization(let wanted):
            let found = facts.virtualization
            switch wanted {
            case .any(let flag): return (found.container != nil || found.virtualMachine != nil) == flag
            case .vm: return found.container == nil && found.virtualMachine != nil
            case .container: return found.container != nil
            case .privateUsers: return found.privateUsers
            case .technology(let name): return found.innermost == name
            }
        case .host(let wanted):
            if let id = Self.machineID(wanted) { return facts.machineID == id }
            return ShellGlob.matches(wanted.lowercased(), facts.hostname.lowercased())
        case .kernelCommandLine(let wanted):
            return Self.commandLine(facts.kernelCommandLine, has: wanted)
        case .kernelVersion(let expressions):
            let release = facts.kernelRelease
            return expressions.allSatisfy { $0.op.test(version: release, against: $0.value) }
        case .credential(let name):
            for variable in ["CREDENTIALS_DIRECTORY", "ENCRYPTED_CREDENTIALS_DIRECTORY"] {
                guard let directory = environmentValue(variable), directory.hasPrefix("/") else { continue }
                if facts.pathTest(.exists, directory + "/" + name) == true { return true }
            }
            return false
        case .environment(let wanted):
            if wanted.contains("=") { return facts.managerEnvironment.contains(wanted) }
            return facts.managerEnvironment.contains { $0.hasPrefix(wanted + "=") }
        case .security(let technology):
            return checkSecurity(technology)
        case .capability(let number):
            return facts.boundingCapabilities.contains(number)
        case .acPower(let wanted):
            return facts.onACPower == wanted
        case .needsUpdate(let directory):
            return needsUpdate(directory)
        case .firstBoot(let wanted):
            if let forced = Self.commandLineBoolean(facts.kernelCommandLine, "systemd.condition-first-boot") {
                return forced == wanted
            }
            return (facts.pathTest(.exists, "/run/systemd/first-boot") == true) == wanted
        case .path(let kind, let path):
            return facts.pathTest(kind, path)
        case .pathGlob(let pattern):
            return facts.globMatches(pattern)
        case .user(let match):
            return checkUser(match)
        case .group(let name):
            guard let gid = UInt32(name) ?? facts.groupID(named: name) else { return false }
            return facts.groupIDs.contains(gid)
        case .controlGroupController(let wanted):
            switch wanted {
            case .version(let version): return facts.cgroupVersion == version
            case .controllers(let names):
                // systemd ignores names it does not know; with none known the check holds.
                let known = names.filter { ConditionTest.knownControllers.contains($0) }
                var available = facts.cgroupControllers
                if available.contains("cpu") { available.insert("cpuacct") }
                guard known.filter({ !$0.hasPrefix("bpf-") }).allSatisfy({ available.contains($0) }) else { return false }
                // The BPF pseudo-controllers exist only on the unified hierarchy; whether the
                // kernel lets programs be attached there is not told by any file.
                guard known.contains(where: { $0.hasPrefix("bpf-") }) else { return true }
                return facts.cgroupVersion == 2 ? nil : false
            }
        case .memory(let op, let bytes):
            return op.test(number: facts.memoryBytes, against: bytes)
        case .cpus(let op, let count):
            return op.test(number: UInt64(max(0, facts.cpuCount)), against: count)
        case .cpuFeature(let name):
            guard Self.isX86(facts.machine) else { return false }
            return facts.cpuFlags.contains(Self.cpuinfoFlag[name] ?? name)
        case .osRelease(let expressions):
            let fields = facts.osRelease
            return expressions.allSatisfy { $0.op.test(version: fields[$0.key] ?? "", against: $0.value) }
        case .pressure(let resource, let threshold):
            // A slice's own pressure needs its cgroup, which the condition cannot name
            // before the component runs: told as unknown.
            if threshold.slice != nil { return nil }
            // systemd: without PSI in the kernel, the check holds.
            guard let averages = facts.pressure(resource) else { return true }
            let line = averages.full ?? averages.some
            guard let current = line[threshold.windowSeconds] else { return true }
            return current <= threshold.permyriad
        }
    }

    private func environmentValue(_ name: String) -> String? {
        facts.managerEnvironment.first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    private func checkFirmware(_ firmware: ConditionTest.FirmwareTest) -> Bool {
        switch firmware {
        case .uefi:
            return facts.pathTest(.isDirectory, "/sys/firmware/efi") == true
        case .deviceTree:
            return facts.pathTest(.exists, "/sys/firmware/devicetree") == true
        case .deviceTreeCompatible(let value):
            guard let bytes = facts.readFile("/proc/device-tree/compatible") else { return false }
            return bytes.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == value }
        case .smbiosField(let field, let op, let value):
            guard let bytes = facts.readFile("/sys/class/dmi/id/" + field) else { return false }
            let actual = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
            return op.test(version: actual, against: value)
        }
    }

    private func checkSecurity(_ technology: ConditionTest.SecurityTechnology) -> Bool? {
        switch technology {
        case .selinux:
            return facts.pathTest(.exists, "/sys/fs/selinux/enforce") == true
        case .apparmor:
            guard let bytes = facts.readFile("/sys/module/apparmor/parameters/enabled") else { return false }
            return bytes.first == UInt8(ascii: "Y")
        case .tomoyo:
            return facts.pathTest(.exists, "/sys/kernel/security/tomoyo/version") == true
        case .ima:
            return facts.pathTest(.exists, "/sys/kernel/security/ima/") == true
        case .smack:
            return facts.pathTest(.isDirectory, "/sys/fs/smackfs") == true
        case .audit:
            return facts.auditAvailable
        case .uefiSecureboot:
            // The EFI variable: four bytes of attributes, then the value.
            guard let bytes = facts.readFile("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"),
                bytes.count >= 5
            else { return false }
            return bytes[4] == 1
        case .tpm2:
            // systemd 252: a TPM2 driver (a /sys/class/tpmrm device) is present.
            return facts.pathTest(.directoryNotEmpty, "/sys/class/tpmrm") == true
        }
    }

    /// systemd's `condition_test_needs_update()`.
    private func needsUpdate(_ directory: String) -> Bool {
        if let forced = Self.commandLineBoolean(facts.kernelCommandLine, "systemd.condition-needs-update") { return forced }
        // A read-only directory cannot be updated: no update is suggested.
        if facts.pathTest(.exists, directory) == true, facts.pathTest(.isReadWrite, directory) == false { return false }
        // Any other doubt answers yes: better too many update tools than too few.
        guard let stamp = facts.modificationTime(directory + "/.updated"), let usr = facts.modificationTime("/usr/")
        else { return true }
        if usr.seconds != stamp.seconds { return usr.seconds > stamp.seconds }
        if usr.nanoseconds == 0 || stamp.nanoseconds > 0 { return usr.nanoseconds > stamp.nanoseconds }
        // A file system without nanoseconds: the stamp file records them.
        guard let bytes = facts.readFile(directory + "/.updated") else { return true }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("TIMESTAMP_NSEC=") {
            guard let recorded = Int64(String(line.dropFirst("TIMESTAMP_NSEC=".count)).trimmingWhitespace()) else { return true }
            return usr.nanoseconds > recorded
        }
        return true
    }

    /// systemd's `condition_test_user()`.
    private func checkUser(_ match: ConditionTest.UserMatch) -> Bool {
        let uids = [facts.realUserID, facts.effectiveUserID]
        switch match {
        case .uid(let uid): return uids.contains(uid)
        case .system: return uids.contains { $0 <= Self.systemUIDMax }
        case .name(let name):
            if facts.userName == name { return true }
            guard let uid = facts.userID(named: name) else { return false }
            return uids.contains(uid)
        }
    }

    // MARK: Tables and text

    /// systemd's highest system UID (`SYSTEM_UID_MAX`, 999 on Debian).
    public static let systemUIDMax: UInt32 = 999

    /// The architecture Warden was built for, in systemd's names.
    public static var nativeArchitecture: String? {
        #if arch(x86_64)
            "x86-64"
        #elseif arch(arm64)
            "arm64"
        #elseif arch(i386)
            "x86"
        #else
            nil
        #endif
    }

    /// `uname -m` → systemd's name (`uname_architecture()`).
    public static func systemdArchitecture(machine: String) -> String {
        switch machine {
        case "x86_64": return "x86-64"
        case "i386", "i486", "i586", "i686": return "x86"
        case "aarch64": return "arm64"
        case "aarch64_be": return "arm64-be"
        case "ppc64le": return "ppc64-le"
        case "ppc64": return "ppc64"
        case "ppcle": return "ppc-le"
        case "ppc": return "ppc"
        case "mips": return "mips"
        case "mipsel": return "mips-le"
        case "mips64": return "mips64"
        case "mips64el": return "mips64-le"
        case "parisc64": return "parisc64"
        case "parisc": return "parisc"
        case "sh5": return "sh64"
        default:
            if machine.hasPrefix("arm") { return machine.hasSuffix("b") ? "arm-be" : "arm" }
            if machine.hasPrefix("sh") { return "sh" }
            return machine
        }
    }

    static func isX86(_ machine: String) -> Bool { ["x86", "x86-64"].contains(systemdArchitecture(machine: machine)) }

    /// systemd's CPUID feature names that /proc/cpuinfo spells differently.
    static let cpuinfoFlag: [String: String] = ["pclmul": "pclmulqdq", "fma3": "fma"]

    /// A machine ID written as 32 hex digits, with or without the UUID dashes.
    static func machineID(_ text: String) -> String? {
        let digits = text.filter { $0 != "-" }.lowercased()
        guard digits.count == 32, digits.allSatisfy({ $0.isHexDigit }) else { return nil }
        if text.contains("-") {
            let groups = text.split(separator: "-", omittingEmptySubsequences: false).map(\.count)
            guard groups == [8, 4, 4, 4, 12] else { return nil }
        }
        return digits
    }

    /// systemd's ConditionKernelCommandLine=: a word as is or as the left side of an
    /// assignment; an assignment exactly.
    static func commandLine(_ line: String, has wanted: String) -> Bool {
        let words = commandLineWords(line)
        if wanted.contains("=") { return words.contains(wanted) }
        return words.contains { $0 == wanted || $0.hasPrefix(wanted + "=") }
    }

    /// The value of a boolean option on the kernel command line (the last one wins); a
    /// bare option is yes.
    static func commandLineBoolean(_ line: String, _ name: String) -> Bool? {
        var result: Bool?
        for word in commandLineWords(line) {
            if word == name {
                result = true
            } else if word.hasPrefix(name + "="), case .success(let flag) = SystemdBoolean.parse(String(word.dropFirst(name.count + 1))) {
                result = flag
            }
        }
        return result
    }

    static func commandLineWords(_ line: String) -> [String] {
        if case .success(let words) = SystemdWords.split(line.trimmingWhitespace()) { return words }
        return line.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
    }
}
