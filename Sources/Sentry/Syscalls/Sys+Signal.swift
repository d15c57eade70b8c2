import HostSys
import LinuxABI

extension Syscalls {
    /// The size of a sigset in the kernel ABI: rt_* calls must pass exactly this.
    static let sigsetSize: UInt64 = 8

    static func word(_ bytes: [UInt8]) -> UInt64 {
        bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }

    static func bytes(_ word: UInt64) -> [UInt8] { withUnsafeBytes(of: word.littleEndian) { Array($0) } }

    /// Implements Linux rt_sigaction(2): reports the old disposition and sets the new one.
    /// SIGKILL and SIGSTOP cannot be changed (EINVAL); sigsetsize must be 8.
    static func rtSigaction(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let signal = Int(truncatingIfNeeded: Int64(bitPattern: arguments[0]))
        guard (1...64).contains(signal), arguments[3] == sigsetSize else { throw .EINVAL }
        var replacement: SignalAction?
        if arguments[1] != 0 {
            guard signal != 9 && signal != 19 else { throw .EINVAL }
            var action = SignalAction(bytes: try task.mm.copyIn(from: arguments[1], count: SignalAction.size))
            action.mask &= ~SignalState.unblockable
            replacement = action
        }
        if arguments[2] != 0 { try task.mm.copyOut(task.signals.actions[signal].bytes, to: arguments[2]) }
        if let replacement { task.signals.actions[signal] = replacement }
        return .value(0)
    }

    /// Implements Linux rt_sigtimedwait(2): takes a pending signal of `set` (its number is the
    /// result, its siginfo copied out), waiting for one until the timeout (EAGAIN; NULL: no
    /// timeout). While it waits, the set counts as unblocked, so that a signal for the process
    /// comes to this thread; another signal that would interrupt ends the wait with EINTR
    /// and is delivered. SIGKILL and SIGSTOP cannot be waited for.
    static func rtSigtimedwait(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[3] == sigsetSize else { throw .EINVAL }
        let set = word(try task.mm.copyIn(from: arguments[0], count: 8)) & ~SignalState.unblockable
        var deadline: UInt64?
        if arguments[2] != 0 {
            let timeout = try readTimespec(task, arguments[2])
            deadline = self.deadline(after: timeout.seconds > Int64.max / 1_000_000_000 ? Int64.max : timeout.seconds * 1_000_000_000 + timeout.nanoseconds)
        }
        let old = task.signals.blocked
        task.signals.blocked = old & ~set
        defer { task.signals.blocked = old }
        while true {
            if let signal = task.signalQueue.take(blocked: ~set) {
                if arguments[1] != 0 { try task.mm.copyOut(signal.info, to: arguments[1]) }
                return .value(Int64(signal.number))
            }
            let others = task.interruptingSignals & ~set
            if task.signalQueue.hasPending(in: others) { throw .EINTR }
            guard task.signalQueue.wait(for: set | others, until: deadline) else { throw .EAGAIN }
        }
    }

    /// Implements Linux signalfd(2): signalfd4 without flags.
    static func signalfd(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try signalfd4(task, SyscallArguments(values: (arguments[0], arguments[1], arguments[2], 0, 0, 0)))
    }

    /// Implements Linux signalfd4(2): a new signalfd for the signals of the mask (fd -1), or
    /// a new mask for the signalfd `fd` (EINVAL if it is another kind of file); the mask's size
    /// must be 8 bytes; SFD_NONBLOCK and SFD_CLOEXEC (EINVAL for other flags).
    static func signalfd4(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[3])
        guard arguments[2] == sigsetSize, flags & ~(OpenFlags.nonBlocking.rawValue | OpenFlags.closeOnExec.rawValue) == 0 else { throw .EINVAL }
        let mask = word(try task.mm.copyIn(from: arguments[1], count: 8))
        let descriptor = Int32(truncatingIfNeeded: arguments[0])
        if descriptor != -1 {
            guard let existing = try task.fds.get(descriptor).operations as? SignalFD else { throw .EINVAL }
            existing.mask = mask
            return .value(Int64(descriptor))
        }
        let file = SignalFD(mask: mask, inode: task.sandbox.newPipeInode())
        let status: OpenFlags = flags & OpenFlags.nonBlocking.rawValue != 0 ? [.readOnly, .nonBlocking] : .readOnly
        return .value(Int64(try task.fds.add(FileDescription(file, flags: status), closeOnExec: flags & OpenFlags.closeOnExec.rawValue != 0)))
    }

    /// Implements Linux rt_sigpending(2): the signals pending for the thread and blocked
    /// (a signal sent to the process waits with the thread chosen to take it), as many bytes
    /// of the set as `sigsetsize` asks, at most 8 (EINVAL above).
    static func rtSigpending(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[1] <= sigsetSize else { throw .EINVAL }
        let pending = task.signalQueue.pendingMask & task.signals.blocked
        try task.mm.copyOut(Array(bytes(pending).prefix(Int(arguments[1]))), to: arguments[0])
        return .value(0)
    }

    /// Implements Linux rt_sigprocmask(2): SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK; SIGKILL and
    /// SIGSTOP stay unblocked.
    static func rtSigprocmask(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[3] == sigsetSize else { throw .EINVAL }
        let old = task.signals.blocked
        if arguments[1] != 0 {
            let set = word(try task.mm.copyIn(from: arguments[1], count: 8))
            switch arguments[0] {
            case 0: task.signals.blocked |= set
            case 1: task.signals.blocked &= ~set
            case 2: task.signals.blocked = set
            default: throw .EINVAL
            }
            task.signals.blocked &= ~SignalState.unblockable
        }
        if arguments[2] != 0 { try task.mm.copyOut(bytes(old), to: arguments[2]) }
        return .value(0)
    }

    /// Implements Linux sigaltstack(2): reports and sets the alternate signal stack
    /// (`stack_t`: sp, flags, size). A stack smaller than MINSIGSTKSZ (2048) is ENOMEM.
    static func sigaltstack(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let old = task.signals.alternateStack
        if arguments[0] != 0 {
            let raw = try task.mm.copyIn(from: arguments[0], count: 24)
            let sp = word(Array(raw[0..<8]))
            let flags = Int32(truncatingIfNeeded: word(Array(raw[8..<16])))
            let size = word(Array(raw[16..<24]))
            guard flags & ~2 == 0 else { throw .EINVAL }  // only SS_DISABLE
            if flags & 2 == 0 && size < 2048 { throw .ENOMEM }
            task.signals.alternateStack = (flags & 2 != 0 ? 0 : sp, flags, flags & 2 != 0 ? 0 : size)
        }
        if arguments[1] != 0 {
            try task.mm.copyOut(bytes(old.0) + bytes(UInt64(UInt32(bitPattern: old.1))) + bytes(old.2), to: arguments[1])
        }
        return .value(0)
    }
}

extension Syscalls {
    /// Signals whose default action is to be ignored (signal(7)).
    static let ignoredByDefault: Set<Int32> = [17, 23, 28, 18]  // SIGCHLD, SIGURG, SIGWINCH, SIGCONT
    /// Signals whose default action is to stop the process.
    static let stopping: Set<Int32> = [19, 20, 21, 22]  // SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU

    /// Sends `signal` to the calling process: signal 0 only checks; SIGKILL ends it; anything
    /// else is queued and delivered on the way back to the program (a handler runs, an
    /// ignored signal is dropped, a default action that ends the process ends it). Stopping
    /// signals are dropped until job control lands.
    static func signalSelf(_ task: Task, _ number: Int32) throws(LinuxErrno) -> SyscallOutcome {
        guard (0...64).contains(number) else { throw .EINVAL }
        if number == 0 { return .value(0) }
        if number == 9 { return .killed(.SIGKILL) }
        task.group.jobControl(number)
        task.signalQueue.post(userSignal(task, number))
        return .value(0)
    }

    /// Implements Linux rt_sigreturn(2): returns from a signal handler through its frame.
    static func rtSigreturn(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        do {
            try task.returnFromSignal()
        } catch {
            return .killed(.SIGSEGV)  // a frame that cannot be read: Linux sends SIGSEGV
        }
        return .replaced
    }

    /// Implements Linux pause(2): sleeps until a signal that is not ignored arrives; the call
    /// then fails with EINTR once a handler has run.
    static func pause(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        _ = task.sleep(until: .max)
        throw .ERESTARTNOHAND
    }

    /// Implements Linux rt_sigsuspend(2): waits with `mask` as the blocked mask until a signal
    /// is delivered; the handler's frame restores the caller's mask; returns EINTR.
    static func rtSigsuspend(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[1] == sigsetSize else { throw .EINVAL }
        let old = task.signals.blocked
        task.signals.blocked = word(try task.mm.copyIn(from: arguments[0], count: 8)) & ~SignalState.unblockable
        while true {
            task.signalQueue.waitForUnblocked(blocked: task.signals.blocked)
            task.registers.rax = UInt64(bitPattern: -Int64(LinuxErrno.EINTR.rawValue))
            if let outcome = task.deliverPendingSignal(savedMask: old) { return outcome }
        }
    }

    /// Whether `task` may send `number` to process `pid` (Linux's kill_ok_by_cred): with
    /// CAP_KILL, when its real or effective uid is the target's real or saved uid, or for
    /// SIGCONT within its session. A process that is not running (a zombie, one being
    /// forked) takes anything.
    static func mayKill(_ task: Task, _ pid: Int32, _ number: Int32) -> Bool {
        let sender = task.group.credentials
        guard !sender.has(Capability.kill), let target = task.sandbox.running(pid)?.group?.credentials else { return true }
        if [target.realUID, target.savedUID].contains(sender.realUID) || [target.realUID, target.savedUID].contains(sender.effectiveUID) {
            return true
        }
        if number == LinuxSignal.SIGCONT.rawValue, let mine = try? task.sandbox.processGroup(of: task.pid),
            let theirs = try? task.sandbox.processGroup(of: pid), mine.session == theirs.session
        {
            return true
        }
        return false
    }

    /// Implements Linux kill(2) within the sandbox: to the caller as `signalSelf`; to another
    /// process, a process group (-pgid, 0 for the caller's), or every process but init and
    /// the caller (-1). A signal whose default action ends a process (or SIGKILL) ends it.
    /// Sending to a process the caller may not signal (`mayKill`) is EPERM; to a group, EPERM
    /// only if no member could be signalled; -1 passes over them.
    static func kill(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let pid = Int32(truncatingIfNeeded: arguments[0])
        let number = Int32(truncatingIfNeeded: arguments[1])
        guard (0...64).contains(number) else { throw .EINVAL }
        if pid == task.pid { return try signalSelf(task, number) }
        if pid > 0 {
            if !mayKill(task, pid, number) {
                _ = try task.sandbox.processGroup(of: pid)  // ESRCH before EPERM
                throw .EPERM
            }
            try task.sandbox.signal(pid, userSignal(task, number))
            return .value(0)
        }
        // A group (0: the caller's), or every process but init and the caller (-1).
        guard pid != Int32.min else { throw .ESRCH }
        let targets: [Int32]
        switch pid {
        case -1: targets = task.sandbox.everyoneBut(task.pid)
        case 0: targets = task.sandbox.members(of: try task.sandbox.processGroup(of: task.pid).group)
        default: targets = task.sandbox.members(of: -pid)
        }
        guard !targets.isEmpty else { throw .ESRCH }
        let permitted = targets.filter { $0 == task.pid || mayKill(task, $0, number) }
        guard !permitted.isEmpty || pid == -1 else { throw .EPERM }  // -1 skips them without a word
        // The others first: the caller's own signal may end it (SIGKILL, a default action).
        for target in permitted where target != task.pid { try? task.sandbox.signal(target, userSignal(task, number)) }
        return permitted.contains(task.pid) ? try signalSelf(task, number) : .value(0)
    }

    /// The siginfo a sigqueue caller gives, for signal `number` to the task `id` names: a code
    /// of SI_USER or another kernel code (not negative) or SI_TKILL is EPERM unless `id` is the
    /// caller's own tid, as Linux refuses a forged kernel siginfo.
    private static func queuedInfo(_ task: Task, _ address: UInt64, number: Int32, to id: Int32) throws(LinuxErrno) -> PendingSignal {
        let info = try task.mm.copyIn(from: address, count: 128)
        let code = Int32(bitPattern: UInt32(word(Array(info[8..<12]))))
        guard (code < 0 && code != -6) || id == task.tid else { throw .EPERM }  // -6: SI_TKILL
        return PendingSignal(number: number, code: code, given: info)
    }

    /// Implements Linux rt_sigqueueinfo(2) (sigqueue(3)): signal `number` with the caller's
    /// siginfo (its value) to process `pid`, with kill(2)'s permission rules.
    static func rtSigqueueinfo(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (pid, number) = (Int32(truncatingIfNeeded: arguments[0]), Int32(truncatingIfNeeded: arguments[1]))
        guard (0...64).contains(number) else { throw .EINVAL }
        let pending = try queuedInfo(task, arguments[2], number: number, to: pid)
        guard pid > 0 else { throw .ESRCH }
        guard pid == task.pid || mayKill(task, pid, number) else {
            _ = try task.sandbox.processGroup(of: pid)  // ESRCH before EPERM
            throw .EPERM
        }
        if number == 0 { return .value(0) }
        if pid == task.pid {
            if number == LinuxSignal.SIGKILL.rawValue { return .killed(.SIGKILL) }
            task.group.jobControl(number)
            guard task.group.post(pending) || number < 32 else { throw .EAGAIN }  // the queue is full
            return .value(0)
        }
        guard try task.sandbox.signal(pid, pending) || number < 32 else { throw .EAGAIN }  // the queue is full
        return .value(0)
    }

    /// Implements Linux rt_tgsigqueueinfo(2): as rt_sigqueueinfo, for thread `tid` of `tgid`.
    static func rtTgsigqueueinfo(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (tgid, tid) = (Int32(truncatingIfNeeded: arguments[0]), Int32(truncatingIfNeeded: arguments[1]))
        let number = Int32(truncatingIfNeeded: arguments[2])
        guard tgid > 0, tid > 0, (0...64).contains(number) else { throw .EINVAL }
        let pending = try queuedInfo(task, arguments[3], number: number, to: tid)
        guard let thread = task.sandbox.thread(tid), thread.pid == tgid else { throw .ESRCH }
        guard thread.group === task.group || mayKill(task, tgid, number) else { throw .EPERM }
        if number == 0 { return .value(0) }
        if number == LinuxSignal.SIGKILL.rawValue {
            if thread.group === task.group { return .killed(.SIGKILL) }
            try task.sandbox.signal(tgid, pending)
            return .value(0)
        }
        thread.group.jobControl(number)
        guard thread.signalQueue.post(pending) || number < 32 else { throw .EAGAIN }  // the queue is full
        return .value(0)
    }

    /// A signal `task` sends (SI_USER unless `code` says otherwise), with its pid and real uid.
    static func userSignal(_ task: Task, _ number: Int32, code: Int32 = 0) -> PendingSignal {
        PendingSignal(number: number, code: code, pid: task.pid, uid: task.group.credentials.realUID)
    }

    /// Implements Linux tgkill(2): signal `number` for thread `tid` of process `tgid` alone
    /// (ESRCH if that thread is not in that process).
    static func tgkill(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (tgid, tid) = (Int32(truncatingIfNeeded: arguments[0]), Int32(truncatingIfNeeded: arguments[1]))
        guard tgid > 0, tid > 0 else { throw .EINVAL }
        guard let thread = task.sandbox.thread(tid), thread.pid == tgid else { throw .ESRCH }
        return try signalThread(task, thread, Int32(truncatingIfNeeded: arguments[2]))
    }

    /// Implements Linux tkill(2): tgkill without the process check.
    static func tkill(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let tid = Int32(truncatingIfNeeded: arguments[0])
        guard tid > 0 else { throw .EINVAL }
        guard let thread = task.sandbox.thread(tid) else { throw .ESRCH }
        return try signalThread(task, thread, Int32(truncatingIfNeeded: arguments[1]))
    }

    /// Queues `number` for `thread` only (0 only checks). SIGKILL, and any signal whose
    /// action ends the process, end the whole process, as Linux's do.
    private static func signalThread(_ task: Task, _ thread: Task, _ number: Int32) throws(LinuxErrno) -> SyscallOutcome {
        guard (0...64).contains(number) else { throw .EINVAL }
        guard thread.group === task.group || mayKill(task, thread.pid, number) else { throw .EPERM }
        if number == 0 { return .value(0) }
        if number == LinuxSignal.SIGKILL.rawValue {
            if thread.group === task.group { return .killed(.SIGKILL) }
            try task.sandbox.signal(thread.pid, userSignal(task, number))
            return .value(0)
        }
        thread.group.jobControl(number)  // SIGCONT continues the whole process, as Linux's
        thread.signalQueue.post(userSignal(task, number, code: -6))  // SI_TKILL
        return .value(0)
    }
}
