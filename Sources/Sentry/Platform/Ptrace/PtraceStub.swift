import CShim
import Glibc
import HostSys
import LinuxABI

/// The ptrace platform's address space and context: one stub process, traced by the thread
/// that created it, whose every syscall stops in the Sentry (PTRACE_SYSEMU) and never runs on
/// the host. The Sentry changes the stub's mappings by running host syscalls in it from its
/// one page of code (`syscall; int3`), and only then.
///
/// Create and use a stub on one OS thread: ptrace binds a tracee to its tracer thread.
public final class PtraceStub: AddressSpace, Context {
    /// Where the stub's code page lives: just below the top of the user address space, out
    /// of the way of the program's mappings (`MM` refuses to map there).
    public static let codeAddress: UInt64 = 0x7fff_fff0_0000
    public static let codeLength: UInt64 = 4096

    public let pid: pid_t
    private var exited: ExitStatus?
    /// Registers at the first stop: the segment selectors a program on this host runs with.
    public let initialRegisters: LinuxUserRegs

    /// Starts a stub that shares `memory` (the Sentry's memory file) and strips every mapping
    /// but its code page.
    public init(memory: borrowing FileDescriptor) throws(LinuxErrno) {
        // Every syscall of the program is a round trip between the stub and this thread. On
        // one CPU that is two context switches; across CPUs it also wakes an idle CPU each way,
        // which costs several times more on a VM. So the tracer thread stays on the CPU it
        // runs on, and the stub, forked from it, inherits that affinity.
        try? CPU.pinCurrentThread(to: CPU.current())
        let pid = cshim_stub_spawn(memory.rawValue, UInt(Self.codeAddress))
        guard pid > 0 else { throw LinuxErrno(-pid) }
        self.pid = pid
        var status: Int32 = 0
        do {
            _ = try hostCall { waitpid(pid, &status, Int32(bitPattern: 0x4000_0000)) }  // __WALL
        } catch {
            throw error.linuxErrno
        }
        // The stub stops itself with SIGSTOP; as pid 1 of a new pid namespace it ignores that
        // (init gets no signal it has no handler for), runs on into its int3, and stops with
        // SIGTRAP instead. Either is its first stop.
        guard status & 0xff == 0x7f, [SIGSTOP, SIGTRAP].contains((status >> 8) & 0xff) else {
            kill(pid, SIGKILL)
            throw .ECHILD
        }
        let options = PtraceOptions([.traceSysGood, .exitKill]).rawValue
        guard cshim_ptrace(PtraceRequest.setOptions.rawValue, pid, nil, UnsafeMutableRawPointer(bitPattern: options)) == 0 else {
            kill(pid, SIGKILL)
            throw Errno.current.linuxErrno
        }
        var registers = LinuxUserRegs()
        guard cshim_ptrace(PtraceRequest.getRegisters.rawValue, pid, nil, &registers) == 0 else {
            kill(pid, SIGKILL)
            throw Errno.current.linuxErrno
        }
        initialRegisters = registers
        try removeInheritedMappings()
    }

    deinit {
        if exited == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = try? hostCall { waitpid(pid, &status, Int32(bitPattern: 0x4000_0000)) }
        }
    }

    // MARK: AddressSpace

    public func map(address: UInt64, length: UInt64, protection: MemoryProtection, fileOffset: UInt64) throws(LinuxErrno) {
        let flags = MapFlags([.shared, .fixed]).rawValue
        let result = try inject(
            .mmap, address, length, UInt64(protection.rawValue), UInt64(flags), UInt64(CSHIM_STUB_MEMORY_FD),
            fileOffset)
        guard result == Int64(bitPattern: address) else { throw result < 0 ? LinuxErrno(Int32(-result)) : .ENOMEM }
    }

    public func unmap(address: UInt64, length: UInt64) throws(LinuxErrno) {
        let result = try inject(.munmap, address, length)
        if result < 0 { throw LinuxErrno(Int32(-result)) }
    }

    public func protect(address: UInt64, length: UInt64, protection: MemoryProtection) throws(LinuxErrno) {
        let result = try inject(.mprotect, address, length, UInt64(protection.rawValue))
        if result < 0 { throw LinuxErrno(Int32(-result)) }
    }

    // MARK: Context

    public func run(_ registers: inout LinuxUserRegs) throws(LinuxErrno) -> GuestStop {
        if let exited { return .exited(exited) }
        try setRegisters(registers)
        try resume(.sysemu)
        let stop = try waitForStop()
        if case .exited = stop { return stop }
        registers = try getRegisters()
        return stop
    }

    public func floatingPointState() throws(LinuxErrno) -> [UInt8] {
        var state = [UInt8](repeating: 0, count: 512)
        let result = state.withUnsafeMutableBytes { cshim_ptrace(PtraceRequest.getFPRegisters.rawValue, pid, nil, $0.baseAddress) }
        guard result == 0 else { throw Errno.current.linuxErrno }
        return state
    }

    public func setFloatingPointState(_ state: [UInt8]) throws(LinuxErrno) {
        precondition(state.count == 512)
        var copy = state
        let result = copy.withUnsafeMutableBytes { cshim_ptrace(PtraceRequest.setFPRegisters.rawValue, pid, nil, $0.baseAddress) }
        guard result == 0 else { throw Errno.current.linuxErrno }
    }

    // MARK: Running host syscalls in the stub

    /// Runs `sysno` with `arguments` in the stub (at its code page) and returns its result
    /// (negative: -errno).
    func inject(_ sysno: Sysno, _ arguments: UInt64...) throws(LinuxErrno) -> Int64 {
        var registers = initialRegisters
        registers.rax = UInt64(sysno.rawValue)
        registers.origRax = UInt64.max  // not at a syscall: no restart logic applies
        let values = arguments + Array(repeating: 0, count: 6 - arguments.count)
        (registers.rdi, registers.rsi, registers.rdx, registers.r10, registers.r8, registers.r9) =
            (values[0], values[1], values[2], values[3], values[4], values[5])
        registers.rip = Self.codeAddress
        try setRegisters(registers)
        try resume(.cont)
        guard case .signal(.SIGTRAP) = try waitForStop() else { throw .EFAULT }
        return Int64(bitPattern: try getRegisters().rax)
    }

    /// Unmaps everything the stub inherited from the Sentry by fork, except its code page.
    private func removeInheritedMappings() throws(LinuxErrno) {
        // Everything the stub inherited from the Sentry (its code, heap, stacks, the memory
        // file's mapping) goes: all of the user address space around the code page, in two
        // calls (munmap of a range without mappings is fine). Reading /proc/<pid>/maps instead
        // would name the wrong process: the Sentry's /proc belongs to another pid namespace.
        let top = ELFFile.userAddressSpaceEnd
        for (start, end) in [(UInt64(0), Self.codeAddress), (Self.codeAddress + Self.codeLength, top)] {
            let result = try inject(.munmap, start, end - start)
            if result < 0 { throw LinuxErrno(Int32(-result)) }
        }
    }

    // MARK: ptrace

    private func getRegisters() throws(LinuxErrno) -> LinuxUserRegs {
        var registers = LinuxUserRegs()
        guard cshim_ptrace(PtraceRequest.getRegisters.rawValue, pid, nil, &registers) == 0 else { throw Errno.current.linuxErrno }
        return registers
    }

    private func setRegisters(_ registers: LinuxUserRegs) throws(LinuxErrno) {
        var registers = registers
        guard cshim_ptrace(PtraceRequest.setRegisters.rawValue, pid, nil, &registers) == 0 else { throw Errno.current.linuxErrno }
    }

    private func resume(_ request: PtraceRequest) throws(LinuxErrno) {
        guard cshim_ptrace(request.rawValue, pid, nil, nil) == 0 else { throw Errno.current.linuxErrno }
    }

    /// Waits for the stub's next stop: a syscall (SIGTRAP|0x80), another signal, or its end.
    private func waitForStop() throws(LinuxErrno) -> GuestStop {
        var status: Int32 = 0
        let pid = self.pid
        do {
            _ = try hostCall { waitpid(pid, &status, Int32(bitPattern: 0x4000_0000)) }
        } catch {
            throw error.linuxErrno
        }
        if status & 0xff == 0x7f {
            let signal = (status >> 8) & 0xff
            return signal == SIGTRAP | 0x80 ? .syscall : .signal(LinuxSignal(signal))
        }
        let end = ExitStatus(waitStatus: status)
        exited = end
        return .exited(end)
    }
}
