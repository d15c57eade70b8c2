import HostSys
import LinuxABI

extension Syscalls {
    /// clone(2) flags.
    static let cloneVM: UInt64 = 0x100, cloneFS: UInt64 = 0x200, cloneFiles: UInt64 = 0x400, cloneSighand: UInt64 = 0x800
    static let cloneVfork: UInt64 = 0x4000, cloneParent: UInt64 = 0x8000, cloneThread: UInt64 = 0x10000
    static let cloneSetTLS: UInt64 = 0x80000, cloneParentSetTID: UInt64 = 0x100000, cloneChildClearTID: UInt64 = 0x200000
    static let cloneChildSetTID: UInt64 = 0x1000000

    /// Implements Linux fork(2).
    static func fork(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try forkProcess(task, flags: 17, parentTID: 0, childTID: 0, tls: 0)  // SIGCHLD
    }

    /// Implements Linux vfork(2) as fork(2): the child gets a copy of the address space
    /// instead of borrowing the parent's, which a correct vfork child cannot tell apart; the
    /// parent does not wait for the child's exec.
    static func vfork(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try forkProcess(task, flags: 17, parentTID: 0, childTID: 0, tls: 0)
    }

    /// Implements Linux clone(2): a new process (fork, and CLONE_VM with CLONE_VFORK served as
    /// vfork), or a new thread of the caller's process (CLONE_THREAD, which needs CLONE_VM,
    /// CLONE_SIGHAND, CLONE_FILES and CLONE_FS: threads share all of those here). Other mixes
    /// of sharing (CLONE_VM or CLONE_FILES without a thread) are ENOSYS.
    static func clone(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try cloneTask(task, flags: arguments[0], stack: arguments[1], parentTID: arguments[2], childTID: arguments[3], tls: arguments[4])
    }

    /// Implements Linux clone3(2) for what clone(2) serves: `struct clone_args` (at least its
    /// first 64 bytes; any longer tail must be zero) names the flags, the exit signal, the
    /// stack as its lowest address and size, and the tid pointers and TLS. CLONE_PIDFD,
    /// set_tid and cgroup are ENOSYS.
    static func clone3(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let size = arguments[1]
        guard size >= 64, size <= 4096 else { throw .EINVAL }
        let bytes = try task.mm.copyIn(from: arguments[0], count: Int(size))
        if bytes.count > 88, bytes[88...].contains(where: { $0 != 0 }) { throw .E2BIG }
        let field = { (index: Int) -> UInt64 in index * 8 + 8 <= bytes.count ? word(Array(bytes[(index * 8)..<(index * 8 + 8)])) : 0 }
        let (flags, exitSignal, stack, stackSize) = (field(0), field(4), field(5), field(6))
        guard flags & 0xff == 0, exitSignal <= 64 else { throw .EINVAL }
        if flags & 0x1000 != 0 || field(8) != 0 || field(9) != 0 || field(10) != 0 { throw .ENOSYS }  // CLONE_PIDFD, set_tid, cgroup
        guard (stack == 0) == (stackSize == 0) else { throw .EINVAL }
        return try cloneTask(
            task, flags: flags | exitSignal, stack: stack == 0 ? 0 : stack &+ stackSize, parentTID: field(3), childTID: field(2),
            tls: field(7))
    }

    /// What clone(2) and clone3(2) share: checks the flags and starts a process or a thread.
    private static func cloneTask(_ task: Task, flags: UInt64, stack: UInt64, parentTID: UInt64, childTID: UInt64, tls: UInt64)
        throws(LinuxErrno) -> SyscallOutcome
    {
        // Linux's own rules first: a thread shares handlers, handlers need a shared address space.
        if flags & cloneThread != 0 && flags & cloneSighand == 0 { throw .EINVAL }
        if flags & cloneSighand != 0 && flags & cloneVM == 0 { throw .EINVAL }
        if flags & cloneSetTLS != 0 && tls >= ELFFile.userAddressSpaceEnd { throw .EPERM }
        if flags & cloneThread != 0 {
            guard flags & (cloneFiles | cloneFS) == cloneFiles | cloneFS else { throw .ENOSYS }
            return try createThread(task, flags: flags, stack: stack, parentTID: parentTID, childTID: childTID, tls: tls)
        }
        if flags & (cloneSighand | cloneFiles) != 0 || (flags & cloneVM != 0 && flags & cloneVfork == 0) { throw .ENOSYS }
        guard flags & 0xff == 17 || flags & 0xff == 0 else { throw .ENOSYS }  // exit signals other than SIGCHLD
        return try forkProcess(task, flags: flags, stack: stack, parentTID: parentTID, childTID: childTID, tls: tls)
    }

    /// The registers a new thread or process starts with: the caller's, with rax = 0, rsp =
    /// `stack` when given (glibc's clone() left the child's function on it), and the TLS base
    /// of CLONE_SETTLS.
    private static func childRegisters(_ task: Task, flags: UInt64, stack: UInt64, tls: UInt64) -> LinuxUserRegs {
        var registers = task.registers
        registers.rax = 0
        if stack != 0 { registers.rsp = stack }
        if flags & cloneSetTLS != 0 { registers.fsBase = tls }
        return registers
    }

    /// Starts a new thread in the caller's process: a new thread of its stub, on a new tracer
    /// thread, with the caller's blocked mask and the process's handlers, files and memory.
    /// CLONE_PARENT_SETTID and CLONE_CHILD_SETTID write the new tid (to the one shared memory);
    /// CLONE_CHILD_CLEARTID records where the thread's exit clears it (pthread_join waits there).
    static func createThread(_ task: Task, flags: UInt64, stack: UInt64, parentTID: UInt64, childTID: UInt64, tls: UInt64)
        throws(LinuxErrno) -> SyscallOutcome
    {
        let tid = task.sandbox.newThreadID()
        let tidBytes = bytes(UInt64(tid)).prefix(4).map { $0 }
        if flags & cloneParentSetTID != 0 { try task.mm.copyOut(tidBytes, to: parentTID) }
        if flags & cloneChildSetTID != 0 { try task.mm.copyOut(tidBytes, to: childTID) }
        let registers = childRegisters(task, flags: flags, stack: stack, tls: tls)
        let handoff = try task.context.newThread()
        let parent = task
        try startTask { () throws(LinuxErrno) in
            let context = try handoff.adopt()
            let thread = Task(group: parent.group, tid: tid, context: context, registers: registers, name: parent.name)
            thread.affinity = parent.affinity  // a new thread inherits its creator's, as on Linux
            thread.scheduling = parent.scheduling.inherited
            thread.signals = SignalState(actions: parent.signals.actions, blocked: parent.signals.blocked)
            thread.root = parent.root
            thread.trace = parent.trace
            if flags & cloneChildClearTID != 0 { thread.clearChildTID = childTID }
            parent.group.add(thread)
            return thread
        }
        return .value(Int64(tid))
    }

    /// Starts a child process: a new stub on a new tracer thread, a copy of the address space,
    /// the same registers (rax = 0 in the child; rsp = `stack` when clone(2) gives one), a
    /// copy of the fd table and signal state.
    /// The parent waits here until the child's copy is complete, then gets the child's pid.
    static func forkProcess(_ task: Task, flags: UInt64, stack: UInt64 = 0, parentTID: UInt64, childTID: UInt64, tls: UInt64) throws(LinuxErrno)
        -> SyscallOutcome
    {
        let sandbox = task.sandbox
        let pid = sandbox.addProcess(parent: task.pid)
        let registers = childRegisters(task, flags: flags, stack: stack, tls: tls)
        let parent = task
        do {
            if flags & cloneParentSetTID != 0 { try task.mm.copyOut(bytes(UInt64(pid)).prefix(4).map { $0 }, to: parentTID) }
            try startTask { () throws(LinuxErrno) in
                let context = try PtraceStub.start(memory: sandbox.memory.fd)
                let mm = try parent.mm.copy(to: context.process)
                let group = ThreadGroup(
                    sandbox: sandbox, pid: pid, parent: parent.pid, mm: mm, fds: parent.fds.copy(), credentials: parent.group.credentials)
                group.limits = parent.limits
                group.cwd = parent.cwd
                group.umask = parent.umask
                group.nice = parent.group.nice
                group.personality = parent.group.personality
                group.executablePath = parent.executablePath
                group.commandLine = parent.commandLine
                let forked = Task(group: group, tid: pid, context: context, registers: registers, name: parent.name)
                forked.affinity = parent.affinity
                forked.scheduling = parent.scheduling.inherited
                var signals = SignalState(actions: parent.signals.actions.copy(), blocked: parent.signals.blocked)
                signals.alternateStack = parent.signals.alternateStack
                forked.signals = signals
                forked.root = parent.root
                forked.trace = parent.trace
                if flags & cloneChildSetTID != 0 { try mm.copyOut(bytes(UInt64(pid)).prefix(4).map { $0 }, to: childTID) }
                if flags & cloneChildClearTID != 0 { forked.clearChildTID = childTID }
                group.add(forked)
                sandbox.attach(group, stub: context.process.pid)
                return forked
            }
        } catch {
            sandbox.removeProcess(pid)
            throw error
        }
        return .value(Int64(pid))
    }

    /// Runs `setup` on a new OS thread, which then runs the task it made to its end (the new
    /// thread is that task's tracer). Returns once `setup` is done, with its error if it failed.
    private static func startTask(_ setup: @escaping @Sendable () throws(LinuxErrno) -> Task) throws(LinuxErrno) {
        let started = Monitor()
        nonisolated(unsafe) var outcome: Result<Void, LinuxErrno>?
        do {
            try HostThread.detach {
                var task: Task?
                let result = Result { () throws(LinuxErrno) in task = try setup() }
                started.locked {
                    outcome = result
                    started.broadcast()
                }
                task?.runUntilEnd()
            }
        } catch {
            throw error.linuxErrno
        }
        let result = started.locked {
            while outcome == nil { started.wait() }
            return outcome
        }
        if case .failure(let error) = result { throw error }
    }

    /// wait4(2) options.
    static let waitNoHang: UInt64 = 1, waitUntraced: UInt64 = 2, waitContinued: UInt64 = 8
    static let waitNoThread: UInt64 = 0x2000_0000, waitAll: UInt64 = 0x4000_0000, waitClone: UInt64 = 0x8000_0000

    /// Implements Linux wait4(2): -1 waits for any child, a pid for that child, 0 for a child
    /// in the caller's process group, -pgid for one in that group. Ended children are
    /// reaped; with WUNTRACED a stopped child reports its stop signal (status 0x7f with the
    /// signal), with WCONTINUED a continued one 0xffff, once each. WNOHANG returns 0 while
    /// they run. The rusage is the child's CPU time and its waited-for children's (a reaped
    /// child's is added to the caller's children's time).
    static func wait4(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let pid = Int32(truncatingIfNeeded: arguments[0])
        let options = arguments[2]
        guard options & ~(waitNoHang | waitUntraced | waitContinued | waitNoThread | waitAll | waitClone) == 0 else { throw .EINVAL }
        let target: Sandbox.WaitTarget
        switch pid {
        case -1: target = .any
        case 0: target = .group(try task.sandbox.processGroup(of: task.pid).group)
        case Int32.min: throw .ESRCH  // -INT_MIN does not exist, as Linux answers
        case ..<0: target = .group(-pid)
        default: target = .process(pid)
        }
        let found = try task.sandbox.wait(
            parent: task.pid, for: target, block: options & waitNoHang == 0, stopped: options & waitUntraced != 0,
            continued: options & waitContinued != 0)
        let (child, encoded): (Int32, UInt32)
        switch found {
        case .running:
            return .value(0)
        case .reaped(let pid, .exited(let code), _): (child, encoded) = (pid, UInt32(code & 0xff) << 8)
        case .reaped(let pid, .signaled(let signal), _): (child, encoded) = (pid, UInt32(signal.rawValue & 0x7f))
        case .stopped(let pid, let signal): (child, encoded) = (pid, UInt32(signal & 0xff) << 8 | 0x7f)
        case .continued(let pid): (child, encoded) = (pid, 0xffff)
        }
        let usage = childUsage(task, found, reaped: true)
        if arguments[1] != 0 { try task.mm.copyOut(bytes(UInt64(encoded)).prefix(4).map { $0 }, to: arguments[1]) }
        if arguments[3] != 0 { try task.mm.copyOut(usage.rusageBytes, to: arguments[3]) }
        return .value(Int64(child))
    }

    static let waitIDAll: UInt64 = 0, waitIDPID: UInt64 = 1, waitIDGroup: UInt64 = 2
    static let waitStopped: UInt64 = 2, waitExited: UInt64 = 4, waitNoWait: UInt64 = 0x0100_0000

    /// Implements Linux waitid(2): P_ALL, P_PID and P_PGID (0: the caller's group); WEXITED,
    /// WSTOPPED and WCONTINUED choose what is reported (one at least), WNOWAIT leaves the
    /// child waitable. The siginfo gets SIGCHLD with CLD_EXITED, CLD_KILLED, CLD_STOPPED or
    /// CLD_CONTINUED; with WNOHANG and nothing to report its pid and signal are 0. The
    /// rusage is as wait4's.
    static func waitid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (kind, id, options) = (arguments[0], Int32(truncatingIfNeeded: arguments[1]), arguments[3])
        guard options & ~(waitNoHang | waitStopped | waitExited | waitContinued | waitNoWait | waitNoThread | waitAll | waitClone) == 0,
            options & (waitStopped | waitExited | waitContinued) != 0
        else { throw .EINVAL }
        let pid: Sandbox.WaitTarget
        switch kind {
        case waitIDAll: pid = .any
        case waitIDPID:
            guard id > 0 else { throw .EINVAL }
            pid = .process(id)
        case waitIDGroup:
            guard id >= 0 else { throw .EINVAL }
            pid = .group(id == 0 ? try task.sandbox.processGroup(of: task.pid).group : id)
        default: throw .EINVAL
        }
        var info = [UInt8](repeating: 0, count: 28)
        let found = try task.sandbox.wait(
            parent: task.pid, for: pid, block: options & waitNoHang == 0, reap: options & waitNoWait == 0, exited: options & waitExited != 0,
            stopped: options & waitStopped != 0, continued: options & waitContinued != 0)
        let report: (child: Int32, code: UInt64, value: UInt64)?
        switch found {
        case .running: report = nil
        case .reaped(let child, .exited(let exitCode), _): report = (child, 1, UInt64(UInt32(bitPattern: exitCode & 0xff)))  // CLD_EXITED
        case .reaped(let child, .signaled(let signal), _): report = (child, 2, UInt64(signal.rawValue))  // CLD_KILLED
        case .stopped(let child, let signal): report = (child, 5, UInt64(signal))  // CLD_STOPPED
        case .continued(let child): report = (child, 6, UInt64(LinuxSignal.SIGCONT.rawValue))  // CLD_CONTINUED
        }
        if let (child, code, value) = report {
            info.replaceSubrange(0..<4, with: bytes(UInt64(LinuxSignal.SIGCHLD.rawValue)).prefix(4))
            info.replaceSubrange(8..<12, with: bytes(code).prefix(4))
            info.replaceSubrange(16..<20, with: bytes(UInt64(UInt32(bitPattern: child))).prefix(4))
            info.replaceSubrange(24..<28, with: bytes(value).prefix(4))
        }
        if arguments[2] != 0 { try task.mm.copyOut(info, to: arguments[2]) }
        let usage = childUsage(task, found, reaped: options & waitNoWait == 0)
        if arguments[4] != 0 { try task.mm.copyOut(usage.rusageBytes, to: arguments[4]) }
        return .value(0)
    }

    /// The CPU time a wait reports for the child it found (zero when none): an ended child's
    /// total, added to the caller's children's time when it was reaped (`reaped`), or a
    /// stopped or continued child's so far.
    private static func childUsage(_ task: Task, _ found: Sandbox.WaitResult, reaped: Bool) -> CPUUsage {
        switch found {
        case .running:
            return CPUUsage()
        case .reaped(_, _, let usage):
            if reaped { task.group.addReapedChild(usage) }
            return usage
        case .stopped(let pid, _), .continued(let pid):
            guard let group = task.sandbox.running(pid)?.group else { return CPUUsage() }
            return group.usage + group.childrenUsage
        }
    }

    /// The NULL-terminated array of string pointers at `address` (argv, envp of execve), at
    /// most `limit` entries (else E2BIG).
    static func stringArray(_ task: Task, at address: UInt64, limit: Int = 0x7fff_ffff) throws(LinuxErrno) -> [[UInt8]] {
        guard address != 0 else { return [] }
        var strings: [[UInt8]] = []
        var total = 0
        while true {
            let pointer = word(try task.mm.copyIn(from: address + UInt64(strings.count) * 8, count: 8))
            if pointer == 0 { return strings }
            let string = try task.mm.copyInString(from: pointer, maximum: 128 * 1024)
            total += string.count + 1
            guard strings.count < limit, total <= 2 * 1024 * 1024 else { throw .E2BIG }
            strings.append(string)
        }
    }

    /// Implements Linux execve(2) for ELF executables, static or with an interpreter, and for
    /// `#!` scripts: reads the program through the VFS (`/proc/self/exe` is the running
    /// program until /proc lands), replaces the address space, closes close-on-exec fds,
    /// resets caught signals to their default. Errors before the old image is gone return to
    /// the caller; a failure after it kills the process, as Linux does.
    static func execve(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        var path = try task.path(at: arguments[0])
        var argv = try stringArray(task, at: arguments[1])
        let envp = try stringArray(task, at: arguments[2])
        if path == Array("/proc/self/exe".utf8) { path = task.executablePath }
        guard let root = task.root, let cwd = task.cwd else { throw .ENOSYS }
        let dentry = try PathResolution.resolve(path, root: root, start: cwd, followFinal: true, mounts: task.sandbox.mounts)
        guard try dentry.inode.fileType() == FileMode.regular else { throw .EACCES }
        let stat = try dentry.inode.stat()
        let credentials = task.group.credentials
        try credentials.require(.execute, to: stat)
        var image = try task.readWholeFile(dentry.path)
        var execPath = dentry.path
        var program = stat  // whose set-ID bits count: a script's never do, its interpreter's do
        // A script names its interpreter on its first line: run that with the script's path.
        if image.starts(with: [0x23, 0x21]) {  // "#!"
            let (interpreter, argument) = try scriptInterpreter(image)
            argv = [interpreter] + (argument.map { [$0] } ?? []) + [path] + argv.dropFirst()
            let resolved = try PathResolution.resolve(interpreter, root: root, start: cwd, followFinal: true, mounts: task.sandbox.mounts)
            guard try resolved.inode.fileType() == FileMode.regular else { throw .EACCES }
            program = try resolved.inode.stat()
            try credentials.require(.execute, to: program)
            image = try task.readWholeFile(resolved.path)
            execPath = resolved.path
            if image.starts(with: [0x23, 0x21]) { throw .ELOOP }  // Linux allows a few levels; one is enough here
        }
        // Check the image, its interpreter and the size of the strings before the point of no
        // return (Linux's limit: a quarter of the stack).
        let interpreter = try Loader.interpreter(of: image) { (path) throws(LinuxErrno) in try task.readWholeFile(path) }
        guard (argv + envp).reduce(0, { $0 + $1.count + 1 + 8 }) <= Int(Loader.stackSize / 4) else { throw .E2BIG }
        if task.group.liveThreads.count > 1 {
            // Past the point of no return: another thread's execve ends this one; a failure
            // here ends the process.
            do {
                guard try becomeOnlyThread(task) else { return .exitThread(0) }
            } catch {
                return .killed(.SIGKILL)
            }
        }
        task.sandbox.noteExec(task.pid)  // past the point of no return: setpgid's EACCES from here
        // A set-user-ID or set-group-ID program runs as its owner; capabilities are recomputed.
        // An exec that gains privilege is secure (AT_SECURE), and forgets the parent-death signal.
        let after = credentials.afterExec(of: program)
        let secure = after.isSecureExec(from: credentials)
        task.group.credentials = after
        task.group.noteExec(secure: secure, credentials: after)
        do {
            try task.mm.unmapAll()
            try task.loadImage(image, interpreter: interpreter, path: execPath, arguments: argv, environment: envp, secure: secure)
        } catch {
            return .killed(.SIGSEGV)
        }
        task.fds.closeOnExec()
        task.group.deleteAllPosixTimers()  // ITIMER_REAL stays armed, as on Linux
        for number in 1...64 where task.signals.actions[number].handler > SignalAction.ignore {
            task.signals.actions[number] = SignalAction()
        }
        task.signals.alternateStack = (0, 2, 0)
        return .replaced
    }
}

extension Syscalls {
    /// execve(2) in a process with several threads, as Linux's de_thread: the other threads
    /// end (their stub with them) without ending the process, the caller moves to a fresh
    /// stub (an empty address space) and takes the process's pid as its tid. False if another
    /// thread's execve came first (the caller is then one of the threads that end).
    private static func becomeOnlyThread(_ task: Task) throws(LinuxErrno) -> Bool {
        let group = task.group
        guard group.beginExec(for: task) else { return false }
        let old = task.context
        task.mm.platform.terminate()
        group.finishExec()
        old.exitThread()  // reaps the caller's old stub thread
        let fresh = try PtraceStub.start(memory: task.sandbox.memory.fd)
        task.context = fresh
        task.mm = MemoryManager(file: task.sandbox.memory, platform: fresh.process)
        task.tid = group.pid
        task.sandbox.attach(group, stub: fresh.process.pid)
        return true
    }

    /// The interpreter of a `#!` script and its one optional argument, from the first line
    /// (at most 255 bytes, as Linux's BINPRM_BUF_SIZE; spaces and tabs separate).
    static func scriptInterpreter(_ image: [UInt8]) throws(LinuxErrno) -> ([UInt8], [UInt8]?) {
        let line = image.dropFirst(2).prefix(255).prefix { $0 != 0x0a }
        let words = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map(Array.init)
        guard let interpreter = words.first else { throw .ENOEXEC }
        let rest = line.drop { $0 == 0x20 || $0 == 0x09 }.dropFirst(interpreter.count).drop { $0 == 0x20 || $0 == 0x09 }
        var argument = Array(rest)
        while let last = argument.last, last == 0x20 || last == 0x09 || last == 0x0d { argument.removeLast() }
        return (interpreter, argument.isEmpty ? nil : argument)
    }
}
