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
    /// The thread group ends with this exit code (exit_group, or exit of the last thread).
    case exitGroup(Int32)
    /// The thread group is killed by this signal (its default action).
    case killed(LinuxSignal)
}

/// One thread of a program: its registers, its address space, and the loop that runs it on
/// the platform and serves each syscall it makes (DESIGN.md, "Kernel/").
///
/// The run loop is a state machine: run on the platform → stopped at a syscall → serve it →
/// run again; or stopped by a signal or the end of the host process → done. Everything a
/// program asks for is served here; nothing is passed to the host.
///
/// Locks: none yet; a task runs on its own OS thread (the platform's tracer thread).
public final class Task {
    private static let log = Logger(label: "sentry.task")

    public let mm: MemoryManager
    let context: any Context
    var registers: LinuxUserRegs
    /// The process's open files.
    public let fds = FDTable()
    /// The root of the process's file system tree (nil: no file system is attached, and path
    /// calls are ENOSYS) and its working directory.
    var root: Dentry?
    var cwd: Dentry?
    /// How many times each unimplemented syscall was called.
    public private(set) var unimplementedCalls: [Sysno: Int] = [:]
    /// set_tid_address(2): the word cleared (and futex-woken) when the thread exits.
    var clearChildTID: UInt64 = 0
    /// set_robust_list(2): the head of the thread's robust futex list.
    var robustList: UInt64 = 0
    /// The thread's name (comm), at most 15 bytes: prctl(PR_SET_NAME), /proc/PID/comm.
    var name: [UInt8]
    /// Signal dispositions, the blocked mask, the alternate stack.
    var signals = SignalState()
    /// Resource limits (getrlimit(2)), by resource number: (soft, hard).
    var limits: [Int: (UInt64, UInt64)] = ResourceLimits.defaults

    public init(mm: MemoryManager, context: any Context, registers: LinuxUserRegs, name: String, root: Dentry? = nil) {
        self.root = root
        self.cwd = root
        self.mm = mm
        self.context = context
        self.registers = registers
        self.name = Array(name.utf8.prefix(15))
    }

    /// Runs the program until it exits or is killed, and returns how it ended.
    public func run() throws(LinuxErrno) -> ExitStatus {
        while true {
            switch try context.run(&registers) {
            case .exited(let status):
                return status
            case .signal(let signal):
                // Signal delivery comes with the kernel's signal code; until then a fault
                // ends the program as an unhandled one would.
                Self.log.debug("program stopped by \(signal)")
                return .signaled(signal)
            case .syscall:
                let sysno = Sysno(Int(truncatingIfNeeded: registers.origRax))
                let arguments = SyscallArguments(
                    values: (registers.rdi, registers.rsi, registers.rdx, registers.r10, registers.r8, registers.r9))
                switch dispatch(sysno, arguments) {
                case .value(let value):
                    registers.rax = UInt64(bitPattern: value)
                case .exitGroup(let code):
                    return .exited(code & 0xff)
                case .killed(let signal):
                    return .signaled(signal)
                }
            }
        }
    }

    /// Serves one syscall: its handler's result, or -errno; ENOSYS (counted) for a call the
    /// table does not implement.
    func dispatch(_ sysno: Sysno, _ arguments: SyscallArguments) -> SyscallOutcome {
        guard let handler = Syscalls.handlers[sysno] else {
            unimplementedCalls[sysno, default: 0] += 1
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
        return try PathResolution.resolve(path, root: root, start: start, followFinal: followFinal)
    }
}
