import CShim
import Glibc
import HostSys
import LinuxABI
import Synchronization

/// One thread of a stub process, traced by the OS thread of the task it runs: every syscall
/// the program makes stops here (PTRACE_SYSEMU) and never runs on the host.
///
/// ptrace binds a tracee to one tracer thread, so use a stub thread only on the OS thread that
/// made or adopted it. New threads of the stub come from `newThread` (an injected clone(2)) and
/// are handed to their own tracer by `ThreadHandoff.adopt`.
public final class PtraceThread: Context {
    /// The stub process (address space) this thread belongs to.
    public let process: PtraceStub
    /// The thread's host tid.
    public let tid: pid_t
    private var exited: ExitStatus?

    public var initialRegisters: LinuxUserRegs { process.initialRegisters }

    init(tid: pid_t, in process: PtraceStub) {
        self.tid = tid
        self.process = process
        process.register(self)
    }

    deinit {
        process.unregister(self)
    }

    // MARK: Context

    public func run(_ registers: inout LinuxUserRegs) throws(LinuxErrno) -> GuestStop {
        if let exited { return .exited(exited) }
        try setRegisters(registers)
        while true {
            try resume(.sysemu)
            let stop = try waitForStop()
            switch stop {
            case .exited(let status):
                return .exited(status)
            case .syscall:
                registers = try getRegisters()
                return .syscall
            case .signal(.SIGSTOP):
                // Another thread of the stub was handed to its tracer with a SIGSTOP, which stops
                // the whole stub (group-stop); the registers are untouched, run on.
                continue
            case .signal(Self.interruptSignal):
                registers = try getRegisters()
                return .interrupted
            case .signal(let signal) where Self.faults.contains(signal):
                let (code, address) = try faultInfo()
                registers = try getRegisters()
                return .fault(signal, code: code, address: address)
            case .signal:
                continue  // a host signal that is none of the program's business
            }
        }
    }

    private static let interruptSignal = LinuxSignal(Int32(CSHIM_STUB_INTERRUPT_SIGNAL))
    /// The signals the CPU raises for the program's own instructions.
    private static let faults: Set<LinuxSignal> = [.SIGSEGV, .SIGBUS, .SIGILL, .SIGFPE, .SIGTRAP]

    /// `si_code` and `si_addr` of the signal the thread stopped with (PTRACE_GETSIGINFO).
    private func faultInfo() throws(LinuxErrno) -> (Int32, UInt64) {
        var info = [UInt8](repeating: 0, count: 128)
        let result = info.withUnsafeMutableBytes { cshim_ptrace(PtraceRequest.getSignalInfo.rawValue, tid, nil, $0.baseAddress) }
        guard result == 0 else { throw Errno.current.linuxErrno }
        let code = info[8..<12].reversed().reduce(Int32(0)) { $0 << 8 | Int32($1) }
        let address = info[16..<24].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (code, address)
    }

    public func makeInterrupter() -> @Sendable () -> Void {
        let (pid, tid) = (process.pid, tid)
        return { _ = cshim_tgkill(pid, tid, Int32(CSHIM_STUB_INTERRUPT_SIGNAL)) }
    }

    public func floatingPointState() throws(LinuxErrno) -> [UInt8] {
        var state = [UInt8](repeating: 0, count: 512)
        let result = state.withUnsafeMutableBytes { cshim_ptrace(PtraceRequest.getFPRegisters.rawValue, tid, nil, $0.baseAddress) }
        guard result == 0 else { throw Errno.current.linuxErrno }
        return state
    }

    public func setFloatingPointState(_ state: [UInt8]) throws(LinuxErrno) {
        precondition(state.count == 512)
        var copy = state
        let result = copy.withUnsafeMutableBytes { cshim_ptrace(PtraceRequest.setFPRegisters.rawValue, tid, nil, $0.baseAddress) }
        guard result == 0 else { throw Errno.current.linuxErrno }
    }

    /// Makes a new thread of the stub by running clone(2) in this one: the new thread starts
    /// traced by this OS thread with SIGSTOP pending; it is detached with that SIGSTOP, so it
    /// stays stopped (and stops the stub's other threads once, which their tracers run on
    /// from) until `ThreadHandoff.adopt` attaches it on the OS thread that will run it.
    public func newThread() throws(LinuxErrno) -> any NewThread {
        let result = try inject(.clone, UInt64(CSHIM_STUB_CLONE_FLAGS))
        guard result > 0 else { throw result < 0 ? LinuxErrno(Int32(-result)) : .EAGAIN }
        let child = pid_t(result)
        let status = try Self.waitStatus(child)
        guard status & 0xff == 0x7f, (status >> 8) & 0xff == SIGSTOP,
            cshim_ptrace(PtraceRequest.detach.rawValue, child, nil, UnsafeMutableRawPointer(bitPattern: Int(SIGSTOP))) == 0
        else {
            process.terminate()
            throw .EAGAIN
        }
        return ThreadHandoff(process: process, tid: child)
    }

    /// Ends this thread of the stub and no other. A thread other than the first runs exit(2)
    /// from the code page while still traced, and is reaped. (Detaching it instead would leave
    /// it stopped for good: once a SIGSTOP handoff has stopped the stub's group, a thread
    /// detached from it re-enters the group-stop.) The first thread stays in its ptrace-stop:
    /// its exit could not be reaped before the others', and its OS thread, which the stub's
    /// PR_SET_PDEATHSIG is tied to, waits for the process to end anyway. A thread that is no
    /// longer stopped was killed with its stub: it is reaped.
    public func exitThread() {
        guard exited == nil else { return }
        var registers = process.initialRegisters
        registers.rax = UInt64(Sysno.exit.rawValue)
        registers.origRax = UInt64.max
        registers.rdi = 0
        registers.rip = PtraceStub.codeAddress
        let stopped = (try? Self.registers(of: tid)) != nil
        if stopped && tid == process.pid {
            exited = .exited(0)
            return
        }
        if stopped && (try? setRegisters(registers)) != nil {
            // Run the exit; a group-stop on the way shows as a SIGSTOP stop: run on.
            while exited == nil, (try? resume(.cont)) != nil {
                if (try? waitForStop()) == nil { break }
            }
        } else {
            process.terminate()
        }
        // Killed meanwhile (or before): reap it.
        while exited == nil {
            if (try? waitForStop()) == nil { break }
        }
        exited = exited ?? .signaled(.SIGKILL)
    }

    // MARK: Running host syscalls in the stub

    /// Runs `sysno` with `arguments` in the stub (at its code page) and returns its result
    /// (negative: -errno).
    func inject(_ sysno: Sysno, _ arguments: UInt64...) throws(LinuxErrno) -> Int64 {
        var registers = process.initialRegisters
        registers.rax = UInt64(sysno.rawValue)
        registers.origRax = UInt64.max  // not at a syscall: no restart logic applies
        let values = arguments + Array(repeating: 0, count: 6 - arguments.count)
        (registers.rdi, registers.rsi, registers.rdx, registers.r10, registers.r8, registers.r9) =
            (values[0], values[1], values[2], values[3], values[4], values[5])
        registers.rip = PtraceStub.codeAddress
        try setRegisters(registers)
        while true {
            try resume(.cont)
            let stop = try waitForStop()
            // A group-stop (see `run`), or an interrupt: the task is in the Sentry now and
            // looks at its signals before the program runs again.
            if stop == .signal(.SIGSTOP) || stop == .signal(Self.interruptSignal) { continue }
            guard stop == .signal(.SIGTRAP) else { throw .EFAULT }
            return Int64(bitPattern: try getRegisters().rax)
        }
    }

    /// Unmaps everything the stub inherited from the Sentry by fork, except its code page.
    func removeInheritedMappings() throws(LinuxErrno) {
        // Everything the stub inherited from the Sentry (its code, heap, stacks, the memory
        // file's mapping) goes: all of the user address space around the code page, in two
        // calls (munmap of a range without mappings is fine). Reading /proc/<pid>/maps instead
        // would name the wrong process: the Sentry's /proc belongs to another pid namespace.
        let top = ELFFile.userAddressSpaceEnd
        let code = PtraceStub.codeAddress
        for (start, end) in [(UInt64(0), code), (code + PtraceStub.codeLength, top)] {
            let result = try inject(.munmap, start, end - start)
            if result < 0 { throw LinuxErrno(Int32(-result)) }
        }
    }

    // MARK: ptrace

    static func waitStatus(_ tid: pid_t) throws(LinuxErrno) -> Int32 {
        var status: Int32 = 0
        do {
            _ = try hostCall { waitpid(tid, &status, Int32(bitPattern: 0x4000_0000)) }  // __WALL
        } catch {
            throw error.linuxErrno
        }
        return status
    }

    static func setOptions(_ tid: pid_t) throws(LinuxErrno) {
        let options = PtraceOptions([.traceSysGood, .exitKill]).rawValue
        guard cshim_ptrace(PtraceRequest.setOptions.rawValue, tid, nil, UnsafeMutableRawPointer(bitPattern: options)) == 0 else {
            throw Errno.current.linuxErrno
        }
    }

    static func registers(of tid: pid_t) throws(LinuxErrno) -> LinuxUserRegs {
        var registers = LinuxUserRegs()
        guard cshim_ptrace(PtraceRequest.getRegisters.rawValue, tid, nil, &registers) == 0 else { throw Errno.current.linuxErrno }
        return registers
    }

    private func getRegisters() throws(LinuxErrno) -> LinuxUserRegs {
        try Self.registers(of: tid)
    }

    private func setRegisters(_ registers: LinuxUserRegs) throws(LinuxErrno) {
        var registers = registers
        guard cshim_ptrace(PtraceRequest.setRegisters.rawValue, tid, nil, &registers) == 0 else { throw Errno.current.linuxErrno }
    }

    private func resume(_ request: PtraceRequest) throws(LinuxErrno) {
        guard cshim_ptrace(request.rawValue, tid, nil, nil) == 0 else { throw Errno.current.linuxErrno }
    }

    /// What stopped the thread, as waitpid reports it.
    private enum HostStop: Equatable {
        case syscall
        case signal(LinuxSignal)
        case exited(ExitStatus)
    }

    /// Waits for the thread's next stop: a syscall (SIGTRAP|0x80), another signal, or its end.
    private func waitForStop() throws(LinuxErrno) -> HostStop {
        let status = try Self.waitStatus(tid)
        if status & 0xff == 0x7f {
            let signal = (status >> 8) & 0xff
            return signal == SIGTRAP | 0x80 ? .syscall : .signal(LinuxSignal(signal))
        }
        let end = ExitStatus(waitStatus: status)
        exited = end
        if tid == process.pid { process.reaped.store(true, ordering: .releasing) }
        return .exited(end)
    }
}

/// A new stub thread on its way from the tracer that made it to the one that will run it.
public struct ThreadHandoff: NewThread, @unchecked Sendable {
    let process: PtraceStub
    let tid: pid_t

    /// Attaches the thread to the calling OS thread (PTRACE_ATTACH wakes it from the stop it
    /// was left in and stops it again with SIGSTOP) and returns it ready to run.
    public func adopt() throws(LinuxErrno) -> any Context {
        try? CPU.pinCurrentThread(to: CPU.current())
        guard cshim_ptrace(PtraceRequest.attach.rawValue, tid, nil, nil) == 0 else {
            let error = Errno.current.linuxErrno
            process.terminate()
            throw error
        }
        do throws(LinuxErrno) {
            let status = try PtraceThread.waitStatus(tid)
            guard status & 0xff == 0x7f, (status >> 8) & 0xff == SIGSTOP else { throw LinuxErrno.ECHILD }
            try PtraceThread.setOptions(tid)
        } catch {
            process.terminate()
            throw error
        }
        return PtraceThread(tid: tid, in: process)
    }
}
