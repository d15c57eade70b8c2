import HostSys
import LinuxABI

/// A timer a program arms (a POSIX timer, an itimer), on a system clock (`KernelTimer`) or on
/// a CPU-time clock (`CPUTimer`).
protocol ProgramTimer: AnyObject, Sendable {
    /// Arms the timer `value` ns from now, or (`absolute`) at `value` on its clock; 0
    /// disarms. With an interval it re-arms every `interval` ns. Returns the old setting.
    func arm(value: UInt64, absolute: Bool, interval: UInt64) throws(LinuxErrno) -> (remaining: UInt64, interval: UInt64)
    /// The time to the next expiration (on the timer's clock) and the interval.
    var current: (remaining: UInt64, interval: UInt64) { get }
    /// Whether `generation`, which an expiration came with, is still the timer's (no `arm`
    /// since).
    func isCurrent(_ generation: UInt64) -> Bool
    func cancel()
}

extension KernelTimer: ProgramTimer {
    /// An absolute time is on the system clock `clock` (clock_gettime(2)'s id).
    func arm(value: UInt64, absolute: Bool, interval: UInt64) throws(LinuxErrno) -> (remaining: UInt64, interval: UInt64) {
        set(deadline: try Syscalls.timerDeadline(value: value, absolute: absolute, clock: clock), interval: interval)
    }
}

/// A timer on a CPU-time clock (ITIMER_VIRTUAL, ITIMER_PROF, a POSIX timer on a CPU-time
/// clock). CPU time has no deadline the host can wait for, so a `KernelTimer` looks at the
/// clock at the earliest moment it could have reached the deadline (the time left divided by
/// the threads that can run at once) and again, until it has; then `expire` runs as a
/// `KernelTimer`'s does (expirations, generation). It looks at least a millisecond of wall
/// time apart, so an expiration comes within about a millisecond of CPU time (Linux's come at
/// its tick, 4 ms); while the clock stands still (an idle process) it looks less and less
/// often, up to 8 ms apart, so a timer fires at most that much wall time late after its
/// process starts computing again.
///
/// Locks: `monitor` guards the deadline, interval and generation; the poller's (`Timers`')
/// lock is taken under it; the clock is read and `expire` runs without it.
final class CPUTimer: ProgramTimer, @unchecked Sendable {
    /// The clock now and how many threads advance it at once; nil once what it measures is gone.
    typealias Reading = @Sendable () -> (nanoseconds: UInt64, parallelism: UInt64)?
    private let read: Reading
    private let expire: @Sendable (_ expirations: UInt64, _ generation: UInt64) -> Void
    private let monitor = Monitor()
    private var deadline: UInt64?
    private var interval: UInt64 = 0
    private var generation: UInt64 = 0
    private var poller: KernelTimer!
    /// The clock at the last look, and how long to wait while it stands still (it doubles
    /// up to `idleCeiling`, so a timer of an idle process costs a wake-up now and then).
    private var lastSeen: UInt64 = 0
    private var idleWait: UInt64 = 0
    static let idleCeiling: UInt64 = 8_000_000

    static let pollFloor: UInt64 = 1_000_000

    init(read: @escaping Reading, expire: @escaping @Sendable (_ expirations: UInt64, _ generation: UInt64) -> Void) {
        self.read = read
        self.expire = expire
        poller = KernelTimer { [weak self] _, pollerGeneration in self?.check(pollerGeneration) }
    }

    func arm(value: UInt64, absolute: Bool, interval: UInt64) throws(LinuxErrno) -> (remaining: UInt64, interval: UInt64) {
        let reading = read()
        let now = reading?.nanoseconds ?? 0
        return monitor.locked {
            let old = state(now: now)
            generation &+= 1
            (lastSeen, idleWait) = (now, 0)
            if value == 0 {
                (deadline, self.interval) = (nil, 0)
                poller.cancel()
            } else {
                let (sum, overflow) = now.addingReportingOverflow(value)
                (deadline, self.interval) = (absolute ? value : (overflow ? UInt64.max : sum), interval)
                schedule(now: now, parallelism: reading?.parallelism ?? 1)
            }
            return old
        }
    }

    var current: (remaining: UInt64, interval: UInt64) {
        let now = read()?.nanoseconds ?? 0
        return monitor.locked { state(now: now) }
    }

    func isCurrent(_ generation: UInt64) -> Bool { monitor.locked { self.generation == generation } }

    func cancel() { _ = try? arm(value: 0, absolute: false, interval: 0) }

    private func state(now: UInt64) -> (remaining: UInt64, interval: UInt64) {
        guard let deadline else { return (0, 0) }
        return (deadline > now ? deadline - now : 1, interval)
    }

    /// Sets the poller for when the clock could first reach the deadline (under `monitor`),
    /// later while the clock has not moved since the last look.
    private func schedule(now: UInt64, parallelism: UInt64) {
        guard let deadline else { return }
        idleWait = now == lastSeen ? min(max(idleWait * 2, Self.pollFloor), Self.idleCeiling) : 0
        lastSeen = now
        let left = deadline > now ? deadline - now : 0
        poller.set(after: max(Self.pollFloor, left / max(1, parallelism), idleWait), interval: 0)
    }

    /// The poller fired: expire if the clock has reached the deadline, else look again later.
    private func check(_ pollerGeneration: UInt64) {
        guard let reading = read() else {
            cancel()  // what it measured is gone
            return
        }
        let now = reading.nanoseconds
        let due: (UInt64, UInt64)? = monitor.locked {
            guard poller.isCurrent(pollerGeneration), let deadline else { return nil }
            guard now >= deadline else {
                schedule(now: now, parallelism: reading.parallelism)
                return nil
            }
            var expirations: UInt64 = 1
            if interval > 0 {
                let late = (now - deadline) / interval
                expirations &+= late
                let (next, overflow) = deadline.addingReportingOverflow((late &+ 1).multipliedReportingOverflow(by: interval).partialValue)
                self.deadline = overflow ? nil : next
                schedule(now: now, parallelism: reading.parallelism)
            } else {
                self.deadline = nil
            }
            return (expirations, generation)
        }
        if let (expirations, generation) = due { expire(expirations, generation) }
    }
}

extension Syscalls.CPUClock {
    /// How to read this clock without keeping what it measures alive (a timer on it must not).
    var reading: CPUTimer.Reading {
        let measure = self.measure
        switch target {
        case .process(let group):
            return { [weak group] in
                guard let group else { return nil }
                let usage = group.usage
                let threads = UInt64(max(1, min(group.liveThreads.count, group.sandbox.cpuCount)))
                return (measure == .virtual ? usage.user : usage.total, threads)
            }
        case .thread(let task):
            return { [weak task] in
                guard let task else { return nil }
                let usage = task.accounting.usage
                return (measure == .virtual ? usage.user : usage.total, 1)
            }
        }
    }
}
