import Glibc

/// Starts Warden's own threads (the event loop's, the host-name resolver's) with every
/// signal blocked in them. Signals reach Warden only through the loop's signalfd
/// (`EventLoop.signal`); a thread with a signal unblocked would take it instead, and
/// SIGTERM's default action ends the whole process.
enum SignalBlockedThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Runs `body` on a new thread and returns its handle; the calling thread's signal
    /// mask is unchanged. A detached thread's handle is only for identification.
    /// Throws with `pthread_create`'s error, naming the thread as `name`.
    @discardableResult
    static func start(
        _ name: String, detached: Bool = false, _ body: @escaping @Sendable () -> Void
    ) throws(ProcessControlError) -> pthread_t {
        let context = Unmanaged.passRetained(Body(body))
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        // A new thread inherits the mask of the thread that creates it.
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context.toOpaque())
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        guard rc == 0 else {
            context.release()
            throw ProcessControlError(operation: "pthread_create (\(name))", errno: rc)
        }
        if detached { pthread_detach(handle) }
        return handle
    }
}
