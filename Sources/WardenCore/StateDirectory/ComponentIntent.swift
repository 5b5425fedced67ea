/// What Warden was doing to a component's running main process when it wrote the record:
/// written before the first signal or stop command goes out, so a Warden killed in the
/// middle leaves the next one knowing that the process it finds was on its way out and
/// why. A record without one is of a process Warden meant to keep running.
public enum ComponentIntent: String, CaseIterable, Hashable, Sendable {
    /// An operator's `warden stop`: the component stays down until an operator starts it.
    case stop
    /// An operator's `warden restart`: stopped, then started again.
    case restart
    /// A reload changed the unit: stopped, then started with the new settings.
    case replace
}
