import LinuxABI

extension Syscalls {
    /// arch_prctl(2) codes.
    static let archSetGS: UInt64 = 0x1001, archSetFS: UInt64 = 0x1002, archGetFS: UInt64 = 0x1003, archGetGS: UInt64 = 0x1004

    /// Implements Linux arch_prctl(2): setting and reading the FS and GS bases (TLS). A base
    /// must be below the top of the user address space (TASK_SIZE_MAX; else EPERM, as Linux).
    static func archPrctl(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (code, address) = (arguments[0], arguments[1])
        switch code {
        case archSetFS, archSetGS:
            guard address < ELFFile.userAddressSpaceEnd else { throw .EPERM }
            if code == archSetFS { task.registers.fsBase = address } else { task.registers.gsBase = address }
        case archGetFS, archGetGS:
            let value = code == archGetFS ? task.registers.fsBase : task.registers.gsBase
            try task.mm.copyOut(withUnsafeBytes(of: value.littleEndian) { Array($0) }, to: address)
        default:
            throw .EINVAL
        }
        return .value(0)
    }

    /// Implements Linux set_tid_address(2): records the word to clear at thread exit and
    /// returns the thread id.
    static func setTIDAddress(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        task.clearChildTID = arguments[0]
        return .value(Int64(task.tid))
    }

    /// Implements Linux set_robust_list(2): records the list head (the length must be that of
    /// `struct robust_list_head`, 24 bytes).
    static func setRobustList(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[1] == 24 else { throw .EINVAL }
        task.robustList = arguments[0]
        return .value(0)
    }

    /// prctl(2) options.
    static let prSetName: UInt64 = 15, prGetName: UInt64 = 16

    /// Implements Linux prctl(2) PR_SET_NAME and PR_GET_NAME (the 16-byte thread name).
    /// Other options are EINVAL, as Linux answers options it does not know.
    static func prctl(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        switch arguments[0] {
        case prSetName:
            let bytes = try task.mm.copyIn(from: arguments[1], count: 16)
            task.name = Array(bytes.prefix { $0 != 0 }.prefix(15))
        case prGetName:
            try task.mm.copyOut(task.name + Array(repeating: 0, count: 16 - task.name.count), to: arguments[1])
        default:
            throw .EINVAL
        }
        return .value(0)
    }

    /// Implements Linux get_robust_list(2): the head set_robust_list recorded for the task
    /// `pid` (0: the caller), and its size; ESRCH for no such task.
    static func getRobustList(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let pid = Int32(truncatingIfNeeded: arguments[0])
        guard pid >= 0 else { throw .ESRCH }
        guard let target = pid == 0 ? task : task.sandbox.thread(pid) else { throw .ESRCH }
        try task.mm.copyOut(bytes(target.robustList), to: arguments[1])
        try task.mm.copyOut(bytes(24), to: arguments[2])
        return .value(0)
    }
}
