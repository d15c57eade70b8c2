import HostSys
import LinuxABI

/// One timer of the sandbox (ITIMER_REAL, a POSIX timer, a timerfd): a deadline on the host's
/// monotonic clock and an interval. When the deadline passes, `expire` runs with the number of
/// expirations since the last (more than one when an interval is shorter than the delay
/// before the timer was served), and a timer with an interval re-arms on its next multiple,
/// so a periodic timer keeps its phase. `Timers` serves every armed one.
///
/// `expire` also gets the timer's generation when the expiration was due: each `set` starts
/// a new one, so an owner that sets the timer and checks `isCurrent` under a lock of its own
/// drops an expiration of an old setting that was already on its way (Linux waits for a
/// running timer callback instead).
///
/// Locks: its deadline, interval and generation are guarded by `Timers`' monitor, which may
/// be taken under the owner's lock; `expire` runs without it.
final class KernelTimer: @unchecked Sendable {
    fileprivate var deadline: UInt64?
    fileprivate var interval: UInt64 = 0
    fileprivate var generation: UInt64 = 0
    fileprivate let expire: @Sendable (_ expirations: UInt64, _ generation: UInt64) -> Void
    /// The system clock a program's absolute times for it are on (clock_gettime(2)'s id).
    let clock: UInt64

    init(clock: UInt64 = Syscalls.clockMonotonic, expire: @escaping @Sendable (_ expirations: UInt64, _ generation: UInt64) -> Void) {
        self.clock = clock
        self.expire = expire
    }

    /// Whether `generation` is the timer's current one (no `set` since).
    func isCurrent(_ generation: UInt64) -> Bool { Timers.shared.generation(of: self) == generation }

    /// The time left and the interval, in nanoseconds ((0, interval) when disarmed: a disarmed
    /// timer has no interval either).
    var current: (remaining: UInt64, interval: UInt64) { Timers.shared.current(self) }

    /// Arms the timer for `deadline` (Clock.monotonicNanoseconds; nil disarms), re-arming every
    /// `interval` ns after; returns what `current` said before.
    @discardableResult
    func set(deadline: UInt64?, interval: UInt64) -> (remaining: UInt64, interval: UInt64) {
        Timers.shared.set(self, deadline: deadline, interval: interval)
    }

    /// Arms the timer `value` ns from now (0 disarms), as setitimer(2) and relative
    /// timer_settime(2) and timerfd_settime(2) do.
    @discardableResult
    func set(after value: UInt64, interval: UInt64) -> (remaining: UInt64, interval: UInt64) {
        set(deadline: value == 0 ? nil : Syscalls.deadline(after: Int64(clamping: value)), interval: interval)
    }

    func cancel() { set(deadline: nil, interval: 0) }
}

/// The sandbox's armed timers, served by one host thread (started with the first timer) that
/// sleeps until the earliest deadline, then runs what is due. Timers are few (a process's
/// ITIMER_REAL, its POSIX timers, its timerfds), so each wake-up scans them all.
///
/// Locks: `monitor` guards the armed set and every timer's deadline and interval; nothing is
/// called under it.
final class Timers: @unchecked Sendable {
    static let shared = Timers()
    private let monitor = Monitor()
    private var armed: [ObjectIdentifier: KernelTimer] = [:]
    private var threadStarted = false

    fileprivate func generation(of timer: KernelTimer) -> UInt64 { monitor.locked { timer.generation } }

    fileprivate func current(_ timer: KernelTimer) -> (remaining: UInt64, interval: UInt64) {
        monitor.locked { state(timer, now: Clock.monotonicNanoseconds()) }
    }

    /// The time left (at least 1 ns while armed, so an armed timer never reads as disarmed).
    private func state(_ timer: KernelTimer, now: UInt64) -> (remaining: UInt64, interval: UInt64) {
        guard let deadline = timer.deadline else { return (0, 0) }
        return (deadline > now ? deadline - now : 1, timer.interval)
    }

    fileprivate func set(_ timer: KernelTimer, deadline: UInt64?, interval: UInt64) -> (remaining: UInt64, interval: UInt64) {
        let (old, startThread): ((UInt64, UInt64), Bool) = monitor.locked {
            let old = state(timer, now: Clock.monotonicNanoseconds())
            timer.generation &+= 1
            timer.deadline = deadline
            timer.interval = deadline == nil ? 0 : interval
            if deadline == nil {
                armed.removeValue(forKey: ObjectIdentifier(timer))
                return (old, false)
            }
            armed[ObjectIdentifier(timer)] = timer
            monitor.broadcast()
            defer { threadStarted = true }
            return (old, !threadStarted)
        }
        if startThread {
            do {
                try HostThread.detach { [self] in run() }
            } catch {
                fatalError("the Sentry cannot start its timer thread: \(error)")
            }
        }
        return old
    }

    /// The thread: sleeps until the earliest deadline (or a change), runs the timers due.
    private func run() {
        while true {
            let due: [(KernelTimer, UInt64, UInt64)] = monitor.locked {
                while true {
                    let now = Clock.monotonicNanoseconds()
                    var due: [(KernelTimer, UInt64, UInt64)] = []
                    var earliest = UInt64.max
                    for timer in armed.values {
                        guard let deadline = timer.deadline else { continue }
                        guard deadline <= now else {
                            earliest = min(earliest, deadline)
                            continue
                        }
                        var expirations: UInt64 = 1
                        if timer.interval > 0 {
                            let late = (now - deadline) / timer.interval
                            expirations &+= late
                            let (next, overflow) = deadline.addingReportingOverflow((late &+ 1).multipliedReportingOverflow(by: timer.interval).partialValue)
                            timer.deadline = overflow ? nil : next
                        } else {
                            timer.deadline = nil
                        }
                        if let next = timer.deadline {
                            earliest = min(earliest, next)
                        } else {
                            armed.removeValue(forKey: ObjectIdentifier(timer))
                        }
                        due.append((timer, expirations, timer.generation))
                    }
                    if !due.isEmpty { return due }
                    if earliest == UInt64.max {
                        monitor.wait()
                    } else {
                        _ = monitor.wait(deadline: earliest)
                    }
                }
            }
            for (timer, expirations, generation) in due { timer.expire(expirations, generation) }
        }
    }
}
