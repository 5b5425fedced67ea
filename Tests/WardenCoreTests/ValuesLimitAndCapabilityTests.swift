import Testing
@testable import WardenCore

@Suite struct ValuesResourceLimitTests {
    static let valid: [(ResourceLimitKind, String, UInt64?, UInt64?)] = [
        (.openFiles, "1024", 1024, 1024), (.openFiles, "1024:524288", 1024, 524_288), (.openFiles, "infinity", nil, nil),
        (.openFiles, "1024:infinity", 1024, nil), (.openFiles, "0", 0, 0), (.openFiles, "infinity:infinity", nil, nil),
        (.core, "infinity", nil, nil), (.core, "8M", 8_388_608, 8_388_608), (.core, "0:1G", 0, 1_073_741_824),
        (.stack, "8M:infinity", 8_388_608, nil), (.cpu, "30", 30, 30), (.cpu, "2min", 120, 120), (.cpu, "1.5", 2, 2),
        (.cpu, "500ms", 1, 1), (.cpu, "0", 0, 0), (.cpu, "infinity", nil, nil), (.cpu, "1h:2h", 3600, 7200),
        (.realtimeTime, "500000", 500_000, 500_000), (.realtimeTime, "500ms", 500_000, 500_000),
        (.realtimeTime, "1s:2s", 1_000_000, 2_000_000), (.realtimeTime, "1", 1, 1), (.realtimeTime, "infinity", nil, nil),
        (.nice, "+0", 20, 20), (.nice, "+19", 1, 1), (.nice, "-20", 40, 40), (.nice, "-5", 25, 25), (.nice, "0", 0, 0),
        (.nice, "40", 40, 40), (.nice, "10", 10, 10), (.nice, "-0", 20, 20), (.nice, "+5:-5", 15, 25),
        (.lockedMemory, "64K", 65_536, 65_536), (.processes, "4096", 4096, 4096), (.pendingSignals, "100", 100, 100),
        (.realtimePriority, "99", 99, 99), (.fileLocks, "10", 10, 10), (.messageQueue, "800K", 819_200, 819_200),
        (.addressSpace, "4G", 4_294_967_296, 4_294_967_296), (.data, "1G", 1_073_741_824, 1_073_741_824),
        (.fileSize, "1T", 1_099_511_627_776, 1_099_511_627_776), (.residentSet, "1G:2G", 1_073_741_824, 2_147_483_648),
    ]

    @Test(arguments: valid)
    func parsesLimits(kind: ResourceLimitKind, text: String, soft: UInt64?, hard: UInt64?) {
        #expect(ResourceLimit.parse(text, kind: kind) == .success(ResourceLimit(soft: soft, hard: hard)))
    }

    static let invalid: [(ResourceLimitKind, String, String)] = [
        (.openFiles, "", "LimitNOFILE"), (.openFiles, "abc", "4096"), (.openFiles, "1024:512", "soft limit"),
        (.openFiles, "infinity:1024", "soft limit"), (.openFiles, "1:2:3", "SOFT:HARD"), (.openFiles, ":5", "SOFT:HARD"),
        (.openFiles, "5:", "SOFT:HARD"), (.openFiles, "-1", "4096"), (.openFiles, "18446744073709551615", "out of range"),
        (.openFiles, "1K", "4096"), (.nice, "+20", "out of range"), (.nice, "-21", "out of range"),
        (.nice, "41", "out of range"), (.nice, "x", "-20 to 19"), (.nice, "infinity", "-20 to 19"),
        (.core, "4g", "8M"), (.cpu, "abc", "2min"), (.cpu, "-1", "2min"), (.realtimeTime, "5x", "500ms"),
        (.stack, "1G:1M", "soft limit"), (.processes, "lots", "infinity"),
    ]

    @Test(arguments: invalid)
    func rejectsBadLimits(kind: ResourceLimitKind, text: String, reason: String) {
        expectValueError(ResourceLimit.parse(text, kind: kind), mentions: ["'\(text)'", kind.rawValue, reason])
    }

    @Test(arguments: [(UInt64?(1024), UInt64?(1024), "1024"), (1024, 524_288, "1024:524288"), (nil, nil, "infinity"),
                      (1024, nil, "1024:infinity"), (nil, 5, "infinity:5"), (0, 0, "0")])
    func formatsLikeRlimitFormat(soft: UInt64?, hard: UInt64?, text: String) {
        #expect(ResourceLimit(soft: soft, hard: hard).description == text)
    }

    @Test func linuxResourceNumbers() {
        #expect(ResourceLimitKind.cpu.linuxResource == 0)
        #expect(ResourceLimitKind.processes.linuxResource == 6)
        #expect(ResourceLimitKind.openFiles.linuxResource == 7)
        #expect(ResourceLimitKind.lockedMemory.linuxResource == 8)
        #expect(ResourceLimitKind.addressSpace.linuxResource == 9)
        #expect(ResourceLimitKind.nice.linuxResource == 13)
        #expect(ResourceLimitKind.realtimeTime.linuxResource == 15)
        #expect(Set(ResourceLimitKind.allCases.map(\.linuxResource)) == Set(0...15))
        #expect(ResourceLimitKind(rawValue: "LimitNOFILE") == .openFiles)
    }
}

@Suite struct ValuesCapabilityTests {
    static func bit(_ n: Int) -> UInt64 { UInt64(1) << UInt64(n) }

    @Test(arguments: [("CAP_CHOWN", 0), ("cap_sys_admin", 21), ("CAP_CHECKPOINT_RESTORE", 40), ("cAp_KiLl", 5),
                      ("12", 12), ("62", 62), ("CAP_NET_BIND_SERVICE", 10), ("CAP_NET_RAW", 13), ("CAP_SYS_NICE", 23),
                      ("CAP_SYS_RESOURCE", 24), ("CAP_SYS_PTRACE", 19), ("CAP_AUDIT_READ", 37), ("CAP_PERFMON", 38),
                      ("CAP_BPF", 39), ("CAP_SETFCAP", 31), ("CAP_MAC_ADMIN", 33), ("CAP_SYSLOG", 34)])
    func knowsCapabilityNumbers(name: String, number: Int) {
        #expect(CapabilitySet.number(named: name) == number)
    }

    @Test(arguments: ["63", "-1", "CHOWN", "CAP_FOO", "", "CAP_CHOWN "])
    func refusesUnknownCapabilities(name: String) {
        #expect(CapabilitySet.number(named: name) == nil)
    }

    @Test func tableIsComplete() {
        #expect(CapabilitySet.names.count == 41)
        #expect(Set(CapabilitySet.names).count == 41)
        #expect(CapabilitySet.names.allSatisfy { $0.hasPrefix("CAP_") })
    }

    static let assignments: [(String, UInt64)] = [
        ("CAP_NET_BIND_SERVICE CAP_KILL", (UInt64(1) << 10) | (UInt64(1) << 5)), ("", 0),
        ("~", (UInt64(1) << 63) - 1), ("~CAP_SYS_ADMIN", ((UInt64(1) << 63) - 1) & ~(UInt64(1) << 21)),
        ("  CAP_KILL  ", UInt64(1) << 5), ("cap_kill\tCAP_CHOWN", (UInt64(1) << 5) | 1), ("0 1 2", 7),
        ("CAP_KILL CAP_KILL", UInt64(1) << 5),
    ]

    @Test(arguments: assignments)
    func parsesAssignments(text: String, bits: UInt64) {
        #expect(CapabilityAssignment.parse(text) == .success(CapabilityAssignment(set: CapabilitySet(bits: bits))))
    }

    @Test(arguments: [("CAP_FOO", "CAP_FOO"), ("CAP_KILL,CAP_CHOWN", "CAP_KILL,CAP_CHOWN"), ("~~CAP_KILL", "~CAP_KILL"),
                      ("CAP_KILL 99", "99")])
    func rejectsUnknownNames(text: String, word: String) {
        expectValueError(CapabilityAssignment.parse(text), mentions: ["'\(word)'", "'\(text)'", "CAP_NET_BIND_SERVICE"])
    }

    static let folds: [(CapabilityKey, [String], UInt64)] = [
        (.boundingSet, [], (UInt64(1) << 63) - 1), (.boundingSet, ["CAP_KILL"], UInt64(1) << 5),
        (.boundingSet, ["CAP_KILL", "CAP_CHOWN"], (UInt64(1) << 5) | 1),
        (.boundingSet, ["CAP_KILL", "", "CAP_CHOWN"], 1),
        (.boundingSet, ["~CAP_SYS_ADMIN"], ((UInt64(1) << 63) - 1) & ~(UInt64(1) << 21)),
        (.boundingSet, ["~CAP_SYS_ADMIN", "CAP_SYS_ADMIN"], (UInt64(1) << 63) - 1),
        (.boundingSet, ["CAP_KILL", "~CAP_KILL"], (UInt64(1) << 63) - 1),
        (.boundingSet, ["~", "CAP_KILL"], UInt64(1) << 5), (.boundingSet, [""], 0),
        (.ambient, [], 0), (.ambient, ["CAP_NET_RAW"], UInt64(1) << 13),
        (.ambient, ["CAP_NET_RAW", "CAP_KILL"], (UInt64(1) << 13) | (UInt64(1) << 5)),
        (.ambient, ["CAP_NET_RAW", ""], 0), (.ambient, ["", "CAP_KILL"], UInt64(1) << 5),
    ]

    @Test(arguments: folds)
    func foldsAssignmentsAsSystemd(key: CapabilityKey, lines: [String], bits: UInt64) {
        #expect(CapabilitySet.fold(lines, key: key) == .success(CapabilitySet(bits: bits)))
    }

    @Test func foldReportsTheBadLine() {
        expectValueError(CapabilitySet.fold(["CAP_KILL", "CAP_NOPE"], key: .ambient), mentions: ["'CAP_NOPE'"])
    }

    static let descriptions: [(UInt64, String)] = [
        ((UInt64(1) << 5) | 1, "CAP_CHOWN CAP_KILL"), (0, ""), ((UInt64(1) << 63) - 1, "~"),
        (((UInt64(1) << 63) - 1) & ~(UInt64(1) << 21), "~CAP_SYS_ADMIN"), (UInt64(1) << 45, "45"),
        ((UInt64(1) << 41) - 1, CapabilitySet.names.joined(separator: " ")),
    ]

    @Test(arguments: descriptions)
    func formatsNamesAndParsesBack(bits: UInt64, text: String) throws {
        #expect(CapabilitySet(bits: bits).description == text)
        #expect(try CapabilityAssignment.parse(text).get().set == CapabilitySet(bits: bits))
    }

    @Test func masksToTheRunningKernel() {
        #expect(CapabilitySet.all.effectiveBits(lastCapability: 40) == (UInt64(1) << 41) - 1)
        #expect(CapabilitySet.all.effectiveBits(lastCapability: 63) == CapabilitySet.all.bits)
        #expect(CapabilitySet([5, 21]).numbers == [5, 21])
    }
}

@Suite struct ValuesExitStatusTests {
    static let valid: [(String, Set<Int32>, Set<Int32>)] = [
        ("0 75 SIGKILL", [0, 75], [9]), ("TEMPFAIL", [75], []), ("SUCCESS FAILURE", [0, 1], []), ("255", [255], []),
        ("EXCEPTION", [255], []), ("SIGHUP SIGTERM", [], [1, 15]), ("KILL", [], [9]), ("15", [15], []),
        ("CHDIR EXEC", [200, 203], []), ("", [], []), ("NUMA_POLICY", [242], []), ("  1   2  ", [1, 2], []),
        ("SIGRTMIN+1", [], [35]), ("USAGE CONFIG", [64, 78], []), ("NOTRUNNING", [7], []), ("0x10", [16], []),
        ("INVALIDARGUMENT NOPERMISSION", [2, 4], []), ("OOM_ADJUST CREDENTIALS BPF", [206, 243, 245], []),
    ]

    @Test(arguments: valid)
    func parsesExitStatusLists(text: String, codes: Set<Int32>, signals: Set<Int32>) {
        #expect(ExitStatusSet.parse(text) == .success(ExitStatusSet(codes: codes, signals: signals)))
    }

    @Test(arguments: [("256", "out of range"), ("-1", "neither"), ("tempfail", "neither"), ("SIGFOO", "neither"),
                      ("1,2", "neither"), ("0 75 SIGNOPE", "neither")])
    func rejectsBadWords(text: String, reason: String) {
        expectValueError(ExitStatusSet.parse(text), mentions: ["'\(text)'", reason, "TEMPFAIL"])
    }

    static let folds: [([String], Set<Int32>, Set<Int32>)] = [
        (["1 2", "3"], [1, 2, 3], []), (["1", "", "2"], [2], []), (["SIGKILL", "5"], [5], [9]), ([], [], []),
        (["1", " "], [], []),
    ]

    @Test(arguments: folds)
    func foldsLines(lines: [String], codes: Set<Int32>, signals: Set<Int32>) {
        #expect(ExitStatusSet.fold(lines) == .success(ExitStatusSet(codes: codes, signals: signals)))
    }

    @Test func formatsCodesThenSignals() throws {
        let set = ExitStatusSet(codes: [75, 0], signals: [15, 9])
        #expect(set.systemdString == "0 75 SIGKILL SIGTERM")
        #expect(try ExitStatusSet.parse(set.systemdString).get() == set)
    }

    @Test func nameTableMatchesSystemdNumbers() {
        #expect(ExitStatusName.code(named: "TEMPFAIL") == 75)
        #expect(ExitStatusName.code(named: "EXEC") == 203)
        #expect(ExitStatusName.code(named: "PAM") == 224)
        #expect(ExitStatusName.code(named: "CHOWN") == 235)
        #expect(Set(ExitStatusName.table.map(\.code)).count == ExitStatusName.table.count)
    }
}
