import HostSys
import LinuxABI

// The platform boundary (DESIGN.md, "Platform/"): how the Sentry runs a program's code and
// changes its address space. The kernel sees only these protocols, so a faster platform
// (systrap) can replace ptrace, and tests can use a fake.
//
// Locks: none here. A context belongs to the one OS thread that drives it (ptrace binds a
// tracee to the thread that traces it); an address space is changed through the context of
// the calling OS thread.

/// Why control came back from the program.
public enum GuestStop: Equatable, Sendable {
    /// The program made a system call; the registers hold its number and arguments.
    case syscall
    /// The program faulted (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP): the signal with its
    /// `si_code` and the faulting address, for the kernel to deliver to the program.
    case fault(LinuxSignal, code: Int32, address: UInt64)
    /// `Context.interrupt` stopped the program (for a signal to deliver): run it again.
    case interrupted
    /// The host process running the program is gone.
    case exited(ExitStatus)
}

/// A program's address space as the platform holds it: mappings of the Sentry's memory file.
public protocol AddressSpace: AnyObject {
    /// Maps `length` bytes of the memory file at `offset` to `address` (MAP_FIXED, shared).
    func map(address: UInt64, length: UInt64, protection: MemoryProtection, fileOffset: UInt64) throws(LinuxErrno)
    /// Removes the mappings in [address, address + length).
    func unmap(address: UInt64, length: UInt64) throws(LinuxErrno)
    /// Changes the protection of the mappings in [address, address + length).
    func protect(address: UInt64, length: UInt64, protection: MemoryProtection) throws(LinuxErrno)
    /// Ends every thread running in the address space at once (exit_group, a fatal signal):
    /// their `run` returns `.exited`.
    func terminate()
}

/// A new thread of an address space, made by one OS thread and run by another.
public protocol NewThread: Sendable {
    /// Takes the thread over on the calling OS thread, which runs it from then on.
    func adopt() throws(LinuxErrno) -> any Context
}

/// One thread of a program on the platform: its registers, and running it until it stops.
public protocol Context: AnyObject {
    /// Registers a program starts from: the host's segment selectors, everything else zero.
    var initialRegisters: LinuxUserRegs { get }
    /// Runs the program with `registers` until the next stop, and returns the registers at
    /// the stop with the reason.
    func run(_ registers: inout LinuxUserRegs) throws(LinuxErrno) -> GuestStop
    /// The floating-point and vector registers (the 512-byte FXSAVE area), for signal frames.
    func floatingPointState() throws(LinuxErrno) -> [UInt8]
    /// Restores state `floatingPointState` returned (rt_sigreturn).
    func setFloatingPointState(_ state: [UInt8]) throws(LinuxErrno)
    /// Makes another thread in this context's address space (clone(2) of a thread), for
    /// another OS thread to adopt.
    func newThread() throws(LinuxErrno) -> any NewThread
    /// Ends this thread and leaves the address space's other threads running (exit(2) of one
    /// thread); `run` reports it exited from then on.
    func exitThread()
    /// A closure, callable from any thread, that makes a `run` in progress on this context's
    /// OS thread return `.interrupted` (at once if the program runs; else at the next `run`).
    func makeInterrupter() -> @Sendable () -> Void
}
