import HostSys
import LinuxABI
import Logging

/// The six argument registers of a system call (rdi, rsi, rdx, r10, r8, r9).
public struct SyscallArguments: Sendable {
    public var values: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    public subscript(index: Int) -> UInt64 {
        switch index {
        case 0: return values.0
        case 1: return values.1
        case 2: return values.2
        case 3: return values.3
        case 4: return values.4
        default: return values.5
        }
    }
}

/// What a syscall handler wants done.
public enum SyscallOutcome: Sendable {
    /// Return this value to the program in rax.
    case value(Int64)
    /// The calling thread ends with this exit code (exit(2)); the last thread's ends the group.
    case exitThread(Int32)
    /// The thread group ends with this exit code (exit_group).
    case exitGroup(Int32)
    /// The thread group is killed by this signal (its default action).
    case killed(LinuxSignal)
    /// The registers were replaced (execve): do not set rax.
    case replaced
}

/// One thread of a program: its registers, its address space, and the loop that runs it on
/// the platform and serves each syscall it makes (DESIGN.md, "Kernel/").
///
/// The run loop is a state machine: run on the platform → stopped at a syscall → serve it →
/// run again; or stopped by a signal or the end of the host process → done. Everything a
/// program asks for is served here; nothing is passed to the host.
///
/// Locks: `shownLock` guards what /proc and other threads see (the name, the signal mask).
/// The rest is the task's own: it runs on its own OS thread (the platform's tracer thread),
/// and another thread touches it only while it is parked in a syscall that waits for that
/// thread (fork, clone: the new thread copies the caller while the caller waits), hence
/// `@unchecked Sendable`.
public final class Task: @unchecked Sendable {
    private static let log = Logger(label: "sentry.task")

    /// The process this thread belongs to: what its threads share.
    let group: ThreadGroup
    /// The thread's id (gettid(2)); the first thread's is the process's pid (execve in another
    /// thread gives that thread the pid).
    public var tid: Int32 {
        get { shownLock.locked { shownState.tid } }
        set { shownLock.locked { shownState.tid = newValue } }
    }
    /// The thread on the platform (execve of a multi-threaded program replaces it).
    var context: any Context {
        didSet { installInterrupt() }
    }
    var registers: LinuxUserRegs
    /// The sandbox this process lives in.
    let sandbox: Sandbox
    /// The root of the process's file system tree (nil: no file system is attached, and path
    /// calls are ENOSYS).
    var root: Dentry?
    /// Where calls with numbers outside the syscall table are counted.
    static let outOfTable = Sysno(-1)
    /// set_tid_address(2): the word cleared (and futex-woken) when the thread exits.
    var clearChildTID: UInt64 = 0
    /// What /proc shows of the thread to other threads: changed only by the task's own
    /// thread, read by any, so behind a lock (the properties below are views of it).
    private struct Shown {
        var tid: Int32
        var name: [UInt8]
        var signals = SignalState()
        var affinity: [UInt8]?
        var robustList: UInt64 = 0
        var scheduling = Scheduling()
    }

    /// A task's scheduling policy as sched_setscheduler(2) set it (kept and reported).
    struct Scheduling: Equatable {
        var policy: Int32 = 0
        var priority: Int32 = 0
        var resetOnFork = false

        /// What a new task made by fork or clone gets: the same, but with
        /// SCHED_RESET_ON_FORK a real-time policy becomes SCHED_OTHER and the flag goes.
        var inherited: Scheduling {
            guard resetOnFork else { return self }
            return policy == 1 || policy == 2 ? Scheduling() : Scheduling(policy: policy, priority: priority)
        }
    }

    /// The task's scheduling policy (any task may set another's, with the rights).
    var scheduling: Scheduling {
        get { shownLock.locked { shownState.scheduling } }
        set { shownLock.locked { shownState.scheduling = newValue } }
    }
    private var shownState: Shown
    private let shownLock = Monitor()

    /// The process's pid (getpid(2)).
    public var pid: Int32 { group.pid }
    /// set_robust_list(2): the head of the thread's robust futex list (get_robust_list reads
    /// any task's).
    var robustList: UInt64 {
        get { shownLock.locked { shownState.robustList } }
        set { shownLock.locked { shownState.robustList = newValue } }
    }
    /// sched_setaffinity(2)'s mask, once set (any task may set another's).
    var affinity: [UInt8]? {
        get { shownLock.locked { shownState.affinity } }
        set { shownLock.locked { shownState.affinity = newValue } }
    }
    /// The address space (execve replaces it).
    public var mm: MemoryManager {
        get { group.mm }
        set { group.mm = newValue }
    }
    /// The process's open files.
    public var fds: FDTable { group.fds }
    var parentPID: Int32 {
        get { group.parentPID }
        set { group.parentPID = newValue }
    }
    /// The path of the program it runs (execve(2) of /proc/self/exe runs it again).
    var executablePath: [UInt8] {
        get { group.executablePath }
        set { group.executablePath = newValue }
    }
    /// Its arguments as /proc/PID/cmdline shows them: each NUL-terminated.
    var commandLine: [UInt8] {
        get { group.commandLine }
        set { group.commandLine = newValue }
    }
    /// The working directory.
    var cwd: Dentry? {
        get { group.cwd }
        set { group.cwd = newValue }
    }
    /// The file mode creation mask (umask(2)).
    var umask: UInt32 {
        get { group.umask }
        set { group.umask = newValue }
    }
    /// Resource limits (getrlimit(2)), by resource number: (soft, hard).
    var limits: [Int: (UInt64, UInt64)] {
        get { group.limits }
        set { group.limits = newValue }
    }
    /// ITIMER_REAL of the process.
    var realTimer: KernelTimer { group.realTimer }
    /// The thread's name (comm), at most 15 bytes: prctl(PR_SET_NAME), /proc/PID/comm.
    var name: [UInt8] {
        get { shownLock.locked { shownState.name } }
        set { shownLock.locked { shownState.name = newValue } }
    }
    /// The thread's blocked mask and alternate stack, and the process's dispositions.
    var signals: SignalState {
        get { shownLock.locked { shownState.signals } }
        set { shownLock.locked { shownState.signals = newValue } }
    }
    /// Signals sent to this task and not yet delivered.
    let signalQueue = SignalQueue()
    /// The CPU time the thread has used.
    let accounting = TaskAccounting()
    /// Credentials that stand in for the process's during one call (access(2) checks with
    /// the real ids); set and read only by the task's own thread.
    var credentialOverride: Credentials?
    /// Where `--strace` lines go (nil: not tracing).
    var trace: (@Sendable (String) -> Void)?

    init(group: ThreadGroup, tid: Int32, context: any Context, registers: LinuxUserRegs, name: [UInt8]) {
        self.group = group
        self.sandbox = group.sandbox
        self.root = group.sandbox.root
        self.shownState = Shown(tid: tid, name: Array(name.prefix(15)))
        self.context = context
        self.registers = registers
        installInterrupt()
    }

    /// Makes a signal posted by another thread stop the program where it runs, so that it is
    /// delivered at once rather than at the program's next syscall.
    private func installInterrupt() {
        let interrupt = context.makeInterrupter()
        signalQueue.setInterrupt { [weak self] in
            if Task.current !== self { interrupt() }
        }
    }

    private static let threadTask = ThreadLocal<Task>()

    /// The task the calling tracer thread runs, if it runs one (the "current" of Linux).
    static var current: Task? { threadTask.value }

    /// Signals that interrupt a sleep: those not blocked and not ignored (Linux discards an
    /// ignored signal when it is sent, so it never wakes anyone).
    var interruptingSignals: UInt64 {
        let signals = self.signals
        var mask: UInt64 = 0
        for number in 1...64 {
            let action = signals.actions[number]
            if action.handler == SignalAction.ignore { continue }
            if action.handler == 0 && Syscalls.ignoredByDefault.contains(Int32(number)) { continue }
            mask |= 1 << UInt64(number - 1)
        }
        return (mask & ~signals.blocked) | SignalState.unblockable
    }

    /// Sleeps in `monitor` (whose lock the caller holds) until its broadcast or `deadline`, or
    /// until a signal arrives for the calling task (Linux's interruptible sleep): callers
    /// re-check what they wait for after `.woken`, and end the syscall with a restart code
    /// (ERESTARTSYS...) after `.interrupted`. A thread that runs no task just waits.
    static func sleep(on monitor: Monitor, deadline: UInt64? = nil) -> SleepResult {
        guard let task = current else {
            guard let deadline else {
                monitor.wait()
                return .woken
            }
            return monitor.wait(deadline: deadline) ? .woken : .timedOut
        }
        return task.signalQueue.sleep(on: monitor, interrupting: task.interruptingSignals, deadline: deadline)
    }

    /// Where the task sleeps for a time (nanosleep, poll's timeout): nothing else wakes it.
    private let timer = Monitor()

    /// Sleeps until `deadline` (Clock.monotonicNanoseconds) unless a signal interrupts first;
    /// returns whether one did.
    func sleep(until deadline: UInt64) -> Bool {
        timer.locked {
            while Clock.monotonicNanoseconds() < deadline {
                if Self.sleep(on: timer, deadline: deadline) == .interrupted { return true }
            }
            return false
        }
    }

    /// How a thread ended: its own exit(2), or with its whole group.
    enum End {
        case thread(code: Int32)
        case group(ExitStatus)
    }

    /// Runs the thread until it ends, then removes it from its group (the last thread out
    /// ends the process). Runs on the OS thread that drives the task's context.
    public func runUntilEnd() {
        Self.threadTask.value = self
        defer { Self.threadTask.value = nil }
        accounting.start()
        let end = (try? runLoop()) ?? .group(.signaled(.SIGKILL))
        switch end {
        case .group(let status):
            group.exit(status, from: self)
            group.remove(self, code: nil)
        case .thread(let code):
            // CLONE_CHILD_CLEARTID: the word is cleared and one waiter woken (pthread_join).
            if clearChildTID != 0, (try? mm.copyOut([0, 0, 0, 0], to: clearChildTID)) != nil,
                let word = try? Syscalls.futexWord(self, clearChildTID)
            {
                _ = sandbox.futexes.wake(key: word.key, count: 1)
            }
            context.exitThread()
            group.remove(self, code: code)
            // The first thread's OS thread made the stub, which dies with that OS thread
            // (PR_SET_PDEATHSIG follows the creating thread): it stays until the last thread ends.
            if tid == group.pid { _ = group.waitForEnd() }
        }
    }

    /// The run loop: run on the platform → stopped at a syscall → serve it → run again; or
    /// stopped by a signal, the end of the host thread, or an exit → done.
    private func runLoop() throws(LinuxErrno) -> End {
        while true {
            accounting.resumed()
            let stop = try context.run(&registers)
            accounting.stopped()
            switch stop {
            case .exited(let status):
                // The platform ended the thread: the group is ending, or the host killed it.
                return .group(status)
            case .fault(let signal, let code, let address):
                if case .killed(let fatal)? = deliverFault(signal, code: code, address: address) { return .group(.signaled(fatal)) }
            case .interrupted:
                if case .killed(let fatal)? = deliverPendingSignal() { return .group(.signaled(fatal)) }
            case .syscall:
                let sysno = Sysno(Int(truncatingIfNeeded: registers.origRax))
                let arguments = SyscallArguments(
                    values: (registers.rdi, registers.rsi, registers.rdx, registers.r10, registers.r8, registers.r9))
                let outcome = dispatch(sysno, arguments)
                if let trace { trace(Strace.line(self, sysno, arguments, outcome)) }
                switch outcome {
                case .value(let value):
                    registers.rax = UInt64(bitPattern: value)
                case .exitThread(let code):
                    return .thread(code: code)
                case .exitGroup(let code):
                    return .group(.exited(code & 0xff))
                case .killed(let signal):
                    return .group(.signaled(signal))
                case .replaced:
                    break
                }
                // Signals are delivered on the way back to the program, as Linux does; a call
                // a signal interrupted restarts or fails with EINTR, as its code says.
                var interrupted: LinuxErrno?
                if case .value(let value) = outcome, value < 0, LinuxErrno(Int32(truncatingIfNeeded: -value)).isInternalRestart {
                    interrupted = LinuxErrno(Int32(truncatingIfNeeded: -value))
                }
                switch deliverPendingSignal(interrupted: interrupted) {
                case .killed(let signal)?: return .group(.signaled(signal))
                default: break
                }
            }
        }
    }

    /// Serves one syscall: its handler's result, or -errno; ENOSYS (counted) for a call the
    /// table does not implement.
    func dispatch(_ sysno: Sysno, _ arguments: SyscallArguments) -> SyscallOutcome {
        guard let handler = Syscalls.handlers[sysno] else {
            // Counted by number for the calls the table knows; any other number (a program
            // can try them all) is counted under one entry, so the count stays small.
            let counted = SyscallTable.amd64.entry(for: sysno) != nil ? sysno : Self.outOfTable
            group.countUnimplemented(counted)
            Self.log.debug("unimplemented syscall \(sysno)")
            return .value(-Int64(LinuxErrno.ENOSYS.rawValue))
        }
        do {
            return try handler(self, arguments)
        } catch {
            return .value(-Int64(error.rawValue))
        }
    }
}

extension Task {
    /// The path argument at `address` (at most PATH_MAX - 1 bytes).
    func path(at address: UInt64) throws(LinuxErrno) -> [UInt8] {
        try mm.copyInString(from: address, maximum: PathResolution.maxPathLength - 1)
    }

    /// Resolves the path at `address` relative to `directoryFD` (AT_FDCWD: the working
    /// directory), as the *at(2) calls do. An empty path is ENOENT unless `allowEmpty`
    /// (AT_EMPTY_PATH), when it names the fd's own file.
    func resolve(directoryFD: Int32, pathAddress: UInt64, followFinal: Bool, allowEmpty: Bool = false)
        throws(LinuxErrno) -> Dentry
    {
        guard let root, let cwd else { throw .ENOSYS }
        let path = try path(at: pathAddress)
        let start: Dentry
        if path.first == 0x2f {
            start = root
        } else if directoryFD == AtFlags.currentDirectory {
            start = cwd
        } else {
            let file = try fds.get(directoryFD)
            if path.isEmpty && allowEmpty, let dentry = file.dentry { return dentry }
            guard let dentry = file.dentry else { throw .ENOTDIR }
            start = dentry
        }
        if path.isEmpty {
            guard allowEmpty else { throw .ENOENT }
            return start
        }
        return try PathResolution.resolve(path, root: root, start: start, followFinal: followFinal, mounts: sandbox.mounts)
    }

    /// Checks `access` to `inode` as Linux's inode_permission: writing a regular file, a
    /// directory or a symlink of a read-only file system is EROFS, before the permission bits
    /// and capabilities (EACCES).
    func requirePermission(_ access: Access, to inode: any Inode, status given: LinuxStat? = nil) throws(LinuxErrno) {
        let status: LinuxStat
        if let given { status = given } else { status = try inode.stat() }
        if access.contains(.write) && inode.isOnReadOnlyFileSystem
            && [FileMode.regular, FileMode.directory, FileMode.symlink].contains(status.mode & FileMode.typeMask)
        {
            throw .EROFS
        }
        try group.credentials.require(access, to: status)
    }

    /// Checks that the caller may add or remove names in `directory` (write and search
    /// permission).
    func requireMayChange(_ directory: Dentry) throws(LinuxErrno) {
        try requirePermission([.write, .execute], to: directory.inode)
    }

    /// Checks that the caller may remove or rename `name` of `directory`: write and search
    /// permission on the directory (EACCES), and the sticky-bit rule (EPERM). ENOENT if the
    /// name does not exist.
    func requireMayDelete(_ name: [UInt8], from directory: Dentry) throws(LinuxErrno) {
        let child = try PathResolution.child(name, of: directory, mounts: sandbox.mounts)
        let directoryStatus = try directory.inode.stat()
        try requirePermission([.write, .execute], to: directory.inode, status: directoryStatus)
        try group.credentials.requireMayDelete(try child.inode.stat(), from: directoryStatus)
    }

    /// Whether `name` exists in `directory`, counting file systems mounted there.
    func exists(_ name: [UInt8], in directory: Dentry) -> Bool {
        (try? PathResolution.child(name, of: directory, mounts: sandbox.mounts)) != nil
    }

    /// Resolves the directory of the path at `pathAddress` (relative to `directoryFD`) and
    /// returns it with the path's last component, for calls that create or remove a name.
    func resolveParent(directoryFD: Int32, pathAddress: UInt64) throws(LinuxErrno) -> (Dentry, [UInt8]) {
        guard let root, let cwd else { throw .ENOSYS }
        let path = try path(at: pathAddress)
        var start = cwd
        if path.first != 0x2f && directoryFD != AtFlags.currentDirectory {
            guard let dentry = try fds.get(directoryFD).dentry else { throw .ENOTDIR }
            start = dentry
        }
        return try PathResolution.resolveParent(path, root: root, start: start, mounts: sandbox.mounts)
    }
}

extension Task {
    /// The whole contents of the regular file at `path` in this task's tree (for exec).
    func readWholeFile(_ path: [UInt8]) throws(LinuxErrno) -> [UInt8] {
        guard let root, let cwd else { throw .ENOENT }
        let dentry = try PathResolution.resolve(path, root: root, start: cwd, followFinal: true, mounts: sandbox.mounts)
        guard try dentry.inode.fileType() == FileMode.regular else { throw .EACCES }
        let file = try dentry.inode.open(flags: .readOnly)
        var contents: [UInt8] = []
        while true {
            let chunk = try file.read(count: 1 << 20, at: Int64(contents.count))
            if chunk.isEmpty { return contents }
            contents += chunk
        }
    }

    /// Loads the executable `bytes` (and its interpreter) into this task's (empty) address
    /// space and sets its registers to start it, as execve(2) does after the point of no return.
    func loadImage(
        _ bytes: [UInt8], interpreter: [UInt8]?, path: [UInt8], arguments: [[UInt8]], environment: [[UInt8]], secure: Bool = false
    ) throws(LinuxErrno) {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let credentials = group.credentials
        let identity = Loader.Identity(
            uid: credentials.realUID, effectiveUID: credentials.effectiveUID, gid: credentials.realGID,
            effectiveGID: credentials.effectiveGID, secure: secure)
        let program = try Loader.load(
            bytes, interpreter: interpreter, into: mm, arguments: arguments, environment: environment, random: random, identity: identity)
        var fresh = LinuxUserRegs()
        let initial = context.initialRegisters
        (fresh.cs, fresh.ss, fresh.ds, fresh.es) = (initial.cs, initial.ss, initial.ds, initial.es)
        fresh.eflags = 0x202  // IF, and the reserved bit 1
        fresh.rip = program.entry
        fresh.rsp = program.stackPointer
        registers = fresh
        executablePath = path
        commandLine = arguments.flatMap { $0 + [0] }
        let base = (arguments.first ?? path).split(separator: 0x2f).last.map(Array.init) ?? []
        name = Array(base.prefix(15))
    }
}
