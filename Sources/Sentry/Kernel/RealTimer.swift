import HostSys
import LinuxABI

/// A process's ITIMER_REAL (alarm(2), setitimer(2)): at its deadline SIGALRM is queued for
/// the process, and with an interval the timer re-arms. A host thread waits for the deadline
/// while the timer is armed and ends when it is disarmed.
///
/// Locks: `monitor` guards the deadline and the interval; the thread waits on it.
final class RealTimer: @unchecked Sendable {
    private let monitor = Monitor()
    /// When the timer fires next (Clock.monotonicNanoseconds), nil when disarmed.
    private var deadline: UInt64?
    private var interval: UInt64 = 0
    private var threadRunning = false
    /// Where SIGALRM goes (the process's pending signals).
    private let queue: SignalQueue

    init(queue: SignalQueue) { self.queue = queue }

    /// The time left and the interval, in nanoseconds (0, 0 when disarmed).
    func current() -> (remaining: UInt64, interval: UInt64) {
        monitor.locked {
            guard let deadline else { return (0, 0) }
            let now = Clock.monotonicNanoseconds()
            return (deadline > now ? deadline - now : 1, interval)
        }
    }

    /// Arms the timer `value` ns from now (0 disarms), re-arming every `interval` ns after;
    /// returns what `current()` said before.
    func set(value: UInt64, interval: UInt64) -> (remaining: UInt64, interval: UInt64) {
        let old = current()
        let startThread: Bool = monitor.locked {
            self.deadline = value == 0 ? nil : Syscalls.deadline(after: Int64(clamping: value))
            self.interval = value == 0 ? 0 : interval
            monitor.broadcast()
            guard self.deadline != nil, !threadRunning else { return false }
            threadRunning = true
            return true
        }
        if startThread {
            do {
                try HostThread.detach { [self] in run() }
            } catch {
                monitor.locked { threadRunning = false }
            }
        }
        return old
    }

    /// The thread: waits for the deadline (which `set` may move), fires, re-arms or ends.
    private func run() {
        monitor.locked {
            while let deadline {
                if Clock.monotonicNanoseconds() < deadline {
                    _ = monitor.wait(deadline: deadline)
                    continue
                }
                queue.post(PendingSignal(number: LinuxSignal.SIGALRM.rawValue, code: 0x80))  // SI_KERNEL
                self.deadline = interval == 0 ? nil : Syscalls.deadline(after: Int64(clamping: interval))
            }
            threadRunning = false
        }
    }
}
