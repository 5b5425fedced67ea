// The operator's surface under load: `status` over the control socket and a
// `/metrics` scrape over TCP, with 10, 100 and 1000 components running.
//
//   warden-bench surface [--requests N]
//
// Each size runs its own `warden run` with `MetricsListen=` on a free loopback port and
// N `warden-bench-child sleep` components (one process each). A status request is
// timed from connect to the last byte of the answer line, a scrape from connect to the
// server's close; the first scrape (which creates every series) is reported on its own.
import Foundation
import Glibc

/// A free TCP port on 127.0.0.1 (bound and released: a small race, fine on a bench host).
func freeLoopbackPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = bind(fd, $0, length)
            _ = getsockname(fd, $0, &length)
        }
    }
    return UInt16(bigEndian: address.sin_port)
}

/// One `status` request on a fresh connection; the answer line, or nil.
func controlStatus(socketPath: String) -> [UInt8]? {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        let bytes = Array(socketPath.utf8.prefix(raw.count - 1))
        raw.copyBytes(from: bytes + [0])
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else { return nil }
    return exchange(fd, "{\"v\":1,\"id\":1,\"op\":\"status\"}\n", endsWithNewline: true)
}

/// One `GET /metrics` on a fresh connection; the whole response, or nil.
func scrapeMetrics(port: UInt16) -> [UInt8]? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    return exchange(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", endsWithNewline: false)
}

/// Sends `request` on a connected socket and reads the answer: up to the first read that
/// ends in a newline (a control answer is one line), or to the end of the stream (HTTP
/// with the server closing). nil on an error or an early end.
private func exchange(_ fd: Int32, _ text: String, endsWithNewline: Bool) -> [UInt8]? {
    let request = Array(text.utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        if n == 0 { return endsWithNewline ? nil : answer }
        answer += buffer[0..<n]
        if endsWithNewline && buffer[n - 1] == UInt8(ascii: "\n") { return answer }
    }
}

/// The value of an unlabeled sample in an exposition.
func sampleValue(_ exposition: String, _ name: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1))
    }
    return nil
}

func benchmarkOperatorSurface(sizes: [Int], requests: Int) {
    for size in sizes {
        let port = freeLoopbackPort()
        var units: [String: String] = [:]
        let events = NSTemporaryDirectory() + "warden-bench-surface\(size)-\(getpid())/events"
        for i in 0..<size {
            units[String(format: "c%04d.service", i)] = "[Service]\nExecStart=\(childBinary) sleep \(events)\n"
        }
        let run = WardenRun(name: "surface\(size)", units: units)
        let conf = """
            [Warden]
            UnitDirectories=units
            StateDirectory=\(run.directory)/state
            ShutdownBudgetSec=60s
            MetricsListen=127.0.0.1:\(port)
            [Governor]
            Enabled=no

            """
        try! conf.write(toFile: run.directory + "/warden.conf", atomically: true, encoding: .utf8)
        _ = run.start()
        _ = run.waitFor(timeoutSeconds: 300, "\(size) components started") { $0.filter { $0.kind == "start" }.count >= size }
        let socketPath = run.directory + "/state/control.sock"
        let log = (try? String(contentsOfFile: run.directory + "/warden.log", encoding: .utf8)) ?? ""
        let cgroups = log.contains("running without cgroups") ? "no cgroups (usage from /proc/PID/stat)" : "cgroups"
        print("\(size) components: \(size + 1) processes (warden + \(size) warden-bench-child), \(cgroups)")

        // Everything answered and complete before timing.
        guard let first = controlStatus(socketPath: socketPath) else { run.stop(); fail("no status answer on \(socketPath)") }
        let names = String(decoding: first, as: UTF8.self).components(separatedBy: "\"name\":").count - 1
        guard names == size else { run.stop(); fail("status listed \(names) components, expected \(size)") }
        let firstStart = monotonicNanoseconds()
        guard let firstScrape = scrapeMetrics(port: port) else { run.stop(); fail("no answer from 127.0.0.1:\(port)/metrics") }
        let firstScrapeMs = Double(monotonicNanoseconds() - firstStart) / 1e6
        let firstText = String(decoding: firstScrape, as: UTF8.self)
        guard firstText.hasPrefix("HTTP/1.1 200 ") else { run.stop(); fail("scrape answered \(firstText.prefix(40))") }

        var statusTimes: [Double] = []
        let cpuBeforeStatus = cpuMilliseconds(of: run.pid)
        for _ in 0..<requests {
            let start = monotonicNanoseconds()
            guard controlStatus(socketPath: socketPath) != nil else { run.stop(); fail("status failed") }
            statusTimes.append(Double(monotonicNanoseconds() - start) / 1e6)
        }
        let statusCPU = (cpuMilliseconds(of: run.pid) - cpuBeforeStatus) / Double(requests)
        var scrapeTimes: [Double] = []
        var last: [UInt8] = []
        let cpuBeforeScrapes = cpuMilliseconds(of: run.pid)
        for _ in 0..<requests {
            let start = monotonicNanoseconds()
            guard let answer = scrapeMetrics(port: port) else { run.stop(); fail("scrape failed") }
            scrapeTimes.append(Double(monotonicNanoseconds() - start) / 1e6)
            last = answer
        }
        let scrapeCPU = (cpuMilliseconds(of: run.pid) - cpuBeforeScrapes) / Double(requests)
        let text = String(decoding: last, as: UTF8.self)
        let samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("HTTP/") && $0.contains(" ") && !$0.contains(": ") }.count
        let render = sampleValue(text, "warden_metrics_render_seconds").map { String(format: "%.3f ms", $0 * 1e3) } ?? "?"
        let rss = sampleValue(text, "process_resident_memory_bytes").map { String(format: "%.1f MB", $0 / 1e6) } ?? "?"
        report("status, \(size) components", Summary(values: statusTimes).line + String(format: "  warden CPU %.2f ms/request", statusCPU))
        report("/metrics scrape, \(size) components", Summary(values: scrapeTimes).line + String(format: "  warden CPU %.2f ms/request", scrapeCPU))
        report(
            "  scrape detail, \(size) components",
            String(format: "first scrape %.3f ms; %d samples, %d KB; render in warden %@; warden RSS %@",
                   firstScrapeMs, samples, last.count / 1024, render as NSString, rss as NSString))
        stopTimed(run, components: size)
    }
}

/// utime + stime of a process, all threads, in milliseconds (`/proc/PID/stat`): the
/// daemon's own cost of the requests, which a busy machine's scheduling does not inflate
/// as much as the wall time.
func cpuMilliseconds(of pid: pid_t) -> Double {
    cpuSeconds(of: pid) * 1000
}

/// SIGTERM and wait (up to 10 minutes), printing how long the graceful stop of every
/// component took: with many components that is a figure of its own.
func stopTimed(_ run: WardenRun, components: Int) {
    let start = monotonicNanoseconds()
    kill(run.pid, SIGTERM)
    guard waitExit(run.pid, timeoutSeconds: 600) != nil else {
        kill(run.pid, SIGKILL)
        _ = waitExit(run.pid, timeoutSeconds: 5)
        fail("warden did not stop \(components) components within 600 s of SIGTERM; log: \(run.directory)/warden.log")
    }
    report("  shutdown, \(components) components", String(format: "%.0f ms from SIGTERM to warden's exit", Double(monotonicNanoseconds() - start) / 1e6))
    run.pid = 0
    try? FileManager.default.removeItem(atPath: run.directory)
}
