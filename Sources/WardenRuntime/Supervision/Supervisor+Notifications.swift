import Logging
import WardenCore
import WardenLinux

/// The components' sd_notify messages (loop thread).
extension Supervisor {
    // MARK: Notifications

    func notified(_ notification: NotifySocket.Notification) {
        guard phase == .running || phase == .shuttingDown else { return }
        let sender = notification.senderPID
        guard let c = owner(of: sender) else {
            logger.debug("notification from pid \(sender), which belongs to no component; ignored")
            rememberNotifyStranger(sender)
            return
        }
        let message = notification.message
        for note in message.ignoredAssignments {
            logger.notice("notification ignored in part: \(note)", metadata: unit(c))
        }
        var events: [ComponentNotification] = []
        if let pid = message.mainPID { events.append(.mainPID(pid)) }
        if let status = message.status { events.append(.status(status)) }
        if message.reloading { events.append(.reloading) }
        if message.stopping { events.append(.stopping) }
        if message.ready { events.append(.ready) }
        if message.watchdogPing { events.append(.watchdogPing) }
        if message.watchdogTrigger { events.append(.watchdogTrigger) }
        if let usec = message.extendTimeoutUSec { events.append(.extendTimeout(TimeSpan(usec: usec))) }
        for event in events { queue.append((c, .notify(event))) }
        pump()
    }

    /// systemd's `NotifyAccess=main`, extended to the main process's descendants (a
    /// wrapper script's child may speak for it): the component whose main process is the
    /// sender or an ancestor of it. The walk up reads one `/proc/PID/stat` per ancestor,
    /// never the whole process table.
    func owner(of pid: Int32) -> Component? {
        let candidates = allComponents.filter { $0.main != nil }
        if let exact = candidates.first(where: { $0.main?.pid == pid }) { return exact }
        var current = pid
        for _ in 0..<64 {
            guard let entry = ProcessTable.entry(of: current), entry.parentPID > 1 else { return nil }
            current = entry.parentPID
            if let owner = candidates.first(where: { $0.main?.pid == current }) { return owner }
        }
        return nil
    }

    /// Whether a notification from `pid` is worth parsing: not when the pid was found,
    /// within the last second, to belong to no component. Anyone on the host may write
    /// to the notify socket (services run as other users, as under systemd); a flood
    /// from outside the stack then costs one lookup per datagram, and a second later the
    /// pid is looked at again (it may have become a component's, or been recycled).
    func admitsNotificationSender(_ pid: Int32) -> Bool {
        guard let until = notifyStrangers[pid] else { return true }
        if MonotonicInstant(usec: EventLoop.monotonicNanoseconds() / 1_000) < until { return false }
        notifyStrangers[pid] = nil
        return true
    }

    /// Remembers a sender that spoke for no component (`admitsNotificationSender`); the
    /// memory is bounded, and forgetting early only costs another look.
    func rememberNotifyStranger(_ pid: Int32) {
        if notifyStrangers.count >= 4096 { notifyStrangers.removeAll(keepingCapacity: true) }
        notifyStrangers[pid] = MonotonicInstant(usec: EventLoop.monotonicNanoseconds() / 1_000).advanced(by: .seconds(1))
    }
}
