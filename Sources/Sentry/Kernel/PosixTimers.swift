import HostSys
import LinuxABI

/// A POSIX per-process timer (timer_create(2)): a `KernelTimer` on one of the system clocks,
/// or a `CPUTimer` on a CPU-time clock, whose expirations send a signal to the process or to
/// one of its threads, or nothing (SIGEV_NONE: the program only reads the time left).
///
/// Linux queues one signal per timer at a time: an expiration while the timer's signal is
/// still pending adds to the timer's overrun instead, and taking the signal hands the overrun
/// over (`si_overrun`, timer_getoverrun(2)). A standard signal that was already pending from
/// elsewhere is not queued, and that expiration is lost, as on Linux. Setting or deleting the
/// timer makes a signal it queued before stale: it is dropped when taken (Linux since 6.13).
///
/// Locks: `monitor` guards whether the signal is queued and the overrun counts; the timer's
/// (`Timers`') is taken under it, and it is not held while posting or while a task's signal
/// queue lock is held.
final class PosixTimer: @unchecked Sendable {
    /// Whom the expirations notify.
    enum Target {
        case none
        case process(ThreadGroup)
        case thread(Task)
    }

    let id: Int32
    let signal: Int32
    /// `sigev_value`, for the signal's `si_value`.
    let value: UInt64
    private weak var group: ThreadGroup?
    private weak var thread: Task?
    private let notifies: Bool
    private var timer: (any ProgramTimer)! = nil

    private let monitor = Monitor()
    private var queued = false
    private var overrun: Int32 = 0
    private var lastOverrun: Int32 = 0
    /// Counts settings and the deletion; a queued signal carries the count it was sent in.
    private var sequence: UInt64 = 0

    /// `clock`: a system clock's id, or the CPU-time clock the timer runs on.
    init(id: Int32, clock: Syscalls.TimerClock, signal: Int32, value: UInt64, target: Target) {
        self.id = id
        self.signal = signal
        self.value = value
        switch target {
        case .none: notifies = false
        case .process(let group): (notifies, self.group) = (true, group)
        case .thread(let task): (notifies, self.thread) = (true, task)
        }
        let expire: @Sendable (UInt64, UInt64) -> Void = { [weak self] expirations, generation in
            self?.expired(expirations, generation: generation)
        }
        switch clock {
        case .system(let id): timer = KernelTimer(clock: id, expire: expire)
        case .cpu(let cpuClock): timer = CPUTimer(read: cpuClock.reading, expire: expire)
        }
    }

    /// The overrun of the signal taken last (timer_getoverrun(2)).
    var overrunAtDelivery: Int32 { monitor.locked { lastOverrun } }

    /// The time to the next expiration and the interval (timer_gettime(2)).
    var current: (remaining: UInt64, interval: UInt64) { timer.current }

    /// Arms or disarms the timer (timer_settime(2)); a signal it has queued goes stale.
    func arm(value: UInt64, absolute: Bool, interval: UInt64) throws(LinuxErrno) -> (remaining: UInt64, interval: UInt64) {
        try monitor.locked { () throws(LinuxErrno) in
            (sequence, queued, overrun) = (sequence &+ 1, false, 0)
            return try timer.arm(value: value, absolute: absolute, interval: interval)
        }
    }

    /// Disarms the timer for good (timer_delete(2), execve, the end of the process).
    func delete() {
        monitor.locked {
            (sequence, queued, overrun) = (sequence &+ 1, false, 0)
            timer.cancel()
        }
    }

    private func expired(_ expirations: UInt64, generation: UInt64) {
        guard notifies else { return }
        let send: UInt64? = monitor.locked {
            guard timer.isCurrent(generation) else { return nil }  // of a setting since replaced
            if queued {
                overrun = Self.add(overrun, expirations)
                return nil
            }
            queued = true
            overrun = Self.add(overrun, expirations - 1)
            return sequence
        }
        guard let send else { return }
        let pending = PendingSignal(number: signal, code: -2, timer: self, timerSequence: send)  // SI_TIMER
        let posted = thread.map { $0.signalQueue.post(pending) } ?? group?.post(pending) ?? false
        if !posted { monitor.locked { if sequence == send { (queued, overrun) = (false, 0) } } }
    }

    /// Its signal, queued in setting `sequence`, was taken: returns the overrun it carries
    /// and counts afresh, or nil if the signal is stale (to be dropped).
    func delivered(sequence queuedIn: UInt64) -> Int32? {
        monitor.locked {
            guard queuedIn == sequence else { return nil }
            defer { (queued, overrun) = (false, 0) }
            lastOverrun = overrun
            return overrun
        }
    }

    /// Overrun counts stop at DELAYTIMER_MAX (INT_MAX).
    private static func add(_ count: Int32, _ more: UInt64) -> Int32 {
        Int32(clamping: min(UInt64(Int32.max), UInt64(count) &+ min(more, UInt64(Int32.max))))
    }
}
