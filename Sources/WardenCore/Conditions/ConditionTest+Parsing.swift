extension ConditionTest {
    /// Parses the argument of a `Condition<kind>=`/`Assert<kind>=` line (without the `|`
    /// and `!` prefixes).
    public static func parse(_ kind: ConditionKind, _ text: String) -> Result<ConditionTest, ValueError> {
        let argument = text.trimmingWhitespace()
        func bad(_ expected: String) -> Result<ConditionTest, ValueError> {
            .failure(.notA(argument, "a valid \(kind.key(assert: false))= argument", expected: expected))
        }
        switch kind {
        case .architecture:
            if argument == "native" || architectures.contains(argument) { return .success(.architecture(argument)) }
            return bad("one of \(architectures.joined(separator: ", ")) or native")
        case .firmware:
            return parseFirmware(argument).map { .success(.firmware($0)) } ?? bad(kind.syntax)
        case .virtualization:
            switch argument {
            case "vm": return .success(.virtualization(.vm))
            case "container": return .success(.virtualization(.container))
            case "private-users": return .success(.virtualization(.privateUsers))
            default:
                if case .success(let flag) = SystemdBoolean.parse(argument) { return .success(.virtualization(.any(flag))) }
                if virtualMachines.contains(argument) || containers.contains(argument) {
                    return .success(.virtualization(.technology(argument)))
                }
                return bad("a boolean, vm, container, private-users or one of \((virtualMachines + containers).joined(separator: ", "))")
            }
        case .host:
            return argument.isEmpty ? bad(kind.syntax) : .success(.host(argument))
        case .kernelCommandLine:
            return argument.isEmpty ? bad(kind.syntax) : .success(.kernelCommandLine(argument))
        case .kernelVersion:
            guard case .success(let words) = SystemdWords.split(argument), !words.isEmpty else { return bad(kind.syntax) }
            var expressions: [VersionExpression] = []
            var pending: ComparisonOperator?
            for word in words {
                if let op = pending {
                    expressions.append(VersionExpression(key: "", op: op, value: word))
                    pending = nil
                    continue
                }
                if let (op, rest) = ComparisonOperator.split(Substring(word), vocabulary: .versionStringOrGlob) {
                    let value = String(rest).trimmingWhitespace()
                    if let first = value.first, "<>!=$".contains(first) {
                        return .failure(
                            ValueError(
                                "'\(word)' does not start with a valid operator; expected one of = != < <= == <> >= > $= !$= followed by a version"))
                    }
                    if value.isEmpty { pending = op } else { expressions.append(VersionExpression(key: "", op: op, value: value)) }
                } else if let first = word.first, "<>!=$".contains(first) {
                    return .failure(
                        ValueError(
                            "'\(word)' does not start with a valid operator; expected one of = != < <= == <> >= > $= !$= followed by a version"))
                } else {
                    expressions.append(VersionExpression(key: "", op: .globMatch, value: word))
                }
            }
            if let op = pending {
                return .failure(ValueError("operator '\(op.rawValue)' is not followed by a version; expected e.g. >=5.10"))
            }
            return .success(.kernelVersion(expressions))
        case .credential:
            // systemd's credential_name_valid(): a valid file name, at most NAME_MAX.
            guard !argument.isEmpty, argument != ".", argument != "..", !argument.contains("/"), argument.utf8.count <= 255
            else { return bad("a credential name (a file name without /)") }
            return .success(.credential(argument))
        case .environment:
            return argument.isEmpty ? bad(kind.syntax) : .success(.environment(argument))
        case .security:
            guard let technology = SecurityTechnology(rawValue: argument) else {
                return bad("one of \(SecurityTechnology.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .success(.security(technology))
        case .capability:
            guard let number = CapabilitySet.number(named: argument) else { return bad("a capability name such as CAP_SYS_ADMIN") }
            return .success(.capability(number))
        case .acPower, .firstBoot:
            guard case .success(let flag) = SystemdBoolean.parse(argument) else { return bad("a boolean (yes or no)") }
            return .success(kind == .acPower ? .acPower(flag) : .firstBoot(flag))
        case .needsUpdate:
            var directory = argument
            while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
            guard directory == "/etc" || directory == "/var" else { return bad("/etc or /var") }
            return .success(.needsUpdate(directory))
        case .pathExistsGlob:
            guard argument.hasPrefix("/") else { return bad("an absolute path glob") }
            return .success(.pathGlob(argument))
        case .pathExists, .pathIsDirectory, .pathIsSymbolicLink, .pathIsMountPoint, .pathIsReadWrite, .pathIsEncrypted,
            .directoryNotEmpty, .fileNotEmpty, .fileIsExecutable:
            guard argument.hasPrefix("/") else { return bad("an absolute path") }
            let test: PathTest
            switch kind {
            case .pathIsDirectory: test = .isDirectory
            case .pathIsSymbolicLink: test = .isSymbolicLink
            case .pathIsMountPoint: test = .isMountPoint
            case .pathIsReadWrite: test = .isReadWrite
            case .pathIsEncrypted: test = .isEncrypted
            case .directoryNotEmpty: test = .directoryNotEmpty
            case .fileNotEmpty: test = .fileNotEmpty
            case .fileIsExecutable: test = .fileIsExecutable
            default: test = .exists
            }
            return .success(.path(test, argument))
        case .user:
            if argument == "@system" { return .success(.user(.system)) }
            if let uid = UInt32(argument) { return .success(.user(.uid(uid))) }
            if case .success = UserGroupName.parse(argument) { return .success(.user(.name(argument))) }
            return bad(kind.syntax)
        case .group:
            if UInt32(argument) != nil { return .success(.group(argument)) }
            if case .success = UserGroupName.parse(argument) { return .success(.group(argument)) }
            return bad(kind.syntax)
        case .controlGroupController:
            if argument == "v1" { return .success(.controlGroupController(.version(1))) }
            if argument == "v2" { return .success(.controlGroupController(.version(2))) }
            let words = argument.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !words.isEmpty else { return bad(kind.syntax) }
            return .success(.controlGroupController(.controllers(words)))
        case .memory, .cpus:
            var rest = Substring(argument)
            var op = ComparisonOperator.greaterOrEqual
            if let (parsed, after) = ComparisonOperator.split(rest, vocabulary: .order), !(after.first.map { "<>!=$".contains($0) } ?? false) {
                op = parsed
                rest = after
            } else if let first = rest.first, "<>!=$".contains(first) {
                return bad("an operator < <= = == != <> >= > followed by a \(kind == .memory ? "size" : "number")")
            }
            let value = String(rest).trimmingWhitespace()
            if kind == .cpus {
                guard let count = UInt64(value) else { return bad("[OP]COUNT, e.g. >=2") }
                return .success(.cpus(op, count: count))
            }
            switch ByteSize.parse(value) {
            case .success(let bytes): return .success(.memory(op, bytes: bytes))
            case .failure: return bad("[OP]SIZE, e.g. >=1G (suffixes K, M, G, T, P, E)")
            }
        case .cpuFeature:
            guard cpuFeatures.contains(argument) else { return bad("one of \(cpuFeatures.joined(separator: ", "))") }
            return .success(.cpuFeature(argument))
        case .osRelease:
            guard case .success(let words) = SystemdWords.split(argument), !words.isEmpty else { return bad(kind.syntax) }
            var expressions: [VersionExpression] = []
            for word in words {
                let key = word.prefix(while: { !"!<=>$".contains($0) })
                guard !key.isEmpty,
                    let (op, value) = ComparisonOperator.split(word.dropFirst(key.count), vocabulary: .versionStringOrGlob)
                else {
                    return .failure(
                        ValueError("'\(word)' is not KEY OP VALUE; expected e.g. ID=debian or VERSION_ID>=12 (OP one of = != < <= == <> >= > $= !$=)"))
                }
                guard !value.isEmpty else {
                    return .failure(ValueError("'\(word)' has no value after its operator; expected e.g. ID=debian or VERSION_ID>=12"))
                }
                expressions.append(VersionExpression(key: String(key), op: op, value: String(value)))
            }
            return .success(.osRelease(expressions))
        case .memoryPressure, .cpuPressure, .ioPressure:
            let resource: PressureResource = kind == .memoryPressure ? .memory : (kind == .cpuPressure ? .cpu : .io)
            return parsePressure(argument).map { .success(.pressure(resource, $0)) } ?? bad("[SLICE:]N%[/10sec|/1min|/5min], e.g. 20% or 10%/1min")
        }
    }

    private static func parseFirmware(_ text: String) -> FirmwareTest? {
        switch text {
        case "uefi": return .uefi
        case "device-tree": return .deviceTree
        default: break
        }
        func inner(_ prefix: String) -> String? {
            guard text.hasPrefix(prefix + "("), text.hasSuffix(")") else { return nil }
            return String(text.dropFirst(prefix.count + 1).dropLast())
        }
        if let value = inner("device-tree-compatible") { return value.isEmpty ? nil : .deviceTreeCompatible(value) }
        if let expression = inner("smbios-field") {
            let field = expression.prefix(while: { !"!<=>$ \t".contains($0) })
            guard !field.isEmpty, !field.contains("/") else { return nil }
            let rest = expression.dropFirst(field.count).drop(while: { $0 == " " || $0 == "\t" })
            guard let (op, value) = ComparisonOperator.split(rest, vocabulary: .versionStringOrGlob) else { return nil }
            return .smbiosField(String(field), op, String(value).trimmingWhitespace())
        }
        return nil
    }

    private static func parsePressure(_ text: String) -> PressureThreshold? {
        var rest = Substring(text)
        var slice: String?
        if let colon = rest.firstIndex(of: ":") {
            let name = String(rest[..<colon])
            guard name.hasSuffix(".slice"), UnitName(parsing: name) != nil else { return nil }
            slice = name
            rest = rest[rest.index(after: colon)...]
        }
        var window = 300
        if let slash = rest.firstIndex(of: "/") {
            switch rest[rest.index(after: slash)...] {
            case "10sec": window = 10
            case "1min": window = 60
            case "5min": window = 300
            default: return nil
            }
            rest = rest[..<slash]
        }
        guard rest.hasSuffix("%") else { return nil }
        let number = rest.dropLast()
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int(parts[0]), whole >= 0, whole <= 100 else { return nil }
        var fraction = 0
        if parts.count == 2 {
            guard (1...2).contains(parts[1].count), let f = Int(parts[1]), f >= 0 else { return nil }
            fraction = parts[1].count == 1 ? f * 10 : f
        }
        let permyriad = whole * 100 + fraction
        guard permyriad <= 10_000 else { return nil }
        return PressureThreshold(slice: slice, permyriad: permyriad, windowSeconds: window)
    }
}
