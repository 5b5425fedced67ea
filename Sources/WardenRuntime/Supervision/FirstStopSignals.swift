import WardenCore
import WardenLinux

/// The stop signals a shutdown would send first, worked out in advance at the end of a
/// pump while the stack is settled, so that SIGTERM from a container runtime reaches the
/// components before any planning: the shutdown's own plan then runs as always and
/// sends each of these signals only if it was not sent already. Valid only until the
/// next pump begins (any event may change what a shutdown would do).
struct FirstStopSignals {
    struct Signal {
        let component: Component
        let pid: Int32
        let pidfd: Int32
        let number: Int32
    }

    private(set) var signals: [Signal] = []
    /// The pump after which `signals` were worked out.
    private(set) var preparedAfterPump: UInt64?
    /// Main processes signalled ahead of the plan: pid → signal, taken back by the plan's
    /// own signal so the program gets it once.
    private var sentAhead: [Int32: Int32] = [:]

    mutating func prepare(_ signals: [Signal], afterPump pump: UInt64) {
        self.signals = signals
        preparedAfterPump = pump
    }

    /// Sends the prepared signals when nothing happened since they were worked out;
    /// returns how many went out.
    mutating func sendAhead(currentPump pump: UInt64) -> Int {
        guard preparedAfterPump == pump else { return 0 }
        var sent = 0
        for signal in signals where signal.component.main?.pid == signal.pid && signal.component.main?.pidfd == signal.pidfd {
            if (try? ProcessControl.sendSignal(signal.number, toPidfd: signal.pidfd)) != nil {
                sentAhead[signal.pid] = signal.number
                sent += 1
            }
        }
        signals = []
        preparedAfterPump = nil
        return sent
    }

    /// True when `pid` already got `signal` ahead of the plan (once: the next asks again).
    mutating func wasSentAhead(_ signal: Int32, to pid: Int32) -> Bool {
        guard sentAhead[pid] == signal else { return false }
        sentAhead[pid] = nil
        return true
    }
}
