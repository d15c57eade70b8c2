import LinuxABI

extension Syscalls {
    /// Implements Linux prlimit64(2) on the calling process (pid 0 or its own pid): returns
    /// the old limits if asked, then sets the new ones. Raising a hard limit is EPERM (the
    /// sandbox grants no CAP_SYS_RESOURCE); a soft limit above the hard one is EINVAL.
    static func prlimit64(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let pid = Int32(truncatingIfNeeded: arguments[0])
        guard pid == 0 || pid == task.pid else { throw .ESRCH }
        try exchangeLimit(task, resource: arguments[1], new: arguments[2], old: arguments[3])
        return .value(0)
    }

    /// Implements Linux getrlimit(2).
    static func getrlimit(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try exchangeLimit(task, resource: arguments[0], new: 0, old: arguments[1])
        return .value(0)
    }

    /// Implements Linux setrlimit(2).
    static func setrlimit(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[1] != 0 else { throw .EFAULT }
        try exchangeLimit(task, resource: arguments[0], new: arguments[1], old: 0)
        return .value(0)
    }

    /// Reads the limit of `resource` into `old` and sets it from `new` (either address may
    /// be 0). Each `struct rlimit` is two 64-bit words: soft, hard.
    private static func exchangeLimit(_ task: Task, resource: UInt64, new: UInt64, old: UInt64) throws(LinuxErrno) {
        guard resource < UInt64(ResourceLimits.count), let current = task.limits[Int(resource)] else { throw .EINVAL }
        var replacement: (UInt64, UInt64)?
        if new != 0 {
            let bytes = try task.mm.copyIn(from: new, count: 16)
            let soft = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
            let hard = bytes[8..<16].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
            guard soft <= hard else { throw .EINVAL }
            guard hard <= current.1 else { throw .EPERM }
            replacement = (soft, hard)
        }
        if old != 0 {
            var bytes: [UInt8] = []
            withUnsafeBytes(of: current.0.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: current.1.littleEndian) { bytes += $0 }
            try task.mm.copyOut(bytes, to: old)
        }
        if let replacement { task.limits[Int(resource)] = replacement }
    }
}
