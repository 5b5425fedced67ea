import CWardenShims
import Glibc
import WardenCore

extension ExitStatus {
    /// From `siginfo_t.si_code` (`CLD_*`) and `si_status` as `waitid` fills them.
    public init(waitCode: Int32, status: Int32) {
        switch waitCode {
        case Int32(CLD_EXITED): self = .exited(code: status)
        case Int32(CLD_DUMPED): self = .killed(signal: status, coreDumped: true)
        default: self = .killed(signal: status, coreDumped: false)
        }
    }
}
