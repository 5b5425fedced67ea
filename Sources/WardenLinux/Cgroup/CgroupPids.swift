import Glibc
import WardenCore

/// The `pids` controller: `pids.max` is written through the plain writer; `pids.current` read here.
enum CgroupPids {
    static func stat(of group: CgroupDirectory, into stats: inout CgroupStats) throws(CgroupError) {
        if let text = try group.readIfPresent("pids.current") {
            stats.pidsCurrent = try parsed(group, "pids.current") { () throws(CgroupParseError) in
                try CgroupFileFormat.singleValue(text, file: "pids.current")
            }
        }
    }
}
