import LinuxABI

extension Syscalls {
    /// The most bytes one write moves (Linux's MAX_RW_COUNT: INT_MAX rounded down to a page).
    static let maxReadWriteCount = 0x7fff_f000

    /// Implements Linux write(2) for fds 1 and 2, which go to the sandbox's output. Other fds
    /// are EBADF until the fd table exists. A count above MAX_RW_COUNT is clipped, as Linux does;
    /// an unmapped buffer is EFAULT.
    static func write(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let fd = Int32(truncatingIfNeeded: arguments[0])
        guard fd == 1 || fd == 2 else { throw .EBADF }
        let count = Int(min(arguments[2], UInt64(maxReadWriteCount)))
        let bytes = try task.mm.copyIn(from: arguments[1], count: count)
        task.output(fd, bytes)
        return .value(Int64(count))
    }
}
