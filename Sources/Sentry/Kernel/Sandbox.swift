import CShim
import Glibc
import Gofer
import HostSys
import LinuxABI
import Netstack

/// The kernel state one sandbox shares between its processes: the memory file, the process
/// table (pids, parents, exit statuses for wait4), and the file system root.
///
/// Every thread of every process runs on an OS thread of its own, which traces its stub
/// thread. Locks: `monitor` guards `processes` and `nextPID`; it is never held while a syscall
/// of a task runs on the platform, and no other lock is taken under it.
public final class Sandbox: @unchecked Sendable {
    /// The memory the sandbox reports (/proc/meminfo) and sizes its tmpfs mounts by; the
    /// memory file behind the programs is sparse, so this is an offer, not a reservation.
    static let memoryBytes = 8 << 30
    /// The device number stat shows for files of the root overlay.
    static let overlayDevice: UInt64 = 0x2b

    /// One process as its parent and wait4 see it.
    final class Process {
        let pid: Int32
        var parent: Int32
        /// Set when the process has ended: a zombie until its parent waits for it.
        var status: ExitStatus?
        /// When it has ended: its CPU time and that of the children it waited for, which its
        /// parent's wait adds to the parent's children's time.
        var usage = CPUUsage()
        /// The host pid of its stub, while it runs (for signals from other processes).
        var stubPID: pid_t = 0
        /// Its threads (weak: the threads' OS threads own them).
        weak var group: ThreadGroup?
        /// Its process group and session (credentials(7)); a child starts in its parent's.
        var processGroup: Int32
        var session: Int32
        /// It has called execve: its parent can no longer move it to another group.
        var hasExeced = false
        /// PR_SET_CHILD_SUBREAPER: orphaned descendants become its children, not init's.
        var subreaper = false
        /// Signals sent while it was being forked, before it had threads to take them.
        var early: [PendingSignal] = []
        /// A stop or a continue not yet reported to a wait (WUNTRACED, WCONTINUED), and the
        /// SIGCONT count it goes with (a stop report older than a continue is dropped).
        var jobReport: JobReport?
        var jobGeneration: UInt64 = 0

        init(pid: Int32, parent: Int32, processGroup: Int32, session: Int32) {
            self.pid = pid
            self.parent = parent
            self.processGroup = processGroup
            self.session = session
        }
    }

    /// What a stopped or continued child has to report.
    enum JobReport: Equatable {
        case stopped(Int32)
        case continued
    }

    /// Which children wait4 and waitid wait for.
    enum WaitTarget: Equatable {
        case any
        case process(Int32)
        case group(Int32)
    }

    let memory: MemoryFile
    let root: Dentry?
    let monitor = Monitor()
    /// futex(2) wait queues, shared by all processes of the sandbox.
    let futexes = Futexes()
    /// System V shared memory segments and semaphore sets (the sandbox's IPC namespace).
    let sharedMemorySegments = SystemVSharedMemory()
    let semaphores = SystemVSemaphores()
    let messageQueues = SystemVMessageQueues()
    /// File systems mounted over the root, by absolute path: tmpfs on /tmp, the devices on
    /// /dev (when a root is attached).
    private(set) var mounts: [[UInt8]: any Inode] = [:]
    /// When the sandbox started (for /proc/uptime).
    let startTime = Clock.monotonicNanoseconds()
    private var processes: [Int32: Process] = [:]
    private var nextPID: Int32 = 1
    private var nextPipe: UInt64 = 0x1000

    /// The CPUs the sandbox shows (sched_getaffinity, /proc/cpuinfo): those the Sentry may
    /// run on, counted when it starts (its tracer threads pin themselves to one CPU each
    /// later, which their own affinity would then show).
    let cpuCount = max((try? CPU.allowedCount()) ?? 1, 1)

    /// The sandbox's host and domain names (uname(2)'s nodename and domainname: its own UTS
    /// namespace, changed by sethostname(2) and setdomainname(2)).
    var hostname: [UInt8] {
        get { monitor.locked { names.host } }
        set { monitor.locked { names.host = newValue } }
    }
    var domainname: [UInt8] {
        get { monitor.locked { names.domain } }
        set { monitor.locked { names.domain = newValue } }
    }
    private var names: (host: [UInt8], domain: [UInt8])

    init(memory: MemoryFile, root: Dentry?, hostname: String = "runsc") {
        self.memory = memory
        self.root = root
        self.names = (Array(hostname.utf8.prefix(64)), Array("(none)".utf8))
        if root != nil {
            mounts = [
                Array("/tmp".utf8): TmpfsInode.makeRoot(device: 0x2a),
                Array("/dev".utf8): Devices.makeTree(device: 0x5),
            ]
            mounts[Array("/proc".utf8)] = ProcFS.makeRoot(self)
        }
    }

    /// The network stack of the sandbox's AF_INET sockets: the Netstack process's (given at
    /// start), or else, on first use, a loopback-only stack in the Sentry itself (127.0.0.1/8,
    /// for a Sentry run without runsc, as in tests).
    private var networkService: (any SocketCalls)?

    func network() throws(LinuxErrno) -> any SocketCalls {
        try monitor.locked { () throws(LinuxErrno) -> any SocketCalls in
            if let networkService { return networkService }
            let service = SocketService.loopbackOnly()
            service.onChange = { _ in Readiness.changed() }
            try onBehalfOfGuest { () throws(Errno) in try service.start() }
            networkService = service
            return service
        }
    }

    /// Bound AF_UNIX sockets (stream, seqpacket or datagram), by name (weak: a socket's name
    /// goes with it).
    private var unixNames: [UnixName: WeakUnixSocket] = [:]
    private struct WeakUnixSocket { weak var socket: AnyObject? }

    /// Records that `socket` is bound to `name`; EADDRINUSE if a live socket has it.
    /// (Every strong reference taken from the table leaves the lock before it is dropped: the
    /// last one would run the socket's deinit, which takes the lock again.)
    func bindUnix(_ name: UnixName, to socket: AnyObject) throws(LinuxErrno) {
        var holder: AnyObject?
        defer { holder = nil }
        try monitor.locked { () throws(LinuxErrno) in
            holder = unixNames[name]?.socket
            if holder != nil { throw .EADDRINUSE }
            unixNames[name] = WeakUnixSocket(socket: socket)
        }
    }

    /// Forgets `name` if its socket is gone (called from that socket's deinit).
    func unbindUnix(_ name: UnixName) {
        var holder: AnyObject?
        monitor.locked {
            holder = unixNames[name]?.socket
            if holder == nil { unixNames[name] = nil }
        }
        holder = nil
    }

    /// The socket bound to `name`, if any.
    func unixSocket(_ name: UnixName) -> AnyObject? {
        monitor.locked { unixNames[name]?.socket }
    }

    /// Uses `service` for the sandbox's sockets (before any program runs).
    func useNetwork(_ service: any SocketCalls) {
        monitor.locked { networkService = service }
    }

    /// Records a new process with a fresh pid, in its parent's process group and session. The
    /// first is 1, the sandbox's init, which leads its own session and group (as a
    /// container's init does).
    func addProcess(parent: Int32) -> Int32 {
        monitor.locked {
            let pid = nextPID
            nextPID += 1
            let (group, session) = processes[parent].map { ($0.processGroup, $0.session) } ?? (pid, pid)
            processes[pid] = Process(pid: pid, parent: parent, processGroup: group, session: session)
            return pid
        }
    }

    /// getpgid(2)/getsid(2): the process group and session of `pid`; ESRCH for none (a
    /// zombie still has them).
    func processGroup(of pid: Int32) throws(LinuxErrno) -> (group: Int32, session: Int32) {
        try monitor.locked { () throws(LinuxErrno) in
            guard let process = processes[pid] else { throw .ESRCH }
            return (process.processGroup, process.session)
        }
    }

    /// setsid(2) for `pid`: a new session and group led by it; EPERM if it leads a group already.
    func newSession(_ pid: Int32) throws(LinuxErrno) -> Int32 {
        try monitor.locked { () throws(LinuxErrno) in
            guard let process = processes[pid] else { throw .ESRCH }
            guard process.processGroup != pid, !processes.values.contains(where: { $0.processGroup == pid }) else { throw .EPERM }
            process.session = pid
            process.processGroup = pid
            return pid
        }
    }

    /// setpgid(2) from `caller`: moves `pid` (the caller or a child of it) into group `group`,
    /// Linux's checks in its order: ESRCH for a process that is neither; EACCES for a child
    /// that has called execve; EPERM for a child in another session, for a session leader, or
    /// for a group that does not exist in the caller's session.
    func setProcessGroup(_ pid: Int32, to group: Int32, caller: Int32) throws(LinuxErrno) {
        try monitor.locked { () throws(LinuxErrno) in
            guard let process = processes[pid], pid == caller || process.parent == caller, let callerProcess = processes[caller]
            else { throw .ESRCH }
            if pid != caller {
                guard process.session == callerProcess.session else { throw .EPERM }
                if process.hasExeced { throw .EACCES }
            }
            guard process.session != pid else { throw .EPERM }
            if group != pid {
                // A zombie stays in its group until it is reaped, as on Linux.
                guard processes.values.contains(where: { $0.processGroup == group && $0.session == callerProcess.session })
                else { throw .EPERM }
            }
            process.processGroup = group
        }
    }

    /// Marks `pid` as having called execve (setpgid's EACCES).
    func noteExec(_ pid: Int32) {
        monitor.locked { processes[pid]?.hasExeced = true }
    }

    /// The processes of group `group`, zombies included (kill(2) finds them, and signals
    /// them to no effect).
    func members(of group: Int32) -> [Int32] {
        monitor.locked { processes.values.filter { $0.processGroup == group }.map(\.pid).sorted() }
    }

    /// The processes kill(-1) reaches from `sender`: all but init and the sender.
    func everyoneBut(_ sender: Int32) -> [Int32] {
        monitor.locked { processes.values.filter { $0.pid != 1 && $0.pid != sender }.map(\.pid).sorted() }
    }

    /// A fresh id for a new thread of a process (thread ids and pids share one numbering).
    func newThreadID() -> Int32 {
        monitor.locked {
            defer { nextPID += 1 }
            return nextPID
        }
    }

    /// A fresh inode number for a pipe (the pipe file system's numbering).
    func newPipeInode() -> UInt64 {
        monitor.locked {
            nextPipe += 1
            return nextPipe
        }
    }

    /// Attaches the running process and its stub to its pid, and hands it the signals sent
    /// while it was being made.
    func attach(_ group: ThreadGroup, stub: pid_t) {
        let early: [PendingSignal] = monitor.locked {
            processes[group.pid]?.group = group
            processes[group.pid]?.stubPID = stub
            defer { processes[group.pid]?.early = [] }
            return processes[group.pid]?.early ?? []
        }
        for signal in early { group.post(signal) }
    }

    /// The processes running now, by pid.
    func liveProcesses() -> [ThreadGroup] {
        monitor.locked { processes.values.filter { $0.status == nil }.compactMap(\.group).sorted { $0.pid < $1.pid } }
    }

    /// The thread `tid` of any running process.
    func thread(_ tid: Int32) -> Task? {
        liveProcesses().lazy.compactMap { $0.thread(tid) }.first
    }

    func taskCount() -> Int { monitor.locked { processes.values.filter { $0.status == nil }.count } }
    func lastPID() -> Int32 { monitor.locked { nextPID - 1 } }

    /// Forgets a process that never started (its fork failed).
    func removeProcess(_ pid: Int32) {
        _ = monitor.locked { processes.removeValue(forKey: pid) }
    }

    /// PR_SET_CHILD_SUBREAPER of process `pid`.
    func setSubreaper(_ pid: Int32, _ on: Bool) { monitor.locked { processes[pid]?.subreaper = on } }
    func isSubreaper(_ pid: Int32) -> Bool { monitor.locked { processes[pid]?.subreaper ?? false } }

    /// Records that `pid` ended. Its children go to the nearest living subreaper among its
    /// ancestors, else to init (pid 1), or are forgotten if init is gone; those that asked
    /// (PR_SET_PDEATHSIG) get their signal. It stays a zombie until its parent waits, unless
    /// its parent is gone too.
    func exited(_ pid: Int32, status: ExitStatus, usage: CPUUsage) {
        var orphans: [ThreadGroup] = []
        defer {
            for orphan in orphans where orphan.parentDeathSignal != 0 { orphan.post(PendingSignal(number: orphan.parentDeathSignal)) }
        }
        let notify: (ThreadGroup, PendingSignal)? = monitor.locked {
            guard let process = processes[pid] else { return nil }
            process.status = status
            process.usage = usage
            process.stubPID = 0
            defer { monitor.broadcast() }
            var reaper: Int32 = processes[1]?.status == nil ? 1 : 0
            var ancestor = processes[process.parent]
            while let candidate = ancestor, candidate.pid != 1 {
                if candidate.subreaper && candidate.status == nil {
                    reaper = candidate.pid
                    break
                }
                ancestor = processes[candidate.parent]
            }
            for child in processes.values where child.parent == pid {
                child.parent = reaper
                if let group = child.group, child.status == nil { orphans.append(group) }
                if child.parent == 0 && child.status != nil { processes.removeValue(forKey: child.pid) }
            }
            if process.parent == 0 || processes[process.parent] == nil || processes[process.parent]?.status != nil {
                processes.removeValue(forKey: pid)
                return nil
            }
            guard let parent = processes[process.parent]?.group else { return nil }
            // SIGCHLD to the parent: CLD_EXITED with the code, or CLD_KILLED with the signal.
            let (code, value): (Int32, Int32) =
                switch status {
                case .exited(let exit): (1, exit)
                case .signaled(let signal): (2, signal.rawValue)
                }
            return (parent, PendingSignal(number: 17, code: code, pid: pid, status: value))
        }
        // Posted without the sandbox's lock: posting wakes the parent wherever it sleeps,
        // which may be this very monitor (wait4).
        if let (parent, signal) = notify { parent.post(signal) }
    }

    /// Process `pid` stopped by signal `number` (or continued): kept for its parent's wait,
    /// and SIGCHLD with CLD_STOPPED (CLD_CONTINUED) for the parent unless its SIGCHLD action
    /// has SA_NOCLDSTOP.
    /// `generation`: the process's SIGCONT count the stop went with, or the continue made.
    func stopped(_ pid: Int32, by number: Int32, generation: UInt64) { reportJob(pid, .stopped(number), generation: generation) }
    func continued(_ pid: Int32, generation: UInt64) { reportJob(pid, .continued, generation: generation) }

    private func reportJob(_ pid: Int32, _ report: JobReport, generation: UInt64) {
        let parent: ThreadGroup? = monitor.locked {
            guard let process = processes[pid], process.status == nil, generation >= process.jobGeneration,
                process.group?.isExiting != true
            else { return nil }
            process.jobGeneration = generation
            process.jobReport = report
            monitor.broadcast()
            return processes[process.parent]?.group
        }
        guard let parent, let thread = parent.liveThreads.first else { return }
        let noStopReports: UInt64 = 1  // SA_NOCLDSTOP
        guard thread.signals.actions[Int(LinuxSignal.SIGCHLD.rawValue)].flags & noStopReports == 0 else { return }
        let (code, status): (Int32, Int32) =
            switch report {
            case .stopped(let number): (5, number)  // CLD_STOPPED
            case .continued: (6, LinuxSignal.SIGCONT.rawValue)  // CLD_CONTINUED
            }
        parent.post(PendingSignal(number: LinuxSignal.SIGCHLD.rawValue, code: code, pid: pid, status: status))
    }

    /// What wait4 found.
    enum WaitResult {
        case reaped(pid: Int32, status: ExitStatus, usage: CPUUsage)
        /// A child stopped (WUNTRACED) by the signal, or continued (WCONTINUED).
        case stopped(pid: Int32, signal: Int32)
        case continued(pid: Int32)
        /// Children exist but none has ended (WNOHANG).
        case running
    }

    /// Waits for a child of `parent` that matches `target` (any child, one child, or a child
    /// in a process group) to end, and reaps it (unless `reap` is false: waitid(2) WNOWAIT
    /// leaves it waitable); with `stopped` or `continued`, a stop or continue it has not
    /// reported yet is reported instead (and consumed, unless `reap` is false). ECHILD if
    /// there is no such child. With `block` false, returns `.running` instead of waiting.
    func wait(
        parent: Int32, for target: WaitTarget, block: Bool, reap: Bool = true, exited: Bool = true, stopped: Bool = false, continued: Bool = false
    ) throws(LinuxErrno) -> WaitResult {
        let result: Result<WaitResult, LinuxErrno> = monitor.locked {
            while true {
                let children = processes.values.filter { child in
                    guard child.parent == parent else { return false }
                    switch target {
                    case .any: return true
                    case .process(let pid): return child.pid == pid
                    case .group(let group): return child.processGroup == group
                    }
                }
                if children.isEmpty { return .failure(.ECHILD) }
                if exited, let zombie = children.first(where: { $0.status != nil }), let status = zombie.status {
                    if reap { processes.removeValue(forKey: zombie.pid) }
                    return .success(.reaped(pid: zombie.pid, status: status, usage: zombie.usage))
                }
                for child in children.sorted(by: { $0.pid < $1.pid }) where child.status == nil {
                    switch child.jobReport {
                    case .stopped(let number)? where stopped:
                        if reap { child.jobReport = nil }
                        return .success(.stopped(pid: child.pid, signal: number))
                    case .continued? where continued:
                        if reap { child.jobReport = nil }
                        return .success(.continued(pid: child.pid))
                    default:
                        continue
                    }
                }
                if !block { return .success(.running) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
        }
        return try result.get()
    }

    /// The stub and threads of a running process (for kill).
    func running(_ pid: Int32) -> (stub: pid_t, group: ThreadGroup?)? {
        monitor.locked {
            guard let process = processes[pid], process.status == nil, process.stubPID != 0 else { return nil }
            return (process.stubPID, process.group)
        }
    }

    /// Sends signal `number` (0: only check) to process `pid` from process `sender` (0: from
    /// outside the sandbox, as runsc kill): queued for one of the process's threads, which takes
    /// it on its way back to its program or wakes from a sleep for it. SIGKILL is also sent to the
    /// stub on the host, so that it ends a program running in it at once. ESRCH if `pid` is
    /// not a running process.
    public func signal(_ pid: Int32, _ number: Int32, from sender: Int32) throws(LinuxErrno) {
        try signal(pid, PendingSignal(number: number, pid: sender))
    }

    /// Sends `pending` (its number 0: only check) to process `pid`, as `signal(_:_:from:)`;
    /// false if it was not queued (a standard signal already pending, the real-time limit).
    @discardableResult
    func signal(_ pid: Int32, _ pending: PendingSignal) throws(LinuxErrno) -> Bool {
        let number = pending.number
        // A process being forked (no stub yet) keeps the signal for when it starts; a zombie
        // takes it to no effect.
        let state: (known: Bool, early: Bool) = monitor.locked {
            guard let process = processes[pid] else { return (false, false) }
            guard process.status == nil, process.group == nil else { return (true, false) }
            if number != 0 { process.early.append(pending) }
            return (true, true)
        }
        if !state.known { throw .ESRCH }
        if state.early { return true }
        guard let target = running(pid) else { return true }  // a zombie
        guard number != 0 else { return true }
        let queued = target.group?.post(pending) ?? false
        if number == LinuxSignal.SIGKILL.rawValue {
            try onBehalfOfGuest { () throws(Errno) in _ = try hostCall { Glibc.kill(target.stub, number) } }
        }
        return queued
    }

    /// Kills every process still running (when init has ended, as a pid namespace does).
    func killAll() {
        let stubs = monitor.locked { processes.values.compactMap { $0.status == nil && $0.stubPID != 0 ? $0.stubPID : nil } }
        for stub in stubs { _ = try? hostCall { Glibc.kill(stub, SIGKILL) } }
    }
}
