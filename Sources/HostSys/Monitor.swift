import Glibc

/// A mutex with a condition variable (pthread), for Sentry threads that block until another
/// thread changes shared state: wait4 until a child exits, a pipe read until data arrives.
/// Tracer threads are OS threads, so blocking them here is what they are for.
public final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)  // deadlines are monotonic
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` holding the mutex.
    public func locked<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a `broadcast` (or a spurious wake-up); call with the mutex held, in a loop
    /// that re-checks the condition.
    public func wait() {
        pthread_cond_wait(condition, mutex)
    }

    /// Like `wait`, but gives up at `deadline` (Clock.monotonicNanoseconds); returns false
    /// when the deadline passed.
    public func wait(deadline: UInt64) -> Bool {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &time) != ETIMEDOUT
    }

    /// Wakes every waiter; call with the mutex held.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
