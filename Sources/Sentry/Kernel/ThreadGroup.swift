import HostSys
import LinuxABI

/// A process: the threads (tasks) that share one address space, fd table, signal handlers,
/// working directory and limits (Linux's thread group; clone(2) with CLONE_THREAD adds to it).
/// Its pid is its first thread's tid (getpid(2)); it ends when its last thread ends, with the
/// status of exit_group(2), of a fatal signal, or of the last thread's exit(2).
///
/// Locks: `monitor` guards `threads`, `exitStatus`, `execing`, the address space,
/// `unimplementedCalls` and the fields /proc shows (`Shown`). A thread's own locks may be taken under it (to read a thread's blocked
/// mask), never the other way round.
final class ThreadGroup: @unchecked Sendable {
    let sandbox: Sandbox
    let pid: Int32
    /// The address space: replaced only by execve(2), once the calling thread runs alone
    /// (behind the lock: /proc reads it from other processes).
    var mm: MemoryManager {
        get { monitor.locked { addressSpace } }
        set { monitor.locked { addressSpace = newValue } }
    }
    private var addressSpace: MemoryManager
    let fds: FDTable
    /// Resource limits (getrlimit(2)), by resource number: (soft, hard). Changed only by
    /// setrlimit of a single-threaded program in practice; read by each thread.
    var limits: [Int: (UInt64, UInt64)] = ResourceLimits.defaults

    private let monitor = Monitor()
    private var threads: [Task] = []
    /// Set when the whole group is ending (exit_group, a fatal signal): its status.
    private var exitStatus: ExitStatus?
    /// The thread running execve(2) while the others end (they leave without ending the group).
    private var execing: Task?
    /// Set once the last thread has ended.
    private var endStatus: ExitStatus?
    private var unimplemented: [Sysno: Int] = [:]
    /// The first thread's exit(2) code, once it has exited.
    private var leaderCode: Int32?
    /// Stopped by a stop signal, until SIGCONT.
    private var stopped = false
    private var niceValue: Int32 = 0
    /// The process's nice value (setpriority(2)): kept and reported, not given to the host.
    var nice: Int32 {
        get { monitor.locked { niceValue } }
        set { monitor.locked { niceValue = newValue } }
    }
    /// SIGCONTs received, counted: a stop signal taken before one does not stop the process.
    private var continues: UInt64 = 0
    var continueGeneration: UInt64 { monitor.locked { continues } }

    /// What /proc shows of the process to other processes.
    private struct Shown {
        var parentPID: Int32
        var executablePath: [UInt8] = []
        var commandLine: [UInt8] = []
        var cwd: Dentry?
        var umask: UInt32 = 0o022
    }
    private var shown: Shown
    private var realTimerStorage: KernelTimer?
    /// When the process was made (fork), on the sandbox's monotonic clock: /proc's starttime.
    let startTime = Timekeeper.shared.now(realtime: false)
    /// PR_SET_PDEATHSIG: the signal the process gets when its parent ends (0: none).
    var parentDeathSignal: Int32 {
        get { monitor.locked { shownDeathSignal } }
        set { monitor.locked { shownDeathSignal = newValue } }
    }
    private var shownDeathSignal: Int32 = 0
    /// PR_SET_DUMPABLE: kept and reported.
    var dumpable: Bool {
        get { monitor.locked { isDumpable } }
        set { monitor.locked { isDumpable = newValue } }
    }
    private var isDumpable = true
    /// personality(2)'s persona, inherited by fork and kept across execve.
    var personality: UInt32 {
        get { monitor.locked { persona } }
        set { monitor.locked { persona = newValue } }
    }
    private var persona: UInt32 = 0
    private var credentialStorage: Credentials
    /// The process's user and group ids and capabilities (a forked child starts with its
    /// parent's; execve and the set*id calls change them).
    var credentials: Credentials {
        get { monitor.locked { credentialStorage } }
        set { monitor.locked { credentialStorage = newValue } }
    }
    /// Changes the credentials with `change` (atomically, so two threads' changes do not mix).
    /// A change of the effective or file-system ids, or a gain of permitted capabilities,
    /// forgets the parent-death signal and makes the process not dumpable, as Linux's
    /// commit_creds does.
    func changeCredentials<Result>(_ change: (inout Credentials) throws(LinuxErrno) -> Result) throws(LinuxErrno) -> Result {
        try monitor.locked { () throws(LinuxErrno) in
            let old = credentialStorage
            let result = try change(&credentialStorage)
            let new = credentialStorage
            if old.effectiveUID != new.effectiveUID || old.effectiveGID != new.effectiveGID || old.fileSystemUID != new.fileSystemUID
                || old.fileSystemGID != new.fileSystemGID || new.permitted & ~old.permitted != 0
            {
                (shownDeathSignal, isDumpable) = (0, false)
            }
            return result
        }
    }

    /// What execve does to the parent-death signal, dumpability and the personality: a secure
    /// exec (a set-ID program) forgets the signal and ADDR_NO_RANDOMIZE and is not dumpable;
    /// another is dumpable again when its effective ids are its real ones (begin_new_exec).
    func noteExec(secure: Bool, credentials: Credentials) {
        monitor.locked {
            if secure {
                shownDeathSignal = 0
                persona &= ~UInt32(Syscalls.addressNoRandomize)
            }
            isDumpable = !secure && credentials.effectiveUID == credentials.realUID && credentials.effectiveGID == credentials.realGID
        }
    }
    /// Its POSIX timers (timer_create(2)) by id, and the id the next one gets.
    private var posixTimers: [Int32: PosixTimer] = [:]
    private var nextTimerID: Int32 = 0
    /// The CPU time of the group's threads that have ended.
    private var endedThreadsUsage = CPUUsage()
    /// The CPU time of the children it has waited for, and of theirs (Linux's cutime and cstime).
    private var reapedChildrenUsage = CPUUsage()

    init(sandbox: Sandbox, pid: Int32, parent: Int32, mm: MemoryManager, fds: FDTable = FDTable(), credentials: Credentials = .root) {
        self.credentialStorage = credentials
        self.sandbox = sandbox
        self.pid = pid
        self.addressSpace = mm
        self.fds = fds
        fds.owner = pid
        self.shown = Shown(parentPID: parent, cwd: sandbox.root)
    }

    var parentPID: Int32 {
        get { monitor.locked { shown.parentPID } }
        set { monitor.locked { shown.parentPID = newValue } }
    }
    var executablePath: [UInt8] {
        get { monitor.locked { shown.executablePath } }
        set { monitor.locked { shown.executablePath = newValue } }
    }
    var commandLine: [UInt8] {
        get { monitor.locked { shown.commandLine } }
        set { monitor.locked { shown.commandLine = newValue } }
    }
    var cwd: Dentry? {
        get { monitor.locked { shown.cwd } }
        set { monitor.locked { shown.cwd = newValue } }
    }
    var umask: UInt32 {
        get { monitor.locked { shown.umask } }
        set { monitor.locked { shown.umask = newValue } }
    }

    /// ITIMER_REAL, made on first use (a forked child starts without one, as on Linux).
    var realTimer: KernelTimer {
        monitor.locked {
            if let realTimerStorage { return realTimerStorage }
            // SIGALRM from the kernel (SI_KERNEL) for the process, once however many
            // expirations it stands for.
            let timer = KernelTimer { [weak self] _, generation in
                guard let self, self.monitor.locked({ self.realTimerStorage })?.isCurrent(generation) == true else { return }
                self.post(PendingSignal(number: LinuxSignal.SIGALRM.rawValue, code: 0x80))
            }
            realTimerStorage = timer
            return timer
        }
    }

    private var cpuTimerStorage: [Syscalls.CPUClock.Measure: CPUTimer] = [:]

    /// ITIMER_VIRTUAL (the process's user time: SIGVTALRM) or ITIMER_PROF (its user and
    /// system time: SIGPROF), made on first use; a forked child starts without them.
    func cpuItimer(_ measure: Syscalls.CPUClock.Measure) -> CPUTimer {
        monitor.locked {
            if let timer = cpuTimerStorage[measure] { return timer }
            let signal = measure == .virtual ? LinuxSignal.SIGVTALRM.rawValue : LinuxSignal.SIGPROF.rawValue
            let clock = Syscalls.CPUClock(target: .process(self), measure: measure)
            let timer = CPUTimer(read: clock.reading) { [weak self] _, generation in
                guard let self, self.monitor.locked({ self.cpuTimerStorage[measure] })?.isCurrent(generation) == true else { return }
                self.post(PendingSignal(number: signal, code: 0x80))  // SI_KERNEL
            }
            cpuTimerStorage[measure] = timer
            return timer
        }
    }

    /// Counts a call to a syscall the Sentry does not implement.
    func countUnimplemented(_ sysno: Sysno) {
        monitor.locked { unimplemented[sysno, default: 0] += 1 }
    }

    var unimplementedCalls: [Sysno: Int] { monitor.locked { unimplemented } }

    // MARK: POSIX timers

    /// Adds a POSIX timer made by `make` with the next free id (ids count up from 0 and wrap,
    /// as Linux's); EAGAIN when the process has as many as it may have signals pending
    /// (RLIMIT_SIGPENDING), as each holds a queued signal in Linux.
    func addPosixTimer(_ make: (Int32) -> PosixTimer) throws(LinuxErrno) -> PosixTimer {
        let limit = limits[ResourceLimits.pendingSignals]?.0 ?? ResourceLimits.infinity
        let added: PosixTimer? = monitor.locked {
            guard UInt64(posixTimers.count) < min(limit, UInt64(Int32.max)) else { return nil }
            while posixTimers[nextTimerID] != nil { nextTimerID = nextTimerID == Int32.max ? 0 : nextTimerID + 1 }
            let timer = make(nextTimerID)
            posixTimers[timer.id] = timer
            nextTimerID = nextTimerID == Int32.max ? 0 : nextTimerID + 1
            return timer
        }
        guard let added else { throw .EAGAIN }
        return added
    }

    /// The POSIX timer `id` (EINVAL if the process has none by that id, as Linux answers).
    func posixTimer(_ id: Int32) throws(LinuxErrno) -> PosixTimer {
        guard let timer = monitor.locked({ posixTimers[id] }) else { throw .EINVAL }
        return timer
    }

    /// Deletes the POSIX timer `id` (disarmed first).
    func deletePosixTimer(_ id: Int32) throws(LinuxErrno) {
        guard let timer = monitor.locked({ posixTimers.removeValue(forKey: id) }) else { throw .EINVAL }
        timer.delete()
    }

    /// Deletes every POSIX timer (execve(2), the end of the process).
    func deleteAllPosixTimers() {
        let timers = monitor.locked {
            defer { posixTimers.removeAll() }
            return posixTimers.values
        }
        for timer in timers { timer.delete() }
    }

    // MARK: CPU time

    /// The CPU time of the process: of its ended threads and of those still running.
    var usage: CPUUsage {
        let (ended, live) = monitor.locked { (endedThreadsUsage, threads) }
        return live.reduce(ended) { $0 + $1.accounting.usage }
    }

    /// The CPU time of the children it has waited for.
    var childrenUsage: CPUUsage { monitor.locked { reapedChildrenUsage } }

    /// Adds a reaped child's CPU time (its own and its waited-for children's).
    func addReapedChild(_ usage: CPUUsage) {
        monitor.locked { reapedChildrenUsage += usage }
    }

    // MARK: Threads

    /// Adds a thread that is about to run.
    func add(_ task: Task) {
        monitor.locked { threads.append(task) }
    }

    /// The threads running now, oldest first.
    var liveThreads: [Task] { monitor.locked { threads } }

    /// The thread with host-independent id `tid`, if it runs in this group.
    func thread(_ tid: Int32) -> Task? {
        monitor.locked { threads.first { $0.tid == tid } }
    }

    /// Whether the group is ending as a whole.
    var isExiting: Bool { monitor.locked { exitStatus != nil } }

    /// Queues a signal sent to the process (kill(2), SIGCHLD): for the first thread that does
    /// not block it, or the first thread if all do, as Linux picks a thread to take it.
    /// SIGCONT continues a stopped process at once, whatever its action (and drops pending
    /// stop signals); a stop signal drops a pending SIGCONT.
    /// False if it was not queued (a standard signal already pending, or no thread left).
    @discardableResult
    func post(_ signal: PendingSignal) -> Bool {
        jobControl(signal.number)
        let bit: UInt64 = 1 << UInt64(signal.number - 1)
        let target = monitor.locked { threads.first { $0.signals.blocked & bit == 0 } ?? threads.first }
        return target?.signalQueue.post(signal) ?? false
    }

    // MARK: Job control (signal(7): stop and continue)

    /// What a signal sent to the process does before it is queued: SIGCONT continues it; a
    /// stop signal drops a pending SIGCONT.
    func jobControl(_ number: Int32) {
        if number == LinuxSignal.SIGCONT.rawValue {
            let (wasStopped, generation, threads): (Bool, UInt64, [Task]) = monitor.locked {
                defer {
                    stopped = false
                    monitor.broadcast()
                }
                continues += 1
                return (stopped, continues, self.threads)
            }
            for thread in threads {
                thread.signalQueue.discard(Syscalls.stopping)
                thread.signalQueue.cancelStopRequest()
            }
            if wasStopped { sandbox.continued(pid, generation: generation) }
        } else if Syscalls.stopping.contains(number) {
            for thread in liveThreads { thread.signalQueue.discard([LinuxSignal.SIGCONT.rawValue]) }
        }
    }

    /// A stop signal with its default action was taken by `task`: the whole process stops,
    /// unless a SIGCONT came since `generation` (then false). Its other threads are asked to
    /// stop (each does on its way back to its program, or out of a sleep, whatever it
    /// blocks); the parent is told (CLD_STOPPED, and wait4's WUNTRACED) unless a SIGCONT
    /// overtakes the report.
    func stop(by number: Int32, from task: Task, unlessContinuedSince generation: UInt64) -> Bool {
        enum Outcome { case cancelled, joined, stopped(others: [Task]) }
        let outcome: Outcome = monitor.locked {
            guard continues == generation, exitStatus == nil else { return .cancelled }
            if stopped { return .joined }  // another thread stopped it first
            stopped = true
            return .stopped(others: threads.filter { $0 !== task })
        }
        switch outcome {
        case .cancelled:
            return false
        case .joined:
            return true
        case .stopped(let others):
            for other in others { other.signalQueue.requestStop() }
            sandbox.stopped(pid, by: number, generation: generation)
            return true
        }
    }

    /// Waits while the process is stopped: until SIGCONT, or a SIGKILL for `task` (or the
    /// process ending).
    func waitWhileStopped(_ task: Task) {
        let kill: UInt64 = 1 << UInt64(LinuxSignal.SIGKILL.rawValue - 1)
        monitor.locked {
            while stopped && exitStatus == nil && !task.signalQueue.hasPending(in: kill) {
                _ = task.signalQueue.takeStopRequest()  // this wait serves it
                _ = task.signalQueue.sleep(on: monitor, interrupting: kill, deadline: nil)
            }
        }
    }

    /// Ends every thread of the group with `status` (the first status given wins): the others
    /// are woken with SIGKILL wherever they sleep, and the platform stops those running the
    /// program at once.
    func exit(_ status: ExitStatus, from task: Task) {
        let others: [Task]? = monitor.locked {
            if let execing, execing !== task { return nil }  // ended by execve in another thread
            if exitStatus == nil { exitStatus = status }
            monitor.broadcast()  // a stopped thread wakes to end
            return threads.filter { $0 !== task }
        }
        guard let others else { return }
        for other in others { other.signalQueue.post(PendingSignal(number: LinuxSignal.SIGKILL.rawValue)) }
        mm.platform.terminate()
    }

    /// Starts ending every thread but `task` for execve(2): they are woken with SIGKILL where
    /// they sleep and leave without ending the process (the caller ends their stub next).
    /// False if another thread's execve got there first: then `task` is one of those ending.
    func beginExec(for task: Task) -> Bool {
        let others: [Task]? = monitor.locked {
            if execing != nil || exitStatus != nil { return nil }
            execing = task
            return threads.filter { $0 !== task }
        }
        guard let others else { return false }
        for other in others { other.signalQueue.post(PendingSignal(number: LinuxSignal.SIGKILL.rawValue)) }
        return true
    }

    /// Waits until the thread that began an exec is the only one left.
    func finishExec() {
        monitor.locked {
            while threads.count > 1 { monitor.wait() }
            execing = nil
        }
    }

    /// Removes a thread that has ended with exit code `code` (exit(2); nil when the group is
    /// ending); when it was the last, the group has ended: records its status and tells the
    /// sandbox.
    func remove(_ task: Task, code: Int32?) {
        let final = task.accounting.finish()
        let ended: (ExitStatus, CPUUsage)? = monitor.locked {
            threads.removeAll { $0 === task }
            endedThreadsUsage += final
            if task.tid == pid, let code { leaderCode = code }
            monitor.broadcast()
            guard threads.isEmpty else { return nil }
            // Without exit_group, the process ends with its first thread's exit code, as the
            // leader's exit_code is what Linux reports.
            let status = exitStatus ?? .exited((leaderCode ?? code ?? 0) & 0xff)
            endStatus = status
            return (status, endedThreadsUsage + reapedChildrenUsage)
        }
        guard let (ended, usage) = ended else { return }
        realTimerStorage?.cancel()
        for timer in monitor.locked({ cpuTimerStorage.values }) { timer.cancel() }
        deleteAllPosixTimers()
        // Linux's exit_files: what the process held is closed (pipe ends, sockets) before
        // its parent is told it ended; its record locks go with them.
        fds.closeAll()
        RecordLocks.shared.release(.process(pid))
        sandbox.semaphores.exited(pid)  // SEM_UNDO
        sandbox.exited(pid, status: ended, usage: usage)
    }

    /// Waits until the last thread has ended and returns the group's status.
    func waitForEnd() -> ExitStatus {
        monitor.locked {
            while true {
                if let endStatus { return endStatus }
                monitor.wait()
            }
        }
    }
}
