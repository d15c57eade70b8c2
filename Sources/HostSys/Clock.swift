import Glibc

/// The host's monotonic clock, for deadlines and liveness checks (not for guest time).
public enum Clock {
    /// Nanoseconds on CLOCK_MONOTONIC (clock_gettime(2), served by the vDSO).
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// The host's wall-clock (CLOCK_REALTIME) or monotonic time, as seconds and nanoseconds.
    public static func now(realtime: Bool) -> (seconds: Int64, nanoseconds: Int64) {
        var ts = timespec()
        clock_gettime(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts)
        return (Int64(ts.tv_sec), Int64(ts.tv_nsec))
    }

    /// The CPU-time clock of the calling OS thread (pthread_getcpuclockid(3)): another thread
    /// of this process can read it with `nanoseconds(on:)` while the thread lives.
    public static func currentThreadCPUClock() -> clockid_t {
        var clock = clockid_t()
        return pthread_getcpuclockid(pthread_self(), &clock) == 0 ? clock : CLOCK_THREAD_CPUTIME_ID
    }

    /// Nanoseconds on `clock` (a CPU-time clock from `currentThreadCPUClock`); nil once the
    /// thread it measures has ended (EINVAL).
    public static func nanoseconds(on clock: clockid_t) -> UInt64? {
        var ts = timespec()
        guard clock_gettime(clock, &ts) == 0 else { return nil }
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Sleeps for `nanoseconds` (nanosleep(2)), resuming after signal handlers until the time is up.
    public static func sleep(nanoseconds: UInt64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && Errno.current == .EINTR { request = remaining }
    }
}
