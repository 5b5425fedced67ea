import Glibc
import Testing
@testable import WardenLinux

@Suite struct NotifySocketAddressTests {
    private func makeDirectory(mode: mode_t) -> String {
        var template = Array("/tmp/warden-notify-address-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let path = String(cString: made!)
        chmod(path, mode)
        return path
    }

    @Test("a state directory everyone may enter holds the socket file")
    func searchableDirectoryHoldsThePath() {
        let directory = makeDirectory(mode: 0o755)
        defer { rmdir(directory) }
        #expect(NotifySocketAddress.forStateDirectory(directory) == directory + "/notify.sock")
    }

    @Test("a 0700 state directory, or one below it, gets the abstract name, the same each time")
    func privateDirectoryGetsAnAbstractName() {
        let directory = makeDirectory(mode: 0o700)
        mkdir(directory + "/state", 0o755)
        defer {
            rmdir(directory + "/state")
            rmdir(directory)
        }
        for state in [directory, directory + "/state"] {
            let address = NotifySocketAddress.forStateDirectory(state)
            #expect(address.hasPrefix("@warden-") && address.hasSuffix("/notify"))
            #expect(address.utf8.count == "@warden-".utf8.count + 16 + "/notify".utf8.count)
            #expect(NotifySocketAddress.forStateDirectory(state) == address)
        }
        #expect(NotifySocketAddress.forStateDirectory(directory) != NotifySocketAddress.forStateDirectory(directory + "/state"))
    }

    @Test("a state directory too deep for sockaddr_un gets the abstract name")
    func deepDirectoryGetsAnAbstractName() {
        let deep = "/tmp/" + String(repeating: "d", count: 110)
        #expect(NotifySocketAddress.forStateDirectory(deep).hasPrefix("@warden-"))
    }
}
