import WardenCore
import WardenLinux

/// A cgroup interface file (`cgroup.events`, `memory.events`) watched on the event loop:
/// kernfs reports `EPOLLPRI|EPOLLERR` while the file changed since this descriptor last
/// read it, and reading it again re-arms the notification. The loop is level-triggered,
/// so every wake-up reads, or it would spin. Reading is all it does: the file may be in a
/// group that is systemd's (a transient scope).
struct CgroupFileWatch {
    let fd: Int32
    let registration: EventLoop.RegistrationID

    /// Nil when the file cannot be opened beneath `directory` or registered.
    static func open(_ file: String, beneath directory: Int32, loop: EventLoop, changed: @escaping () -> Void) -> CgroupFileWatch? {
        guard let fd = Descriptors.openForReading(file, beneath: directory) else { return nil }
        Descriptors.readAndDiscard(fd)
        do {
            let registration = try loop.register(fd: fd, for: [.priority]) { _ in
                Descriptors.readAndDiscard(fd)
                changed()
            }
            return CgroupFileWatch(fd: fd, registration: registration)
        } catch {
            RuntimeDescriptors.close(fd)
            return nil
        }
    }

    func cancel(on loop: EventLoop) {
        loop.unregister(registration)
        RuntimeDescriptors.close(fd)
    }
}
