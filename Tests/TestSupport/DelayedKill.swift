import Glibc
import HostSys
import Synchronization

/// Sends SIGKILL to a process from a dedicated thread after a delay, and records when the
/// signal was actually sent: a test that measures how soon a death is noticed measures from
/// the kill itself, however late a loaded machine runs the thread.
public final class DelayedKill: Sendable {
    private let sentAt = Atomic<UInt64>(0)

    public init(pid: pid_t, afterMilliseconds delay: UInt64) throws {
        try HostThread.detach { [self] in
            Clock.sleep(nanoseconds: delay * 1_000_000)
            sentAt.store(Clock.monotonicNanoseconds(), ordering: .sequentiallyConsistent)
            kill(pid, SIGKILL)
        }
    }

    /// When SIGKILL was sent (waits for it if it has not been yet).
    public var killedAt: UInt64 {
        while true {
            let time = sentAt.load(ordering: .sequentiallyConsistent)
            if time != 0 { return time }
            Clock.sleep(nanoseconds: 1_000_000)
        }
    }

    /// Seconds from the kill to now.
    public var secondsSinceKill: Double {
        let killed = killedAt
        return Double(Clock.monotonicNanoseconds() &- killed) / 1e9
    }
}
