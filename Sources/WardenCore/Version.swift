/// Warden's version, printed by `warden --version` and reported on the control socket.
public let wardenVersion = "0.1.0"
