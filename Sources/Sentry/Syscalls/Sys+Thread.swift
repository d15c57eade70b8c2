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
    static let prSetParentDeathSignal: UInt64 = 1, prGetParentDeathSignal: UInt64 = 2, prGetDumpable: UInt64 = 3
    static let prSetDumpable: UInt64 = 4, prGetKeepCapabilities: UInt64 = 7, prSetKeepCapabilities: UInt64 = 8
    static let prSetName: UInt64 = 15, prGetName: UInt64 = 16, prGetSeccomp: UInt64 = 21, prReadBoundingSet: UInt64 = 23
    static let prDropBoundingSet: UInt64 = 24, prSetChildSubreaper: UInt64 = 36, prGetChildSubreaper: UInt64 = 37
    static let prSetNoNewPrivileges: UInt64 = 38, prGetNoNewPrivileges: UInt64 = 39, prAmbientCapabilities: UInt64 = 47

    /// Implements Linux prctl(2): the thread's name (PR_SET_NAME, PR_GET_NAME); the signal for
    /// the death of the parent (PR_SET_PDEATHSIG, sent when the parent process ends); the
    /// dumpable flag (kept and reported: the sandbox writes no core dumps); PR_SET_KEEPCAPS;
    /// PR_GET_SECCOMP (0: the program has installed no filter); the bounding set
    /// (PR_CAPBSET_READ, PR_CAPBSET_DROP with CAP_SETPCAP); child subreapers (orphans go to
    /// the nearest one instead of init); no_new_privs; the ambient set (PR_CAP_AMBIENT).
    /// Other options are EINVAL, as Linux answers options it does not know.
    static func prctl(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let group = task.group
        switch arguments[0] {
        case prSetName:
            let bytes = try task.mm.copyIn(from: arguments[1], count: 16)
            task.name = Array(bytes.prefix { $0 != 0 }.prefix(15))
        case prGetName:
            try task.mm.copyOut(task.name + Array(repeating: 0, count: 16 - task.name.count), to: arguments[1])
        case prSetParentDeathSignal:
            guard arguments[1] <= 64 else { throw .EINVAL }
            group.parentDeathSignal = Int32(arguments[1])
        case prGetParentDeathSignal:
            try task.mm.copyOut(bytes(UInt64(group.parentDeathSignal)).prefix(4).map { $0 }, to: arguments[1])
        case prGetDumpable:
            return .value(group.dumpable ? 1 : 0)
        case prSetDumpable:
            guard arguments[1] <= 1 else { throw .EINVAL }
            group.dumpable = arguments[1] == 1
        case prGetKeepCapabilities:
            return .value(group.credentials.keepCapabilities ? 1 : 0)
        case prSetKeepCapabilities:
            guard arguments[1] <= 1 else { throw .EINVAL }
            try group.changeCredentials { credentials in credentials.keepCapabilities = arguments[1] == 1 }
        case prGetSeccomp:
            return .value(0)
        case prReadBoundingSet:
            guard arguments[1] <= Capability.last else { throw .EINVAL }
            return .value(Int64(group.credentials.bounding >> arguments[1] & 1))
        case prDropBoundingSet:
            try group.changeCredentials { (credentials) throws(LinuxErrno) in
                guard credentials.has(Capability.setpcap) else { throw .EPERM }
                guard arguments[1] <= Capability.last else { throw .EINVAL }
                credentials.bounding &= ~(1 << arguments[1])
            }
        case prSetChildSubreaper:
            task.sandbox.setSubreaper(task.pid, arguments[1] != 0)
        case prGetChildSubreaper:
            try task.mm.copyOut(bytes(task.sandbox.isSubreaper(task.pid) ? 1 : 0).prefix(4).map { $0 }, to: arguments[1])
        case prSetNoNewPrivileges:
            guard arguments[1] == 1, arguments[2] == 0, arguments[3] == 0, arguments[4] == 0 else { throw .EINVAL }
            try group.changeCredentials { credentials in credentials.noNewPrivileges = true }
        case prGetNoNewPrivileges:
            guard arguments[1] == 0, arguments[2] == 0, arguments[3] == 0, arguments[4] == 0 else { throw .EINVAL }
            return .value(group.credentials.noNewPrivileges ? 1 : 0)
        case prAmbientCapabilities:
            return try ambientCapabilities(task, arguments)
        default:
            throw .EINVAL
        }
        return .value(0)
    }

    /// PR_CAP_AMBIENT: IS_SET (1), RAISE (2: a capability both permitted and inheritable, else
    /// EPERM), LOWER (3), CLEAR_ALL (4); unused arguments must be 0 (EINVAL).
    private static func ambientCapabilities(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (operation, capability) = (arguments[1], arguments[2])
        guard arguments[3] == 0, arguments[4] == 0 else { throw .EINVAL }
        if operation == 4 {
            guard capability == 0 else { throw .EINVAL }
            try task.group.changeCredentials { credentials in credentials.ambient = 0 }
            return .value(0)
        }
        guard (1...3).contains(operation), capability <= Capability.last else { throw .EINVAL }
        let bit: UInt64 = 1 << capability
        return try task.group.changeCredentials { (credentials) throws(LinuxErrno) -> SyscallOutcome in
            switch operation {
            case 1: return .value(credentials.ambient & bit != 0 ? 1 : 0)
            case 2:
                guard credentials.permitted & bit != 0, credentials.inheritable & bit != 0 else { throw .EPERM }
                credentials.ambient |= bit
            default: credentials.ambient &= ~bit
            }
            return .value(0)
        }
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
