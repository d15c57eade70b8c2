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

extension Syscalls {
    /// The most iovecs one call takes (UIO_MAXIOV).
    static let maxIOVecs: UInt64 = 1024

    /// Implements Linux writev(2) for fds 1 and 2: the buffers in order, as one write. The
    /// total is clipped at MAX_RW_COUNT; an iovec count above UIO_MAXIOV is EINVAL.
    static func writev(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let fd = Int32(truncatingIfNeeded: arguments[0])
        guard fd == 1 || fd == 2 else { throw .EBADF }
        guard arguments[2] <= maxIOVecs else { throw .EINVAL }
        let count = Int(arguments[2])
        let vector = try task.mm.copyIn(from: arguments[1], count: count * 16)
        var bytes: [UInt8] = []
        for index in 0..<count {
            func word(_ at: Int) -> UInt64 {
                vector[at..<(at + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
            }
            let (base, length) = (word(index * 16), word(index * 16 + 8))
            guard length <= UInt64(Int.max) else { throw .EINVAL }
            let take = min(Int(length), maxReadWriteCount - bytes.count)
            if take > 0 { bytes += try task.mm.copyIn(from: base, count: take) }
        }
        task.output(fd, bytes)
        return .value(Int64(bytes.count))
    }
}
