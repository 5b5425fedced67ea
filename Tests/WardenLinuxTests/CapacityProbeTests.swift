import Glibc
import Testing
import WardenCore
@testable import WardenLinux

@Suite struct CapacityProbeTests {
    /// A seeded root as a container with a private cgroup namespace sees it: its own group
    /// is `/warden.supervisor`, the mount's root is the container's group with its limits.
    @Test("reads cpuset, cpu.max and memory.max from Warden's group up to the mount's root")
    func seededContainer() throws {
        var template = Array("/tmp/warden-capacity-XXXXXX".utf8CString)
        let root = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
        defer { _ = system("rm -rf '\(root)'") }
        let files = [
            "/sys/devices/system/cpu/online": "0-7\n",
            "/proc/meminfo": "MemTotal:       32768000 kB\nMemAvailable:   30000000 kB\n",
            "/proc/self/cgroup": "0::/warden.supervisor\n",
            "/sys/fs/cgroup/cpu.max": "200000 100000\n",
            "/sys/fs/cgroup/memory.max": "2147483648\n",
            "/sys/fs/cgroup/warden.supervisor/cpu.max": "max 100000\n",
            "/sys/fs/cgroup/warden.supervisor/memory.max": "max\n",
            "/sys/fs/cgroup/warden.supervisor/cpuset.cpus.effective": "0-3\n",
        ]
        for (path, text) in files {
            let full = root + path
            _ = system("mkdir -p '\(full[..<full.lastIndex(of: "/")!])'")
            try FileIO.writeAtomically(Array(text.utf8), to: full)
        }
        let capacity = CapacityProbe.read(root: root)
        #expect(capacity.onlineCPUs == 8)
        #expect(capacity.cpus == 2)
        #expect(capacity.quotaGroup == "/")
        #expect(capacity.memoryBytes == 2 << 30)
        #expect(HostProbe.facts(root: root).physicalMemoryBytes == 2 << 30)
    }
}
