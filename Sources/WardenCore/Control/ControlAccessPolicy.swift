/// Who may do what on the control socket. Pure: the caller supplies the peer's
/// credentials (`SO_PEERCRED` and its supplementary groups) and the configured groups.
public struct ControlAccessPolicy: Hashable, Sendable {
    /// `ControlSocketGroup=`: every operation.
    public var controlGroupID: UInt32?
    /// `ReadOnlyGroup=`: `status` and `logs`.
    public var readOnlyGroupID: UInt32?

    public init(controlGroupID: UInt32? = nil, readOnlyGroupID: UInt32? = nil) {
        self.controlGroupID = controlGroupID
        self.readOnlyGroupID = readOnlyGroupID
    }

    /// What a peer may do: `.all`, `.readOnly`, or `.none`.
    public enum Grant: Hashable, Sendable { case all, readOnly, none }

    /// Root, or the control group among the peer's groups (primary or supplementary),
    /// gets everything; the read-only group gets read-only operations.
    public func grant(userID: UInt32, groupIDs: [UInt32]) -> Grant {
        if userID == 0 { return .all }
        if let controlGroupID, groupIDs.contains(controlGroupID) { return .all }
        if let readOnlyGroupID, groupIDs.contains(readOnlyGroupID) { return .readOnly }
        return .none
    }

    /// Nil when allowed; otherwise the `forbidden` error to answer.
    public func check(_ operation: ControlOperation, userID: UInt32, groupIDs: [UInt32]) -> ControlError? {
        switch grant(userID: userID, groupIDs: groupIDs) {
        case .all: return nil
        case .readOnly where operation.isReadOnly: return nil
        case .readOnly:
            return ControlError(.forbidden, "uid \(userID) may only read (ReadOnlyGroup=); '\(operation.rawValue)' needs root or ControlSocketGroup=")
        case .none:
            return ControlError(.forbidden, "uid \(userID) is neither root nor in ControlSocketGroup=/ReadOnlyGroup=")
        }
    }
}
