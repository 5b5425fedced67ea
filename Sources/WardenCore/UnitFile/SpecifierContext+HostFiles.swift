extension SpecifierContext {
    /// The context for this host from the texts of its identity files, as the effects
    /// layer read them (nil for a file that could not be read):
    ///
    /// - `machineID`: /etc/machine-id, 32 hex digits (`%m`);
    /// - `bootID`: /proc/sys/kernel/random/boot_id, a UUID, given without dashes (`%b`);
    /// - `osRelease`: /etc/os-release, else /usr/lib/os-release (`%o %w %W %B %M %A`; a
    ///   field the file lacks is empty, as in systemd);
    /// - `machineInfo`: /etc/machine-info, whose `PRETTY_HOSTNAME=` is `%q`;
    /// - `kernelRelease` and `unameMachine`: `uname -r` (`%v`) and `uname -m` (`%a`).
    ///
    /// A malformed machine or boot ID is treated as missing: its specifier is then an
    /// error rather than a wrong value.
    public static func host(
        hostname: String, machineID: String?, bootID: String?, osRelease: String?, machineInfo: String?,
        kernelRelease: String?, unameMachine: String?, littleEndian: Bool = true
    ) -> SpecifierContext {
        var context = SpecifierContext(hostname: hostname)
        context.machineID = machineID.flatMap { id128($0, dashes: false) }
        context.bootID = bootID.flatMap { id128($0, dashes: true) }
        context.kernelRelease = kernelRelease.flatMap { $0.isEmpty ? nil : $0 }
        context.architecture = unameMachine.flatMap { SystemdArchitecture.name(unameMachine: $0, littleEndian: littleEndian) }
        if let osRelease {
            let fields = assignments(osRelease, file: "os-release")
            context.osID = fields["ID"] ?? ""
            context.osVersionID = fields["VERSION_ID"] ?? ""
            context.osVariantID = fields["VARIANT_ID"] ?? ""
            context.osBuildID = fields["BUILD_ID"] ?? ""
            context.osImageID = fields["IMAGE_ID"] ?? ""
            context.osImageVersion = fields["IMAGE_VERSION"] ?? ""
        }
        if let machineInfo, let pretty = assignments(machineInfo, file: "machine-info")["PRETTY_HOSTNAME"], !pretty.isEmpty {
            context.prettyHostname = pretty
        }
        return context
    }

    /// The last assignment of each name in a file of `NAME=value` lines.
    private static func assignments(_ text: String, file: String) -> [String: String] {
        var values: [String: String] = [:]
        for assignment in EnvironmentFileParser.parse(text, file: file).assignments {
            values[assignment.name] = assignment.value
        }
        return values
    }

    /// 32 lowercase hex digits from a file holding an ID, with its trailing newline and,
    /// for a UUID, its dashes; nil when the text is not such an ID.
    private static func id128(_ text: String, dashes: Bool) -> String? {
        var digits = ""
        for character in text.trimmingWhitespace() {
            if dashes && character == "-" { continue }
            guard character.isHexDigit else { return nil }
            digits.append(Character(character.lowercased()))
        }
        return digits.count == 32 ? digits : nil
    }
}
