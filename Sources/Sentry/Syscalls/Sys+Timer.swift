import HostSys
import LinuxABI

/// POSIX per-process timers (timer_create(2) and the rest) and timerfds (timerfd_create(2)):
/// timers on the realtime, monotonic and boot-time clocks, served by `Timers`.
extension Syscalls {
    static let clockRealtimeAlarm: UInt64 = 8, clockBoottimeAlarm: UInt64 = 9
    /// TIMER_ABSTIME and TFD_TIMER_ABSTIME; TFD_TIMER_CANCEL_ON_SET.
    static let timerAbsolute: UInt64 = 1, timerCancelOnSet: UInt64 = 2

    /// The clock a timer on `clock` reads its absolute times on: the alarm clocks (which need
    /// CAP_WAKE_ALARM: EPERM) are their plain clocks (a sandbox never suspends, so they
    /// cannot differ). EINVAL for an unknown
    /// clock; for a CPU-time clock or a clock timers cannot run on (the raw and coarse
    /// monotonic clocks) `unsupported`, as Linux answers EOPNOTSUPP for the second kind.
    /// The clock of a POSIX timer.
    enum TimerClock {
        case system(UInt64)
        case cpu(CPUClock)
    }

    static func timerClock(_ task: Task, _ clock: UInt64, unsupported: LinuxErrno) throws(LinuxErrno) -> UInt64 {
        switch clock {
        case clockRealtime, clockMonotonic, clockBoottime: return clock
        case clockRealtimeAlarm, clockBoottimeAlarm:
            guard task.group.credentials.has(Capability.wakeAlarm) else { throw .EPERM }  // CAP_WAKE_ALARM
            return clock == clockRealtimeAlarm ? clockRealtime : clockBoottime
        case clockMonotonicRaw, clockRealtimeCoarse, clockMonotonicCoarse: throw unsupported
        default:
            if try cpuClock(task, clock) != nil { throw unsupported }
            throw .EINVAL
        }
    }

    /// A `struct itimerspec` at `address`: the interval and the first expiration, in
    /// nanoseconds (EINVAL for a negative or malformed time).
    static func readItimerspec(_ task: Task, _ address: UInt64) throws(LinuxErrno) -> (interval: UInt64, value: UInt64) {
        let interval = try readTimespec(task, address), value = try readTimespec(task, address + 16)
        guard interval.seconds >= 0, value.seconds >= 0 else { throw .EINVAL }
        return (UInt64(interval.totalNanoseconds), UInt64(value.totalNanoseconds))
    }

    static func itimerspecBytes(_ state: (remaining: UInt64, interval: UInt64)) -> [UInt8] {
        timespecBytes(LinuxTimespec(totalNanoseconds: Int64(clamping: state.interval)))
            + timespecBytes(LinuxTimespec(totalNanoseconds: Int64(clamping: state.remaining)))
    }

    /// The host deadline of a first expiration `value` ns from now, or at `value` on `clock`
    /// when `absolute` (at once if that time has passed); nil for 0, which disarms.
    static func timerDeadline(value: UInt64, absolute: Bool, clock: UInt64) throws(LinuxErrno) -> UInt64? {
        guard value != 0 else { return nil }
        guard absolute else { return deadline(after: Int64(clamping: value)) }
        return deadline(after: Int64(clamping: value) - (try now(clock)).totalNanoseconds)
    }

    // MARK: POSIX timers

    /// sigevent(7) notifications.
    static let notifySignal: Int32 = 0, notifyNone: Int32 = 1, notifyThread: Int32 = 2, notifyThreadID: Int32 = 4

    /// Implements Linux timer_create(2): a timer on the realtime, monotonic or boot-time clock,
    /// or on a CPU-time clock (the caller's process or thread, or another process's), that
    /// sends a signal to the process (SIGEV_SIGNAL, and SIGEV_THREAD, which the C library
    /// builds on it), to one of its threads (SIGEV_THREAD_ID), or nothing (SIGEV_NONE);
    /// without a sigevent, SIGALRM with the timer's id as its value. EINVAL for a bad
    /// notification, signal or thread.
    static func timerCreate(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let clock: TimerClock
        if let cpu = try cpuClock(task, arguments[0]) {
            clock = .cpu(cpu)
        } else {
            clock = .system(try timerClock(task, arguments[0], unsupported: .EOPNOTSUPP))
        }
        var event: (value: UInt64?, signal: Int32, notify: Int32, thread: Int32) = (nil, LinuxSignal.SIGALRM.rawValue, notifySignal, 0)
        if arguments[1] != 0 {
            let raw = try task.mm.copyIn(from: arguments[1], count: 20)
            let int32 = { (offset: Int) in Int32(bitPattern: UInt32(word(Array(raw[offset..<(offset + 4)])))) }
            event = (word(Array(raw[0..<8])), int32(8), int32(12), int32(16))
        }
        let target: PosixTimer.Target
        switch event.notify {
        case notifyNone: target = .none
        case notifySignal, notifyThread, notifyThreadID:
            guard LinuxSignal(event.signal).isValid else { throw .EINVAL }
            if event.notify == notifyThreadID {
                guard let thread = task.group.thread(event.thread) else { throw .EINVAL }
                target = .thread(thread)
            } else {
                target = .process(task.group)
            }
        default: throw .EINVAL
        }
        let timer = try task.group.addPosixTimer { id in
            PosixTimer(id: id, clock: clock, signal: event.signal, value: event.value ?? UInt64(id), target: target)
        }
        do {
            try task.mm.copyOut(bytes(UInt64(UInt32(bitPattern: timer.id))).prefix(4).map { $0 }, to: arguments[2])
        } catch {
            try? task.group.deletePosixTimer(timer.id)
            throw error
        }
        return .value(0)
    }

    /// Implements Linux timer_settime(2): arms the timer (TIMER_ABSTIME: at a time on its
    /// clock) or disarms it (a zero value), returning the old setting if asked.
    static func timerSettime(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let timer = try task.group.posixTimer(Int32(truncatingIfNeeded: arguments[0]))
        guard arguments[2] != 0 else { throw .EINVAL }
        let setting = try readItimerspec(task, arguments[2])
        let old = try timer.arm(value: setting.value, absolute: arguments[1] & timerAbsolute != 0, interval: setting.interval)
        if arguments[3] != 0 { try task.mm.copyOut(itimerspecBytes(old), to: arguments[3]) }
        return .value(0)
    }

    /// Implements Linux timer_gettime(2): the time to the next expiration and the interval.
    static func timerGettime(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let timer = try task.group.posixTimer(Int32(truncatingIfNeeded: arguments[0]))
        try task.mm.copyOut(itimerspecBytes(timer.current), to: arguments[1])
        return .value(0)
    }

    /// Implements Linux timer_getoverrun(2): the expirations the last signal taken stood for
    /// beyond the first.
    static func timerGetoverrun(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(try task.group.posixTimer(Int32(truncatingIfNeeded: arguments[0])).overrunAtDelivery))
    }

    /// Implements Linux timer_delete(2).
    static func timerDelete(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try task.group.deletePosixTimer(Int32(truncatingIfNeeded: arguments[0]))
        return .value(0)
    }

    // MARK: timerfd

    /// Implements Linux timerfd_create(2) on the realtime, monotonic and boot-time clocks
    /// (and their alarm forms); TFD_NONBLOCK and TFD_CLOEXEC; EINVAL for another clock or flag.
    static func timerfdCreate(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let clock = try timerClock(task, arguments[0], unsupported: .EINVAL)
        let flags = Int32(truncatingIfNeeded: arguments[1])
        guard flags & ~(OpenFlags.nonBlocking.rawValue | OpenFlags.closeOnExec.rawValue) == 0 else { throw .EINVAL }
        let timer = TimerFD(clock: clock, inode: task.sandbox.newPipeInode())
        let status: OpenFlags = flags & OpenFlags.nonBlocking.rawValue != 0 ? [.readWrite, .nonBlocking] : .readWrite
        return .value(Int64(try task.fds.add(FileDescription(timer, flags: status), closeOnExec: flags & OpenFlags.closeOnExec.rawValue != 0)))
    }

    /// The timerfd open as `fd` (EBADF for no file, EINVAL for another kind).
    private static func timerFD(_ task: Task, _ fd: UInt64) throws(LinuxErrno) -> TimerFD {
        guard let timer = try task.fds.get(Self.fd(fd)).operations as? TimerFD else { throw .EINVAL }
        return timer
    }

    /// Implements Linux timerfd_settime(2): arms (TFD_TIMER_ABSTIME: at a time on the timer's
    /// clock) or disarms the timer and clears its count, returning the old setting if asked.
    /// TFD_TIMER_CANCEL_ON_SET is accepted: the sandbox's realtime clock is never set, so
    /// nothing cancels.
    static func timerfdSettime(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[1] & ~(timerAbsolute | timerCancelOnSet) == 0 else { throw .EINVAL }
        let timer = try timerFD(task, arguments[0])
        let setting = try readItimerspec(task, arguments[2])
        let deadline = try timerDeadline(value: setting.value, absolute: arguments[1] & timerAbsolute != 0, clock: timer.clock)
        let old = timer.set(deadline: deadline, interval: setting.interval)
        if arguments[3] != 0 { try task.mm.copyOut(itimerspecBytes(old), to: arguments[3]) }
        return .value(0)
    }

    /// Implements Linux timerfd_gettime(2).
    static func timerfdGettime(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let timer = try timerFD(task, arguments[0])
        try task.mm.copyOut(itimerspecBytes(timer.timer.current), to: arguments[1])
        return .value(0)
    }
}
