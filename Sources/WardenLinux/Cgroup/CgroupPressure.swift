import Glibc
import WardenCore

/// PSI per group: `cpu.pressure`, `memory.pressure`, `io.pressure`. Absent on kernels
/// built without PSI or booted with `psi=0` (UML here), which leaves the fields nil.
enum CgroupPressure {
    static func stat(of group: CgroupDirectory, into stats: inout CgroupStats) throws(CgroupError) {
        stats.cpuPressure = try read(group, "cpu.pressure")
        stats.memoryPressure = try read(group, "memory.pressure")
        stats.ioPressure = try read(group, "io.pressure")
    }

    static func read(_ group: CgroupDirectory, _ file: String) throws(CgroupError) -> Pressure? {
        // EOPNOTSUPP: the file exists but PSI was disabled at boot.
        let text: String?
        do { text = try group.readIfPresent(file) } catch where error.errno == EOPNOTSUPP { return nil }
        guard let text else { return nil }
        return try parsed(group, file) { () throws(CgroupParseError) in try Pressure.parse(text, file: file) }
    }
}
