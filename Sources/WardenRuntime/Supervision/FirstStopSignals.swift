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
    private var rehearsed = false

    /// Keeps `signals` for the next SIGTERM, with room to note each one sent, and pays
    /// once for the first use of what runs between the first signal and the CPU passing
    /// to the programs' handlers: noting a signal sent (the Swift runtime works out the
    /// dictionary's generic metadata at its first use, tens of µs) and
    /// `ProcessControl.passProcessor`. From the first signal on, that path allocates
    /// nothing, pages nothing in and asks the runtime for nothing.
    mutating func prepare(_ signals: [Signal], afterPump pump: UInt64) {
        self.signals = signals
        preparedAfterPump = pump
        sentAhead.reserveCapacity(sentAhead.count + signals.count)
        if !rehearsed, !signals.isEmpty {
            // Pid 0 is never a main process's.
            note(0, sentTo: 0)
            sentAhead[0] = nil
            ProcessControl.passProcessor(rehearsal: true)
            rehearsed = true
        }
    }

    /// One body for the rehearsal and the real note: inlined, the two would be compiled
    /// apart and the rehearsal would not pay for the other.
    @inline(never)
    private mutating func note(_ signal: Int32, sentTo pid: Int32) {
        sentAhead[pid] = signal
    }

    /// Sends the prepared signals when nothing happened since they were worked out;
    /// returns how many went out.
    mutating func sendAhead(currentPump pump: UInt64) -> Int {
        guard preparedAfterPump == pump else { return 0 }
        var sent = 0
        for signal in signals where signal.component.main?.pid == signal.pid && signal.component.main?.pidfd == signal.pidfd {
            if (try? ProcessControl.sendSignal(signal.number, toPidfd: signal.pidfd)) != nil {
                note(signal.number, sentTo: signal.pid)
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
