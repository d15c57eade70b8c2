import Glibc

/// A mutex with a condition variable (pthread), for Sentry threads that block until another
/// thread changes shared state: wait4 until a child exits, a pipe read until data arrives.
/// Tracer threads are OS threads, so blocking them here is what they are for.
public final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` holding the mutex.
    public func locked<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a `broadcast` (or a spurious wake-up); call with the mutex held, in a loop
    /// that re-checks the condition.
    public func wait() {
        pthread_cond_wait(condition, mutex)
    }

    /// Wakes every waiter; call with the mutex held.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
