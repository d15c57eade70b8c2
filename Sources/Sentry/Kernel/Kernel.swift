import Gofer
import HostSys
import LinuxABI

/// Entry points that start programs in the Sentry.
public enum Kernel {
    /// The result of running a program.
    public struct Outcome: Sendable {
        public let status: ExitStatus
        /// Syscalls the program made that the Sentry does not implement, with their counts.
        public let unimplementedCalls: [Sysno: Int]
    }

    /// Runs the static executable `executable` as pid 1 in a new ptrace stub, on the calling
    /// thread (which becomes the stub's tracer), until it ends. With `root`, the program's
    /// file system is the tree that gofer serves (read-only for now). Its fd 0 is at end of file and
    /// what it writes to fds 1 and 2 goes to `output`. Every syscall it makes is served by the
    /// Sentry.
    public static func runStatic(
        executable: [UInt8], arguments: [String], environment: [String] = [], root: LisafsClient? = nil,
        output: @escaping (Int32, [UInt8]) -> Void
    ) throws(LinuxErrno) -> Outcome {
        let memory = try MemoryFile()
        let stub = try PtraceStub(memory: memory.fd)
        let mm = MemoryManager(file: memory, platform: stub)
        var generator = SystemRandomNumberGenerator()
        let random = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let program = try Loader.loadStatic(executable, into: mm, arguments: arguments, environment: environment, random: random)
        var registers = LinuxUserRegs()
        // Segment selectors and flags as the host runs user code; everything else starts at 0.
        (registers.cs, registers.ss, registers.ds, registers.es) =
            (stub.initialRegisters.cs, stub.initialRegisters.ss, stub.initialRegisters.ds, stub.initialRegisters.es)
        registers.eflags = 0x202  // IF, and the reserved bit 1
        registers.rip = program.entry
        registers.rsp = program.stackPointer
        let name = arguments.first.map { String($0.split(separator: "/").last ?? Substring($0)) } ?? ""
        let task = Task(mm: mm, context: stub, registers: registers, name: name, root: root.map { Dentry(root: GoferInode(root: $0)) })
        // Standard input at end of file; output and error to `output`.
        _ = try task.fds.add(FileDescription(EmptyInput(), flags: .readOnly))
        _ = try task.fds.add(FileDescription(OutputStream(inode: 2) { output(1, $0) }, flags: .writeOnly))
        _ = try task.fds.add(FileDescription(OutputStream(inode: 3) { output(2, $0) }, flags: .writeOnly))
        let status = try task.run()
        return Outcome(status: status, unimplementedCalls: task.unimplementedCalls)
    }
}
