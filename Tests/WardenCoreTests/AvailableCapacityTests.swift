import Testing
@testable import WardenCore

@Suite struct AvailableCapacityTests {
    @Test("a container's cpu.max and cpuset narrow the machine's CPUs; the tightest limit on the way up wins")
    func cpus() {
        var capacity = AvailableCapacity(onlineCPUs: 8, physicalMemoryBytes: 32 << 30)
        #expect(capacity.cpus == 8 && !capacity.isLimited)
        capacity.narrow(group: "/pod/warden.supervisor", cpuMax: "max 100000\n", memoryMax: "max\n")
        #expect(capacity.cpus == 8)
        capacity.narrow(group: "/pod", cpuMax: "150000 100000\n", memoryMax: "4294967296\n")
        #expect(capacity.cpus == 2)  // ⌈1.5⌉
        capacity.narrow(group: "/", cpuMax: nil, memoryMax: nil)
        #expect(capacity.quotaGroup == "/pod")
        capacity.restrict(cpuset: "0\n")
        #expect(capacity.cpus == 1)
        #expect(capacity.memoryBytes == 4 << 30 && capacity.memoryLimitGroup == "/pod")
        #expect(capacity.isLimited)
        #expect(capacity.summary.hasPrefix("1 CPU of 8 online (cpuset of 1, cpu.max 1.50 CPUs at /pod), 4.0 GiB of 32.0 GiB (memory.max at /pod)"))
    }

    @Test("malformed or absent files change nothing", arguments: ["", "garbage", "100000", "0 100000", "50000 0", "-5 100000"])
    func malformed(cpuMax: String) {
        var capacity = AvailableCapacity(onlineCPUs: 4, physicalMemoryBytes: nil)
        capacity.narrow(group: "/x", cpuMax: cpuMax, memoryMax: "max")
        capacity.restrict(cpuset: "not a list")
        #expect(capacity.cpus == 4 && capacity.memoryBytes == nil && capacity.quotaCPUs == nil)
    }
}
