import Glibc
import Testing
import WardenCore
@testable import WardenLinux

// The re-adoption records: every save is read back whole, whatever was there before
// (the spare file the swap leaves behind is longer or shorter than the new contents).
@Suite("Component record store")
struct ComponentRecordStoreTests {
    static func record(_ unit: String, pid: Int32, cgroup: String? = nil) -> ComponentRecord {
        ComponentRecord(
            unit: unit, process: ProcessIdentity(pid: pid, startTimeTicks: UInt64(pid) * 10), cgroup: cgroup,
            invocationID: String(repeating: "ab", count: 16))
    }

    static let one = [record("a.service", pid: 101)]
    static let three = [
        record("a.service", pid: 101, cgroup: "/warden/a.service"),
        record("b.service", pid: 202, cgroup: "/warden/b.service"),
        record("c.service", pid: 303, cgroup: "/warden/a-much-longer-slice-name.slice/c.service"),
    ]
    static let other = [record("z.service", pid: 4_000_000)]

    /// Saves in order; after each, the file holds exactly the last list.
    @Test(arguments: [
        [one],
        [one, three],
        [three, one],
        [three, one, three, other, one],
        [other, other, other],
    ])
    func everySaveReadsBackWhole(_ saves: [[ComponentRecord]]) throws {
        let directory = makeDirectory()
        defer { removeDirectory(directory) }
        let store = ComponentRecordStore(stateDirectory: directory)
        for records in saves {
            try store.save(records)
            let contents = store.load()
            let (loaded, problems) = (contents.records, contents.problems)
            #expect(problems.isEmpty)
            #expect(Set(loaded) == Set(records))
        }
    }

    @Test("an empty save and remove() leave neither the file nor its spare")
    func removalClearsBothFiles() throws {
        let directory = makeDirectory()
        defer { removeDirectory(directory) }
        let store = ComponentRecordStore(stateDirectory: directory)
        try store.save(Self.three)
        try store.save(Self.one)
        #expect(access(store.path + ".tmp", F_OK) == 0, "the swap keeps the previous records as the spare")
        try store.save([])
        #expect(access(store.path, F_OK) != 0)
        #expect(access(store.path + ".tmp", F_OK) != 0)
        #expect(store.load().records.isEmpty)
    }

    func makeDirectory() -> String {
        var template = Array("/tmp/warden-records-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        return String(cString: template)
    }

    func removeDirectory(_ path: String) {
        for name in LocalFileSystem().listDirectory(path) ?? [] { unlink(path + "/" + name) }
        rmdir(path)
    }
}
