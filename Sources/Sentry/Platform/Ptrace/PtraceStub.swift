import CShim
import Glibc
import HostSys
import LinuxABI
import Synchronization

/// The ptrace platform's address space: one stub process, whose threads run the threads of
/// one program (`PtraceThread`, one per task, each traced by that task's OS thread). The
/// Sentry changes the stub's mappings by running host syscalls in it from its one page of code
/// (`syscall; int3`), and only then; a change made through any thread of the stub holds for all.
///
/// Locks: `lock` guards `threads`, which maps tracer OS threads to the stub thread each traces.
public final class PtraceStub: AddressSpace, @unchecked Sendable {
    /// Where the stub's code page lives: just below the top of the user address space, out
    /// of the way of the program's mappings (`MM` refuses to map there).
    public static let codeAddress: UInt64 = 0x7fff_fff0_0000
    public static let codeLength: UInt64 = 4096

    /// The stub's host pid (its thread group).
    public let pid: pid_t
    /// Registers at the first stop: the segment selectors a program on this host runs with.
    let initialRegisters: LinuxUserRegs
    /// The stub thread each tracer OS thread (by host tid) traces, for injecting calls.
    private var threads: [pid_t: Weak] = [:]
    private let lock = Monitor()
    private struct Weak { weak var thread: PtraceThread? }
    /// Set once the stub's first thread has been reaped: its pid may then name another process.
    let reaped = Atomic<Bool>(false)

    /// Starts a stub that shares `memory` (the Sentry's memory file) and strips every mapping
    /// but its code page; returns its first thread, traced by the calling OS thread.
    public static func start(memory: borrowing FileDescriptor) throws(LinuxErrno) -> PtraceThread {
        // Every syscall of the program is a round trip between the stub and this thread. On
        // one CPU that is two context switches; across CPUs it also wakes an idle CPU each way,
        // which costs several times more on a VM. So the tracer thread stays on the CPU it
        // runs on, and the stub, forked from it, inherits that affinity.
        try? CPU.pinCurrentThread(to: CPU.current())
        let pid = cshim_stub_spawn(memory.rawValue, UInt(codeAddress))
        guard pid > 0 else { throw LinuxErrno(-pid) }
        // The stub stops itself with SIGSTOP; as pid 1 of a new pid namespace it ignores that
        // (init gets no signal it has no handler for), runs on into its int3, and stops with
        // SIGTRAP instead. Either is its first stop.
        let registers: LinuxUserRegs
        do throws(LinuxErrno) {
            let status = try PtraceThread.waitStatus(pid)
            guard status & 0xff == 0x7f, [SIGSTOP, SIGTRAP].contains((status >> 8) & 0xff) else { throw LinuxErrno.ECHILD }
            try PtraceThread.setOptions(pid)
            registers = try PtraceThread.registers(of: pid)
        } catch {
            kill(pid, SIGKILL)
            _ = try? PtraceThread.waitStatus(pid)
            throw error
        }
        let stub = PtraceStub(pid: pid, initialRegisters: registers)
        let thread = PtraceThread(tid: pid, in: stub)
        try thread.removeInheritedMappings()
        return thread
    }

    private init(pid: pid_t, initialRegisters: LinuxUserRegs) {
        self.pid = pid
        self.initialRegisters = initialRegisters
    }

    deinit {
        // Every thread of the stub is gone or about to go: end them all, and reap the stub.
        guard !reaped.load(ordering: .acquiring) else { return }
        kill(pid, SIGKILL)
        _ = try? PtraceThread.waitStatus(pid)
    }

    /// Records that the calling OS thread traces `thread`.
    func register(_ thread: PtraceThread) {
        let tracer = cshim_gettid()
        lock.locked { threads[tracer] = Weak(thread: thread) }
    }

    func unregister(_ thread: PtraceThread) {
        lock.locked {
            for (tracer, entry) in threads where entry.thread == nil || entry.thread === thread { threads[tracer] = nil }
        }
    }

    /// The stub thread the calling OS thread traces: the one that can run calls in the stub.
    private func currentThread() throws(LinuxErrno) -> PtraceThread {
        let tracer = cshim_gettid()
        guard let thread = lock.locked({ threads[tracer]?.thread }) else { throw .ESRCH }
        return thread
    }

    // MARK: AddressSpace

    public func map(address: UInt64, length: UInt64, protection: MemoryProtection, fileOffset: UInt64) throws(LinuxErrno) {
        let flags = MapFlags([.shared, .fixed]).rawValue
        let result = try currentThread().inject(
            .mmap, address, length, UInt64(protection.rawValue), UInt64(flags), UInt64(CSHIM_STUB_MEMORY_FD), fileOffset)
        guard result == Int64(bitPattern: address) else { throw result < 0 ? LinuxErrno(Int32(-result)) : .ENOMEM }
    }

    public func unmap(address: UInt64, length: UInt64) throws(LinuxErrno) {
        let result = try currentThread().inject(.munmap, address, length)
        if result < 0 { throw LinuxErrno(Int32(-result)) }
    }

    public func protect(address: UInt64, length: UInt64, protection: MemoryProtection) throws(LinuxErrno) {
        let result = try currentThread().inject(.mprotect, address, length, UInt64(protection.rawValue))
        if result < 0 { throw LinuxErrno(Int32(-result)) }
    }

    public func terminate() {
        if !reaped.load(ordering: .acquiring) { kill(pid, SIGKILL) }
    }
}
