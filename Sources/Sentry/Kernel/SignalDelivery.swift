import HostSys
import LinuxABI
import Synchronization

/// A signal waiting to be delivered, with the `siginfo` fields Linux fills for it.
struct PendingSignal {
    var number: Int32
    var code: Int32 = 0  // SI_USER
    var pid: Int32 = 0
    var uid: UInt32 = 0
    /// SIGCHLD: the child's exit code or signal.
    var status: Int32 = 0
    /// A fault's address (`si_addr`), in place of the pid, uid and status.
    var address: UInt64?
    /// The POSIX timer that sent it (SI_TIMER), in place of the pid, uid and status: its id,
    /// its `sigev_value`, and its overrun, which the timer sets when the signal is taken.
    var timer: PosixTimer?
    var timerSequence: UInt64 = 0
    var overrun: Int32 = 0
    /// The whole siginfo its sender gave (rt_sigqueueinfo(2)): everything after the number
    /// is the sender's.
    var given: [UInt8]?
    /// It counts against the sandbox's limit of pending real-time signals (set by
    /// `SignalQueue.post` only).
    var counted = false

    /// The 128-byte `siginfo_t`: signo, errno, code, then the union (the pid, uid and status,
    /// or a fault's address).
    var info: [UInt8] {
        var bytes = given ?? [UInt8](repeating: 0, count: 128)
        func put32(_ value: UInt32, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) } }
        put32(UInt32(bitPattern: number), at: 0)
        if given != nil { return bytes }
        put32(UInt32(bitPattern: code), at: 8)
        if let address {
            withUnsafeBytes(of: address.littleEndian) { bytes.replaceSubrange(16..<24, with: $0) }
        } else if let timer {
            put32(UInt32(bitPattern: timer.id), at: 16)
            put32(UInt32(bitPattern: overrun), at: 20)
            withUnsafeBytes(of: timer.value.littleEndian) { bytes.replaceSubrange(24..<32, with: $0) }
        } else {
            put32(UInt32(bitPattern: pid), at: 16)
            put32(uid, at: 20)
            put32(UInt32(bitPattern: status), at: 24)
        }
        return bytes
    }
}

/// How a sleep in the Sentry ended: a broadcast, its deadline, or a signal.
enum SleepResult {
    case woken, timedOut, interrupted
}

/// Pending signals of a task: other tasks' threads add to them (a child's exit, kill), the
/// task's own thread takes them. Locks: `monitor` guards `pending` and `sleepingOn`;
/// rt_sigsuspend waits on it. It is taken after (inside) the monitor a task sleeps in, never
/// the other way round.
final class SignalQueue: @unchecked Sendable {
    /// The most real-time signals the sandbox holds pending at once (the default
    /// RLIMIT_SIGPENDING; Linux counts per user, and a sandbox is one user namespace). Standard
    /// signals never count: each is pending once at most, and SIGKILL must always get through.
    /// Neither do a POSIX timer's (one per timer, as Linux preallocates them). Past the limit a
    /// sigqueue'd signal is refused (EAGAIN) and one from kill(2) is queued uncounted, once per
    /// number at most (Linux sets its pending bit without a siginfo); the Sentry serves one
    /// sandbox, so the count is static.
    static let maximumQueued = Int(ResourceLimits.defaults[ResourceLimits.pendingSignals]?.0 ?? 127_655)
    private static let queuedRealtime = Atomic<Int>(0)
    let monitor = Monitor()
    private var pending: [PendingSignal] = []
    /// The task's process stopped (a group stop): the task is to stop on its way back to its
    /// program, whatever signals it blocks.
    private var stopRequested = false
    /// The monitor the task sleeps in (`sleep(on:)`), so that a signal can wake it.
    private var sleepingOn: Monitor?
    /// Stops the task's program if it runs (`Context.interrupt`).
    private var interrupt: (@Sendable () -> Void)?

    func setInterrupt(_ body: @escaping @Sendable () -> Void) {
        monitor.locked { interrupt = body }
    }

    /// Asks the task to stop for its process's group stop: wakes it where it sleeps, or stops
    /// its program if it runs.
    func requestStop() {
        let (sleeper, stop): (Monitor?, (@Sendable () -> Void)?) = monitor.locked {
            stopRequested = true
            monitor.broadcast()
            return (sleepingOn, sleepingOn == nil ? self.interrupt : nil)
        }
        if let sleeper, sleeper !== monitor { sleeper.locked { sleeper.broadcast() } }
        stop?()
    }

    /// Takes a stop request (SIGCONT cancels one not yet taken).
    func takeStopRequest() -> Bool {
        monitor.locked {
            defer { stopRequested = false }
            return stopRequested
        }
    }

    func cancelStopRequest() {
        monitor.locked { stopRequested = false }
    }

    /// Queues `signal` and wakes the task if it sleeps; false if it was not queued (a
    /// standard signal already pending). Call without holding the monitor the task may sleep in.
    @discardableResult
    func post(_ signal: PendingSignal) -> Bool {
        let (queued, sleeper, stop): (Bool, Monitor?, (@Sendable () -> Void)?) = monitor.locked {
            // Standard signals do not queue twice; real-time ones do, up to a limit (Linux's
            // RLIMIT_SIGPENDING), so that a program cannot grow the Sentry without end.
            if signal.number < 32 && pending.contains(where: { $0.number == signal.number }) { return (false, nil, nil) }
            var signal = signal
            if signal.number >= 32 && signal.timer == nil {
                if Self.queuedRealtime.add(1, ordering: .relaxed).newValue <= Self.maximumQueued {
                    signal.counted = true
                } else {
                    Self.queuedRealtime.subtract(1, ordering: .relaxed)
                    if signal.given != nil { return (false, nil, nil) }  // sigqueue: EAGAIN
                    // kill(2): pending once more at most, as Linux sets only the pending bit.
                    if pending.contains(where: { $0.number == signal.number && !$0.counted }) { return (false, nil, nil) }
                }
            }
            pending.append(signal)
            monitor.broadcast()
            return (true, sleepingOn, sleepingOn == nil ? self.interrupt : nil)
        }
        // The sleeper holds its monitor from its check of `pending` until it waits, so this
        // broadcast cannot fall between the two.
        if let sleeper, sleeper !== monitor { sleeper.locked { sleeper.broadcast() } }
        stop?()
        if queued { Readiness.changed() }  // a signalfd polled for it becomes readable
        return queued
    }

    /// Waits in `other` (whose lock the caller holds) for its broadcast or `deadline`, unless
    /// a signal in `interrupting` (bit n-1 for signal n) is pending before or meanwhile.
    func sleep(on other: Monitor, interrupting: UInt64, deadline: UInt64?) -> SleepResult {
        let interrupted = monitor.locked {
            sleepingOn = other
            return stopRequested || pending.contains { interrupting & (1 << UInt64($0.number - 1)) != 0 }
        }
        defer { monitor.locked { sleepingOn = nil } }
        if interrupted { return .interrupted }
        if let deadline {
            return other.wait(deadline: deadline) ? .woken : .timedOut
        }
        other.wait()
        return .woken
    }

    /// Drops the pending signals numbered `numbers` (SIGCONT drops stop signals, a stop
    /// signal drops SIGCONT, as Linux's prepare_signal).
    func discard(_ numbers: Set<Int32>) {
        monitor.locked {
            let dropped = pending.filter { numbers.contains($0.number) && $0.counted }.count
            Self.queuedRealtime.subtract(dropped, ordering: .relaxed)
            pending.removeAll { numbers.contains($0.number) }
        }
    }

    /// The task is gone: its pending real-time signals no longer count.
    deinit {
        Self.queuedRealtime.subtract(pending.filter(\.counted).count, ordering: .relaxed)
    }

    /// The pending signals, as a mask (bit n-1 for signal n).
    var pendingMask: UInt64 {
        monitor.locked { pending.reduce(0) { $0 | 1 << UInt64($1.number - 1) } }
    }

    /// Whether a signal in `mask` (bit n-1 for signal n) is pending.
    func hasPending(in mask: UInt64) -> Bool {
        monitor.locked { pending.contains { mask & (1 << UInt64($0.number - 1)) != 0 } }
    }

    /// Takes the first pending signal not in `blocked` (bit n-1 for signal n). A timer's
    /// signal takes the timer's overrun with it, or is dropped if the timer was set or
    /// deleted since it was sent.
    func take(blocked: UInt64) -> PendingSignal? {
        while true {
            let taken: PendingSignal? = monitor.locked {
                guard let index = pending.firstIndex(where: { blocked & (1 << UInt64($0.number - 1)) == 0 }) else { return nil }
                if pending[index].counted { Self.queuedRealtime.subtract(1, ordering: .relaxed) }
                return pending.remove(at: index)
            }
            guard var signal = taken, let timer = signal.timer else { return taken }
            guard let overrun = timer.delivered(sequence: signal.timerSequence) else { continue }
            signal.overrun = overrun
            return signal
        }
    }

    /// Waits until a signal in `mask` is pending (true), or `deadline` passes (false).
    func wait(for mask: UInt64, until deadline: UInt64?) -> Bool {
        monitor.locked {
            while !pending.contains(where: { mask & (1 << UInt64($0.number - 1)) != 0 }) {
                if let deadline {
                    if !monitor.wait(deadline: deadline) {
                        return pending.contains { mask & (1 << UInt64($0.number - 1)) != 0 }
                    }
                } else {
                    monitor.wait()
                }
            }
            return true
        }
    }

    /// Waits until a signal not in `blocked` is pending.
    func waitForUnblocked(blocked: UInt64) {
        monitor.locked {
            while !pending.contains(where: { blocked & (1 << UInt64($0.number - 1)) == 0 }) { monitor.wait() }
        }
    }
}

extension Task {
    /// Signal-frame layout on x86-64 (arch/x86/include/asm/sigframe.h): `pretcode`, the
    /// `ucontext` (flags, link, stack_t, sigcontext, sigmask), the `siginfo`.
    enum Frame {
        static let ucontext = 8
        static let stack = ucontext + 16
        static let mcontext = ucontext + 40
        static let sigmask = mcontext + 256
        static let info = sigmask + 8
        static let size = info + 128
        static let fpstateSize = 512
        /// The sigcontext's registers, in its order.
        static let registerCount = 18
    }

    static let saOnStack: UInt64 = 0x0800_0000, saRestart: UInt64 = 0x1000_0000, saNoDefer: UInt64 = 0x4000_0000
    static let saResetHand: UInt64 = 0x8000_0000, saRestorer: UInt64 = 0x0400_0000, saSigInfo: UInt64 = 4

    /// Delivers the first pending, unblocked signal, if any: an ignored one is dropped, a
    /// default action that ends the process ends it, a handler gets a signal frame. `savedMask`
    /// is the mask the frame restores (rt_sigsuspend's caller mask), else the current one.
    /// A frame that cannot be written (a bad stack, no restorer) kills the process with
    /// SIGSEGV, as Linux's force_sigsegv does.
    ///
    /// `interrupted` is the restart code a syscall ended with when a signal woke it: with a
    /// handler, ERESTARTSYS restarts the call if the handler has SA_RESTART, ERESTARTNOINTR
    /// always, and otherwise the program sees EINTR; with no handler run, the call restarts.
    func deliverPendingSignal(savedMask: UInt64? = nil, interrupted: LinuxErrno? = nil) -> SyscallOutcome? {
        var interrupted = interrupted
        defer {
            // No handler ran (the signal was ignored, or was already taken): restart the call.
            if let interrupted, interrupted.isInternalRestart { restartSyscall() }
        }
        // Another thread stopped the process: this one stops too, whatever it blocks.
        if signalQueue.takeStopRequest() { group.waitWhileStopped(self) }
        while true {
            let continues = group.continueGeneration
            guard let signal = signalQueue.take(blocked: signals.blocked) else { break }
            let action = signals.actions[Int(signal.number)]
            if action.handler == SignalAction.ignore { continue }
            if action.handler == 0 {
                if Syscalls.ignoredByDefault.contains(signal.number) { continue }
                if Syscalls.stopping.contains(signal.number) {
                    // Job control: the process stops here until SIGCONT (or SIGKILL, which the
                    // next turn of the loop takes); an interrupted call restarts after. A
                    // SIGCONT since the signal was taken cancels the stop.
                    if group.stop(by: signal.number, from: self, unlessContinuedSince: continues) { group.waitWhileStopped(self) }
                    continue
                }
                interrupted = nil
                return .killed(LinuxSignal(signal.number))
            }
            if let code = interrupted {
                // The frame saves the registers the handler returns to: the syscall again, or EINTR.
                if code == .ERESTARTNOINTR || (code == .ERESTARTSYS && action.flags & Self.saRestart != 0) {
                    restartSyscall()
                } else {
                    registers.rax = UInt64(bitPattern: -Int64(LinuxErrno.EINTR.rawValue))
                }
                interrupted = nil
            }
            do {
                try pushFrame(for: signal, action: action, savedMask: savedMask ?? signals.blocked)
            } catch {
                return .killed(.SIGSEGV)
            }
            return .replaced
        }
        return nil
    }

    /// Delivers a fault the program's own instruction raised, as Linux's force_sig_fault: to
    /// its handler, unless the signal is blocked or has none; then the process dies of it.
    func deliverFault(_ signal: LinuxSignal, code: Int32, address: UInt64) -> SyscallOutcome? {
        let action = signals.actions[Int(signal.rawValue)]
        let blocked = signals.blocked & (1 << UInt64(signal.rawValue - 1)) != 0
        guard action.handler > SignalAction.ignore, !blocked else { return .killed(signal) }
        do {
            try pushFrame(for: PendingSignal(number: signal.rawValue, code: code, address: address), action: action, savedMask: signals.blocked)
        } catch {
            return .killed(.SIGSEGV)
        }
        return nil
    }

    /// Points the program back at the `syscall` instruction with the call's number in rax, so
    /// that it makes the call again.
    private func restartSyscall() {
        registers.rip = registers.rip &- 2
        registers.rax = registers.origRax
    }

    /// Builds the rt_sigframe on the program's stack (or its alternate stack) and points the
    /// registers at the handler, as Linux's setup_rt_frame does.
    private func pushFrame(for signal: PendingSignal, action: SignalAction, savedMask: UInt64) throws(LinuxErrno) {
        guard action.flags & Self.saRestorer != 0 else { throw .EFAULT }  // x86-64 needs a restorer
        var sp = registers.rsp
        let (altSP, altFlags, altSize) = signals.alternateStack
        // The program chooses every one of these values: the arithmetic wraps, as the
        // hardware's would, and a frame that lands outside its memory fails the copy-out.
        let onAlternate = altSize > 0 && sp > altSP && sp <= altSP &+ altSize
        if action.flags & Self.saOnStack != 0 && altFlags & 2 == 0 && altSize > 0 && !onAlternate {
            sp = altSP &+ altSize
        } else {
            sp = sp &- 128  // the red zone
        }
        let fpstate = (sp &- UInt64(Frame.fpstateSize)) & ~63
        let frame = ((fpstate &- UInt64(Frame.size)) & ~15) &- 8
        try mm.copyOut(try context.floatingPointState(), to: fpstate)

        var bytes = [UInt8](repeating: 0, count: Frame.size)
        func put(_ value: UInt64, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 8), with: $0) }
        }
        func put32(_ value: UInt32, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
        }
        put(action.restorer, at: 0)
        put(altSP, at: Frame.stack)
        put32(UInt32(bitPattern: altFlags), at: Frame.stack + 8)
        put(altSize, at: Frame.stack + 16)
        let r = registers
        let general = [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp, r.rip, r.eflags]
        for (index, value) in general.enumerated() { put(value, at: Frame.mcontext + index * 8) }
        put(r.cs & 0xffff | (r.gs & 0xffff) << 16 | (r.fs & 0xffff) << 32 | (r.ss & 0xffff) << 48, at: Frame.mcontext + 144)
        put(savedMask, at: Frame.mcontext + 168)  // oldmask
        put(fpstate, at: Frame.mcontext + 184)
        put(savedMask, at: Frame.sigmask)
        bytes.replaceSubrange(Frame.info..<(Frame.info + 128), with: signal.info)
        try mm.copyOut(bytes, to: frame)

        registers.rsp = frame
        registers.rip = action.handler
        registers.rdi = UInt64(signal.number)
        registers.rsi = frame &+ UInt64(Frame.info)
        registers.rdx = frame &+ UInt64(Frame.ucontext)
        registers.rax = 0
        registers.eflags &= ~UInt64(0x400 | 0x100)  // DF and TF clear in the handler
        signals.blocked |= action.mask
        if action.flags & Self.saNoDefer == 0 { signals.blocked |= 1 << UInt64(signal.number - 1) }
        signals.blocked &= ~SignalState.unblockable
        if action.flags & Self.saResetHand != 0 { signals.actions[Int(signal.number)] = SignalAction() }
    }

    /// rt_sigreturn(2): restores the registers, the floating-point state and the mask saved in
    /// the frame the handler returns through (at rsp - 8: the handler's `ret` popped pretcode).
    func returnFromSignal() throws(LinuxErrno) {
        let frame = registers.rsp &- 8
        let bytes = try mm.copyIn(from: frame, count: Frame.size)
        func get(_ offset: Int) -> UInt64 {
            bytes[offset..<(offset + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        }
        let base = Frame.mcontext
        registers.r8 = get(base); registers.r9 = get(base + 8); registers.r10 = get(base + 16); registers.r11 = get(base + 24)
        registers.r12 = get(base + 32); registers.r13 = get(base + 40); registers.r14 = get(base + 48); registers.r15 = get(base + 56)
        registers.rdi = get(base + 64); registers.rsi = get(base + 72); registers.rbp = get(base + 80); registers.rbx = get(base + 88)
        registers.rdx = get(base + 96); registers.rax = get(base + 104); registers.rcx = get(base + 112)
        registers.rsp = get(base + 120); registers.rip = get(base + 128)
        // Only the flags a program may change (the arithmetic flags, DF, TF, AC...).
        let userFlags: UInt64 = 0x4_0dd5
        registers.eflags = registers.eflags & ~userFlags | get(base + 136) & userFlags
        registers.origRax = UInt64.max
        let fpstate = get(base + 184)
        if fpstate != 0 { try context.setFloatingPointState(try mm.copyIn(from: fpstate, count: Frame.fpstateSize)) }
        signals.blocked = get(Frame.sigmask) & ~SignalState.unblockable
    }
}
