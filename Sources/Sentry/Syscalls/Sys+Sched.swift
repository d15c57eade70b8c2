import HostSys
import LinuxABI

/// Scheduling (sched(7)): yielding, CPU affinity, policies and nice values. The program's
/// threads run as the host schedules their stubs; what a program sets here is kept and
/// reported back (an affinity must name a CPU the sandbox has, as on Linux), and it is
/// advice the host scheduler is not given.
extension Syscalls {
    /// The kernel's cpumask size in bytes for `cpus` CPUs (nr_cpu_ids bits in longs):
    /// sched_getaffinity returns it, and a smaller buffer is EINVAL.
    static func cpumaskBytes(_ cpus: Int) -> Int { (cpus + 63) / 64 * 8 }

    /// Implements Linux sched_yield(2): the task gives way (its host thread yields).
    static func schedYield(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        HostThread.yield()
        return .value(0)
    }

    /// The task `pid` names (0: the caller) for the sched_* calls: ESRCH for none, EINVAL
    /// for a negative pid.
    static func schedTarget(_ task: Task, _ pid: UInt64, negative: LinuxErrno = .EINVAL) throws(LinuxErrno) -> Task {
        let id = Int32(truncatingIfNeeded: pid)
        guard id >= 0 else { throw negative }
        if id == 0 { return task }
        guard let target = task.sandbox.thread(id) else { throw .ESRCH }
        return target
    }

    /// Implements Linux sched_getaffinity(2): the task's mask (every CPU of the sandbox
    /// unless it set one), as many bytes as the kernel's cpumask; EINVAL for a buffer smaller
    /// than that or not a multiple of 8 bytes.
    static func schedGetaffinity(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        // The length (an unsigned int) is checked first; a negative pid is ESRCH here.
        let size = cpumaskBytes(task.sandbox.cpuCount)
        let length = UInt32(truncatingIfNeeded: arguments[1])
        guard length >= UInt32(size), length & 7 == 0 else { throw .EINVAL }
        let target = try schedTarget(task, arguments[0], negative: .ESRCH)
        try task.mm.copyOut(target.affinity ?? allCPUs(task.sandbox.cpuCount), to: arguments[2])
        return .value(Int64(size))
    }

    /// Implements Linux sched_setaffinity(2): keeps the mask, cut to the sandbox's CPUs;
    /// EINVAL if it names none of them.
    static func schedSetaffinity(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let cpus = task.sandbox.cpuCount
        // The mask is copied in before the pid is looked up (EFAULT first), as Linux does.
        let given = try task.mm.copyIn(from: arguments[2], count: Int(min(UInt64(UInt32(truncatingIfNeeded: arguments[1])), UInt64(cpumaskBytes(cpus)))))
        let target = try schedTarget(task, arguments[0], negative: .ESRCH)
        var mask = [UInt8](repeating: 0, count: cpumaskBytes(cpus))
        for cpu in 0..<cpus where cpu / 8 < given.count && given[cpu / 8] & (1 << UInt8(cpu % 8)) != 0 {
            mask[cpu / 8] |= 1 << UInt8(cpu % 8)
        }
        guard mask.contains(where: { $0 != 0 }) else { throw .EINVAL }
        target.affinity = mask
        return .value(0)
    }

    /// Every one of `cpus` CPUs, as a cpumask.
    static func allCPUs(_ cpus: Int) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: cpumaskBytes(cpus))
        for cpu in 0..<cpus { mask[cpu / 8] |= 1 << UInt8(cpu % 8) }
        return mask
    }

    /// Implements Linux getcpu(2): the CPU the task runs on (its stub shares its tracer's
    /// CPU), node 0.
    static func getcpu(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let cpu = UInt32(clamping: min(max(CPU.current(), 0), task.sandbox.cpuCount - 1))
        if arguments[0] != 0 { try task.mm.copyOut(Array(bytes(UInt64(cpu)).prefix(4)), to: arguments[0]) }
        if arguments[1] != 0 { try task.mm.copyOut([0, 0, 0, 0], to: arguments[1]) }
        return .value(0)
    }

    /// Scheduling policies (sched(7)).
    static let schedOther: UInt64 = 0, schedFIFO: UInt64 = 1, schedRR: UInt64 = 2, schedBatch: UInt64 = 3, schedIdle: UInt64 = 5

    /// SCHED_RESET_ON_FORK: a forked child starts with SCHED_OTHER.
    static let schedResetOnFork: UInt64 = 0x4000_0000

    /// Implements Linux sched_getscheduler(2): the task's policy (SCHED_OTHER until it sets
    /// one), with SCHED_RESET_ON_FORK if it asked for it.
    static func schedGetscheduler(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let policy = try schedTarget(task, arguments[0]).scheduling
        return .value(Int64(policy.policy | (policy.resetOnFork ? Int32(schedResetOnFork) : 0)))
    }

    /// Implements Linux sched_getparam(2): the task's static priority (0 but for the
    /// real-time policies).
    static func schedGetparam(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[1] != 0 else { throw .EINVAL }
        let target = try schedTarget(task, arguments[0])
        try task.mm.copyOut(Array(bytes(UInt64(UInt32(bitPattern: target.scheduling.priority))).prefix(4)), to: arguments[1])
        return .value(0)
    }

    /// Implements Linux sched_setscheduler(2): SCHED_OTHER, SCHED_BATCH and SCHED_IDLE with
    /// priority 0, SCHED_FIFO and SCHED_RR with 1 to 99 (EINVAL otherwise; SCHED_DEADLINE
    /// needs sched_setattr); a real-time policy needs CAP_SYS_NICE or RLIMIT_RTPRIO (EPERM),
    /// another user's task CAP_SYS_NICE. The policy is kept and reported: the host schedules
    /// the stubs as its own.
    static func schedSetscheduler(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let raw = Int32(truncatingIfNeeded: arguments[1])
        guard raw >= 0 else { throw .EINVAL }
        try setScheduling(task, pid: arguments[0], policy: raw & ~Int32(schedResetOnFork), resetOnFork: UInt64(raw) & schedResetOnFork != 0, parameter: arguments[2])
        return .value(0)
    }

    /// Implements Linux sched_setparam(2): sched_setscheduler with the task's own policy.
    static func schedSetparam(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[1] != 0, Int32(truncatingIfNeeded: arguments[0]) >= 0 else { throw .EINVAL }
        _ = try task.mm.copyIn(from: arguments[1], count: 4)  // EFAULT before ESRCH, as Linux
        let current = try schedTarget(task, arguments[0]).scheduling
        try setScheduling(task, pid: arguments[0], policy: current.policy, resetOnFork: current.resetOnFork, parameter: arguments[1])
        return .value(0)
    }

    /// Linux's __sched_setscheduler checks: the policy's priority range (EINVAL); without
    /// CAP_SYS_NICE, a real-time policy needs the target's RLIMIT_RTPRIO (to switch to one at
    /// all, and to raise a priority past both its own and the limit), leaving SCHED_IDLE needs
    /// RLIMIT_NICE to allow the task's nice value, the task must be the caller's user's, and
    /// SCHED_RESET_ON_FORK cannot be cleared (EPERM).
    private static func setScheduling(_ task: Task, pid: UInt64, policy: Int32, resetOnFork: Bool, parameter: UInt64) throws(LinuxErrno) {
        guard parameter != 0, Int32(truncatingIfNeeded: pid) >= 0 else { throw .EINVAL }
        let priority = Int32(bitPattern: UInt32(truncatingIfNeeded: word(try task.mm.copyIn(from: parameter, count: 4))))
        let target = try schedTarget(task, pid)
        let realTime = UInt64(policy) == schedFIFO || UInt64(policy) == schedRR
        switch UInt64(policy) {
        case schedOther, schedBatch, schedIdle: guard priority == 0 else { throw .EINVAL }
        case schedFIFO, schedRR: guard (1...99).contains(priority) else { throw .EINVAL }
        default: throw .EINVAL
        }
        let caller = task.group.credentials
        if !caller.has(Capability.sysNice) {
            let current = target.scheduling
            if realTime {
                let limit = target.limits[ResourceLimits.realtimePriority]?.0 ?? 0
                if policy != current.policy && limit == 0 { throw .EPERM }
                if priority > current.priority && UInt64(priority) > limit { throw .EPERM }
            }
            if UInt64(current.policy) == schedIdle && UInt64(policy) != schedIdle {
                let niceLimit = target.limits[ResourceLimits.nice]?.0 ?? 0
                guard UInt64(20 - target.group.nice) <= niceLimit else { throw .EPERM }  // can_nice
            }
            let owner = target.group.credentials
            guard owner.realUID == caller.effectiveUID || owner.effectiveUID == caller.effectiveUID else { throw .EPERM }
            if current.resetOnFork && !resetOnFork { throw .EPERM }
        }
        target.scheduling = Task.Scheduling(policy: policy, priority: priority, resetOnFork: resetOnFork)
    }

    /// Implements Linux sched_get_priority_max(2) and sched_get_priority_min(2): 1 to 99 for
    /// the real-time policies, 0 for the others, EINVAL for an unknown one.
    static func schedGetPriorityMax(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        switch arguments[0] {
        case schedFIFO, schedRR: .value(99)
        case schedOther, schedBatch, schedIdle: .value(0)
        default: throw .EINVAL
        }
    }

    static func schedGetPriorityMin(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        switch arguments[0] {
        case schedFIFO, schedRR: .value(1)
        case schedOther, schedBatch, schedIdle: .value(0)
        default: throw .EINVAL
        }
    }

    /// getpriority(2)/setpriority(2) `which`.
    static let priorityProcess: UInt64 = 0, priorityGroup: UInt64 = 1, priorityUser: UInt64 = 2

    /// The processes `which` and `who` name: a process (0: the caller), a process group (0:
    /// the caller's), a user (0: the caller's real uid; the processes whose real uid it is);
    /// ESRCH for none, EINVAL for an unknown `which`.
    static func priorityTargets(_ task: Task, _ which: UInt64, _ who: UInt64) throws(LinuxErrno) -> [ThreadGroup] {
        let id = Int32(truncatingIfNeeded: who)
        let processes = task.sandbox.liveProcesses()
        let chosen: [ThreadGroup]
        switch which {
        case priorityProcess: chosen = processes.filter { $0.pid == (id == 0 ? task.pid : id) }
        case priorityGroup:
            let group = id == 0 ? try task.sandbox.processGroup(of: task.pid).group : id
            let members = Set(task.sandbox.members(of: group))
            chosen = processes.filter { members.contains($0.pid) }
        case priorityUser:
            let uid = id == 0 ? task.group.credentials.realUID : UInt32(bitPattern: id)
            chosen = processes.filter { $0.credentials.realUID == uid }
        default: throw .EINVAL
        }
        guard !chosen.isEmpty else { throw .ESRCH }
        return chosen
    }

    /// Implements Linux getpriority(2): 20 minus the lowest nice value of the processes named
    /// (the kernel's form, which glibc turns back into a nice value).
    static func getpriority(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let nice = try priorityTargets(task, arguments[0], arguments[1]).map(\.nice).min() ?? 0
        return .value(Int64(20 - nice))
    }

    /// Implements Linux setpriority(2): sets the nice value (clamped to -20...19) of every
    /// process named. Without CAP_SYS_NICE, a process whose real and effective uid are not
    /// the caller's effective uid is EPERM, and lowering a nice value below RLIMIT_NICE's
    /// floor EACCES; the others are set all the same.
    static func setpriority(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let nice = min(max(Int32(truncatingIfNeeded: arguments[2]), -20), 19)
        let caller = task.group.credentials
        var refused: LinuxErrno?
        for process in try priorityTargets(task, arguments[0], arguments[1]) {
            if !caller.has(Capability.sysNice) {
                let target = process.credentials
                guard target.realUID == caller.effectiveUID || target.effectiveUID == caller.effectiveUID else {
                    refused = .EPERM
                    continue
                }
                let niceLimit = 20 - Int32(clamping: min(process.limits[ResourceLimits.nice]?.0 ?? 0, 40))  // the target's RLIMIT_NICE floor
                guard nice >= process.nice || nice >= niceLimit else {
                    refused = .EACCES
                    continue
                }
            }
            process.nice = nice
        }
        if let refused { throw refused }  // as set_one_prio: the others are still set
        return .value(0)
    }
}
