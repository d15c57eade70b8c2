import LinuxABI

/// CPU time: getrusage(2), times(2) and the CPU-time clocks of clock_gettime(2). What a task's
/// user and system time are is `TaskAccounting`'s to say.
extension Syscalls {
    /// What a CPU-time clock measures: a process or one thread, and which sum.
    struct CPUClock {
        enum Target {
            case process(ThreadGroup)
            case thread(Task)
        }
        /// Linux's CPUCLOCK_PROF (user + system), CPUCLOCK_VIRT (user) and CPUCLOCK_SCHED
        /// (user + system, to the nanosecond).
        enum Measure: Int32 {
            case profile = 0, virtual = 1, scheduler = 2
        }
        let target: Target
        let measure: Measure

        var isThread: Bool {
            if case .thread = target { return true }
            return false
        }

        /// The clock's time now, in nanoseconds.
        var nanoseconds: UInt64 {
            let usage: CPUUsage
            switch target {
            case .process(let group): usage = group.usage
            case .thread(let task): usage = task.accounting.usage
            }
            return measure == .virtual ? usage.user : usage.total
        }
    }

    static let clockProcessCPUTime: Int32 = 2, clockThreadCPUTime: Int32 = 3

    /// The CPU-time clock `clock` names for `task`, or nil if it names no CPU-time clock (a
    /// clock of another kind, or none). CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID
    /// are the caller's; a negative id encodes a pid (0: the caller) in its upper bits, a
    /// thread flag in bit 2 and the measure in bits 0-1, as clock_getcpuclockid(3) and
    /// pthread_getcpuclockid(3) make them. EINVAL for a measure out of range, a thread
    /// outside the caller's process, or a pid that is no running process (a thread's tid
    /// names its process only for the caller's own tid), as Linux's pid_for_clock answers.
    static func cpuClock(_ task: Task, _ clock: UInt64) throws(LinuxErrno) -> CPUClock? {
        let id = Int32(truncatingIfNeeded: clock)
        switch id {
        case clockProcessCPUTime: return CPUClock(target: .process(task.group), measure: .scheduler)
        case clockThreadCPUTime: return CPUClock(target: .thread(task), measure: .scheduler)
        case 0...: return nil
        default: break
        }
        guard id & 3 != 3 else { throw .EINVAL }  // CLOCKFD (a dynamic clock) or no measure
        let measure = CPUClock.Measure(rawValue: id & 3)!
        let pid = ~(id >> 3)
        if id & 4 != 0 {
            guard pid != 0 else { return CPUClock(target: .thread(task), measure: measure) }
            guard let thread = task.group.thread(pid) else { throw .EINVAL }
            return CPUClock(target: .thread(thread), measure: measure)
        }
        if pid == 0 || pid == task.tid { return CPUClock(target: .process(task.group), measure: measure) }
        guard let group = task.sandbox.running(pid)?.group else { throw .EINVAL }
        return CPUClock(target: .process(group), measure: measure)
    }

    static let rusageSelf: Int32 = 0, rusageChildren: Int32 = -1, rusageThread: Int32 = 1

    /// Implements Linux getrusage(2) for RUSAGE_SELF (the process), RUSAGE_CHILDREN (the
    /// children it has waited for, and theirs) and RUSAGE_THREAD. The user and system times
    /// are filled; the memory, I/O, signal and context-switch counters the Sentry does not
    /// keep are zero.
    static func getrusage(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let usage: CPUUsage
        switch Int32(truncatingIfNeeded: arguments[0]) {
        case rusageSelf: usage = task.group.usage
        case rusageChildren: usage = task.group.childrenUsage
        case rusageThread: usage = task.accounting.usage
        default: throw .EINVAL
        }
        try task.mm.copyOut(usage.rusageBytes, to: arguments[1])
        return .value(0)
    }

    /// Implements Linux times(2): the process's and its waited-for children's user and system
    /// times in clock ticks (100 a second) into `struct tms` (if not NULL), and the sandbox's
    /// monotonic time in ticks as the result.
    static func times(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        if arguments[0] != 0 {
            let (own, children) = (task.group.usage, task.group.childrenUsage)
            try task.mm.copyOut(bytes(own.userTicks) + bytes(own.systemTicks) + bytes(children.userTicks) + bytes(children.systemTicks), to: arguments[0])
        }
        return .value(Timekeeper.shared.now(realtime: false) / Int64(CPUUsage.tickNanoseconds))
    }
}
