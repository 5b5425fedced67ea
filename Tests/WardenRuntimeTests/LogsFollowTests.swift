import Glibc
import Testing
import WardenCore
import WardenLinux

/// `warden logs NAME -f` against a real `warden run`: lines arrive in order with none
/// repeated or skipped, and the follower ends cleanly when the daemon stops.
@Suite(.serialized) struct LogsFollowTests {
    @Test func followPrintsNewLinesInOrderAndEndsWithTheDaemon() throws {
        guard let warden = BuiltBinary.warden else {
            print("skipped: warden is not built next to the test bundle")
            return
        }
        let workspace = Workspace()
        workspace.unit("ticker.service", """
            [Service]
            ExecStart=/bin/sh -c 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done'
            """)
        _ = workspace.load()  // writes warden.conf
        let state = workspace.root + "/state"
        let daemonLog = workspace.path("warden.log")
        let daemon = try spawnLogged(
            [warden, "run", "--config", workspace.root + "/warden.conf", "--state-dir", state], stderrPath: daemonLog)
        defer { killAndReap(daemon) }
        let socket = state + "/control.sock"
        #expect(eventually(within: 20) { access(socket, F_OK) == 0 }, "log: \(readText(daemonLog))")

        let followed = workspace.path("followed.txt")
        let follower = try spawnLogged([warden, "logs", "ticker", "-n", "1", "-f", "--socket", socket], stderrPath: followed)
        defer { killAndReap(follower) }
        func ticks() -> [Int] {
            readText(followed).split(separator: "\n").compactMap { line in
                line.hasPrefix("tick ") ? Int(line.dropFirst(5)) : nil
            }
        }
        #expect(eventually(within: 20) { ticks().count >= 20 }, "follower printed: \(readText(followed))")
        let seen = ticks()
        // Consecutive: the first line is the newest at start (-n 1), then each new one once.
        if let first = seen.first {
            #expect(seen == Array(first..<(first + seen.count)), "not consecutive: \(seen)")
        }

        kill(daemon, SIGTERM)
        #expect(waitExit(daemon, within: 30) == 0, "daemon log: \(readText(daemonLog))")
        #expect(waitExit(follower, within: 10) == 0, "follower output: \(readText(followed))")
        #expect(readText(followed).contains("-- the Warden daemon stopped --"))
    }
}
