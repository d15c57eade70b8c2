import Glibc

/// A dedicated OS thread (pthread) running one closure: for loops that block in syscalls
/// (a file server's channel, a ptrace tracer), which must not occupy Swift's cooperative pool.
public enum HostThread {
    /// Gives way to other threads (sched_yield(2), which cannot fail).
    public static func yield() {
        _ = Glibc.sched_yield()
    }

    /// Starts a detached thread that runs `body` and exits.
    public static func detach(_ body: @escaping @Sendable () -> Void) throws(Errno) {
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(
            &thread, nil,
            { context in
                let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
                box.body()
                return nil
            }, context)
        guard code == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw Errno(code)
        }
        pthread_detach(thread)
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
