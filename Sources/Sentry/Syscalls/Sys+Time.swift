import HostSys
import LinuxABI

extension Syscalls {
    /// The clock ids of the system clocks (clock_gettime(2)); CPU-time clocks are `CPUClock`s.
    static let clockRealtime: UInt64 = 0, clockMonotonic: UInt64 = 1, clockMonotonicRaw: UInt64 = 4
    static let clockRealtimeCoarse: UInt64 = 5, clockMonotonicCoarse: UInt64 = 6, clockBoottime: UInt64 = 7

    /// The program's time on `clock`: the timekeeper's, which the vDSO computes the same way
    /// (the program's own syscall never reaches the host).
    static func now(_ clock: UInt64) throws(LinuxErrno) -> LinuxTimespec {
        let realtime: Bool
        switch clock {
        case clockRealtime, clockRealtimeCoarse: realtime = true
        case clockMonotonic, clockMonotonicRaw, clockMonotonicCoarse, clockBoottime: realtime = false
        default: throw .EINVAL
        }
        let time = Timekeeper.shared.now(realtime: realtime)
        return LinuxTimespec(seconds: time / 1_000_000_000, nanoseconds: time % 1_000_000_000)
    }

    /// Linux's tick at the common HZ of 250, in nanoseconds (the coarse clocks' resolution).
    static let tickNanoseconds: UInt64 = 4_000_000

    /// The monotonic time `nanoseconds` from now, saturating.
    static func deadline(after nanoseconds: Int64) -> UInt64 {
        let now = Clock.monotonicNanoseconds()
        return now > UInt64.max - UInt64(max(0, nanoseconds)) ? UInt64.max : now + UInt64(max(0, nanoseconds))
    }

    static func timespecBytes(_ time: LinuxTimespec) -> [UInt8] { bytes(UInt64(bitPattern: time.seconds)) + bytes(UInt64(bitPattern: time.nanoseconds)) }

    static func readTimespec(_ task: Task, _ address: UInt64) throws(LinuxErrno) -> LinuxTimespec {
        let raw = try task.mm.copyIn(from: address, count: 16)
        let time = LinuxTimespec(seconds: Int64(bitPattern: word(Array(raw[0..<8]))), nanoseconds: Int64(bitPattern: word(Array(raw[8..<16]))))
        guard time.isValid else { throw .EINVAL }
        return time
    }

    /// Implements Linux clock_gettime(2) for the realtime, monotonic and boot-time clocks and
    /// the CPU-time clocks of processes and threads.
    static func clockGettime(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let time: LinuxTimespec
        if let clock = try cpuClock(task, arguments[0]) {
            time = LinuxTimespec(totalNanoseconds: Int64(clamping: clock.nanoseconds))
        } else {
            time = try now(arguments[0])
        }
        try task.mm.copyOut(timespecBytes(time), to: arguments[1])
        return .value(0)
    }

    /// Implements Linux gettimeofday(2) (the timezone argument is filled with zeros).
    static func gettimeofday(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let time = try now(clockRealtime)
        if arguments[0] != 0 { try task.mm.copyOut(bytes(UInt64(time.seconds)) + bytes(UInt64(time.nanoseconds / 1000)), to: arguments[0]) }
        if arguments[1] != 0 { try task.mm.copyOut([UInt8](repeating: 0, count: 8), to: arguments[1]) }
        return .value(0)
    }

    /// Implements Linux time(2).
    static func time(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let seconds = try now(clockRealtime).seconds
        if arguments[0] != 0 { try task.mm.copyOut(bytes(UInt64(seconds)), to: arguments[0]) }
        return .value(seconds)
    }

    /// Implements Linux nanosleep(2). A signal with a handler ends the sleep with EINTR and
    /// the time left in `rem`.
    static func nanosleep(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let duration = try readTimespec(task, arguments[0])
        return try sleep(task, nanoseconds: duration.totalNanoseconds, remaining: arguments[1])
    }

    /// Implements Linux clock_nanosleep(2): relative sleeps and TIMER_ABSTIME deadlines on the
    /// realtime and monotonic clocks; a signal ends them as it ends nanosleep (`rem` is
    /// written for relative sleeps only). On a CPU-time clock it sleeps until the process or
    /// thread has used that much CPU time (looking at the clock as a `CPUTimer` does); the
    /// caller's own thread's clock is EINVAL, as on Linux.
    static func clockNanosleep(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (clock, flags) = (arguments[0], arguments[1])
        guard flags & ~1 == 0 else { throw .EINVAL }
        if let cpuClock = try cpuClock(task, clock) {
            let request = try readTimespec(task, arguments[2])
            if case .thread(let thread) = cpuClock.target, thread === task { throw .EINVAL }
            return try sleep(task, on: cpuClock, until: UInt64(request.totalNanoseconds), absolute: flags & 1 != 0, remaining: arguments[3])
        }
        let request = try readTimespec(task, arguments[2])
        var nanoseconds = request.totalNanoseconds
        if flags & 1 != 0 {  // TIMER_ABSTIME
            let current = try now(clock)
            nanoseconds -= current.totalNanoseconds
        } else {
            _ = try now(clock)  // EINVAL for clocks the Sentry does not serve
        }
        return try sleep(task, nanoseconds: nanoseconds, remaining: flags & 1 == 0 ? arguments[3] : 0)
    }

    /// Sleeps until the CPU-time clock `clock` reads `value` (or has advanced by it), waking to
    /// look at it as a `CPUTimer` does; a signal ends it as it ends `sleep(_:nanoseconds:)`.
    private static func sleep(_ task: Task, on clock: CPUClock, until value: UInt64, absolute: Bool, remaining: UInt64)
        throws(LinuxErrno) -> SyscallOutcome
    {
        let read = clock.reading
        guard let start = read() else { throw .EINVAL }
        let (sum, overflow) = start.nanoseconds.addingReportingOverflow(value)
        let target = absolute ? value : (overflow ? UInt64.max : sum)
        while let reading = read(), reading.nanoseconds < target {
            let left = target - reading.nanoseconds
            let wait = max(CPUTimer.pollFloor, left / max(1, reading.parallelism))
            if task.sleep(until: deadline(after: Int64(clamping: wait))) {
                if !absolute && remaining != 0 {
                    let now = read()?.nanoseconds ?? target
                    try task.mm.copyOut(timespecBytes(LinuxTimespec(totalNanoseconds: Int64(clamping: target > now ? target - now : 0))), to: remaining)
                }
                throw .ERESTART_RESTARTBLOCK
            }
        }
        return .value(0)
    }

    /// Sleeps `nanoseconds` (nothing if not positive). If a signal interrupts, the time left
    /// goes to the timespec at `remaining` (if not NULL) and the call ends to be restarted or
    /// to fail with EINTR (ERESTART_RESTARTBLOCK: EINTR once a handler runs).
    private static func sleep(_ task: Task, nanoseconds: Int64, remaining: UInt64) throws(LinuxErrno) -> SyscallOutcome {
        guard nanoseconds > 0 else { return .value(0) }
        let deadline = deadline(after: nanoseconds)
        guard task.sleep(until: deadline) else { return .value(0) }
        if remaining != 0 {
            let now = Clock.monotonicNanoseconds()
            let left = LinuxTimespec(totalNanoseconds: Int64(clamping: deadline > now ? deadline - now : 0))
            try task.mm.copyOut(bytes(UInt64(bitPattern: left.seconds)) + bytes(UInt64(bitPattern: left.nanoseconds)), to: remaining)
        }
        throw .ERESTART_RESTARTBLOCK
    }
}

extension Syscalls {
    static let itimerReal: UInt64 = 0

    /// A `struct timeval` as nanoseconds; EINVAL for microseconds out of range or a
    /// negative time.
    static func readTimeval(_ task: Task, _ address: UInt64) throws(LinuxErrno) -> UInt64 {
        let raw = try task.mm.copyIn(from: address, count: 16)
        let seconds = Int64(bitPattern: word(Array(raw[0..<8]))), micros = Int64(bitPattern: word(Array(raw[8..<16])))
        guard seconds >= 0, (0..<1_000_000).contains(micros) else { throw .EINVAL }
        return UInt64(LinuxTimespec(seconds: seconds, nanoseconds: micros * 1000).totalNanoseconds)
    }

    /// Nanoseconds as a `struct timeval`: microseconds rounded up (so a pending timer never
    /// reads as zero), or down for a time spent (rusage).
    static func timevalBytes(_ nanoseconds: UInt64, roundUp: Bool = true) -> [UInt8] {
        let micros = (roundUp ? nanoseconds &+ 999 : nanoseconds) / 1000
        return bytes(micros / 1_000_000) + bytes(micros % 1_000_000)
    }

    /// Implements Linux alarm(2): SIGALRM after `seconds` (0 cancels); returns the seconds
    /// the previous alarm had left, rounded to the nearest (at least 1 if one was pending).
    static func alarm(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let seconds = UInt64(UInt32(truncatingIfNeeded: arguments[0]))
        let old = task.realTimer.set(after: seconds * 1_000_000_000, interval: 0)
        guard old.remaining > 0 else { return .value(0) }
        return .value(Int64(max(1, (old.remaining + 500_000_000) / 1_000_000_000)))
    }

    /// The timer setitimer(2) and getitimer(2) name: ITIMER_REAL (wall time, SIGALRM),
    /// ITIMER_VIRTUAL (user CPU time, SIGVTALRM), ITIMER_PROF (user and system, SIGPROF);
    /// EINVAL for another.
    static func itimer(_ task: Task, _ which: UInt64) throws(LinuxErrno) -> any ProgramTimer {
        switch which {
        case itimerReal: return task.realTimer
        case 1: return task.group.cpuItimer(.virtual)
        case 2: return task.group.cpuItimer(.profile)
        default: throw .EINVAL
        }
    }

    /// Implements Linux setitimer(2): arms (a zero value disarms) one of the three interval
    /// timers, returning the old setting if asked. A CPU-time timer's first expiration gets
    /// a tick more (4 ms), as Linux's set_cpu_itimer adds, so that it never fires early.
    static func setitimer(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let timer = try itimer(task, arguments[0])
        var (interval, value): (UInt64, UInt64) = (0, 0)
        if arguments[1] != 0 {
            interval = try readTimeval(task, arguments[1])
            value = try readTimeval(task, arguments[1] + 16)
        }
        if arguments[0] != itimerReal && value > 0 { value = value &+ tickNanoseconds }
        let old = try timer.arm(value: value, absolute: false, interval: interval)
        if arguments[2] != 0 { try task.mm.copyOut(timevalBytes(old.interval) + timevalBytes(old.remaining), to: arguments[2]) }
        return .value(0)
    }

    /// Implements Linux getitimer(2).
    static func getitimer(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let current = try itimer(task, arguments[0]).current
        try task.mm.copyOut(timevalBytes(current.interval) + timevalBytes(current.remaining), to: arguments[1])
        return .value(0)
    }

    /// Implements Linux clock_getres(2) for the clocks clock_gettime serves: 1 ns, and for the
    /// coarse clocks and the CPU-time clocks that count in ticks (CPUCLOCK_PROF and _VIRT) a
    /// tick (4 ms at Linux's common HZ of 250); EINVAL for another clock.
    static func clockGetres(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let coarse: Bool
        if let clock = try cpuClock(task, arguments[0]) {
            coarse = clock.measure != .scheduler
        } else {
            _ = try now(arguments[0])
            coarse = arguments[0] == clockRealtimeCoarse || arguments[0] == clockMonotonicCoarse
        }
        if arguments[1] != 0 {
            try task.mm.copyOut(timespecBytes(LinuxTimespec(seconds: 0, nanoseconds: coarse ? Int64(tickNanoseconds) : 1)), to: arguments[1])
        }
        return .value(0)
    }
}
