import LinuxABI

extension Syscalls {
    /// Implements Linux getpid(2): pids count from 1 (init) in the sandbox's pid namespace.
    static func getpid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.pid))
    }

    /// Implements Linux gettid(2): the first thread's tid is the process's pid.
    static func gettid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.tid))
    }
}

extension Syscalls {
    /// Implements Linux getuid(2): the real user id.
    static func getuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.group.credentials.realUID))
    }

    /// Implements Linux geteuid(2): the effective user id.
    static func geteuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.group.credentials.effectiveUID))
    }

    /// Implements Linux getgid(2): the real group id.
    static func getgid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.group.credentials.realGID))
    }

    /// Implements Linux getegid(2): the effective group id.
    static func getegid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.group.credentials.effectiveGID))
    }

    /// Implements Linux getppid(2): init's parent is outside the sandbox, so 0.
    static func getppid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.parentPID))
    }

    /// Implements Linux getresuid(2): the real, effective and saved user ids.
    static func getresuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let credentials = task.group.credentials
        try copyOutIDs(task, [credentials.realUID, credentials.effectiveUID, credentials.savedUID], to: arguments)
        return .value(0)
    }

    /// Implements Linux getresgid(2): the real, effective and saved group ids.
    static func getresgid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let credentials = task.group.credentials
        try copyOutIDs(task, [credentials.realGID, credentials.effectiveGID, credentials.savedGID], to: arguments)
        return .value(0)
    }

    private static func copyOutIDs(_ task: Task, _ ids: [UInt32], to arguments: SyscallArguments) throws(LinuxErrno) {
        for (index, id) in ids.enumerated() { try task.mm.copyOut(bytes(UInt64(id)).prefix(4).map { $0 }, to: arguments[index]) }
    }

    /// An id argument (uid_t and gid_t are 32 bits; -1 means "unchanged" where allowed).
    private static func id(_ value: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: value) }

    /// Implements Linux setuid(2) (`Credentials.setUID`).
    static func setuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try task.group.changeCredentials { (credentials) throws(LinuxErrno) in try credentials.setUID(id(arguments[0])) }
        return .value(0)
    }

    /// Implements Linux setgid(2).
    static func setgid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try task.group.changeCredentials { (credentials) throws(LinuxErrno) in try credentials.setGID(id(arguments[0])) }
        return .value(0)
    }

    /// Implements Linux setreuid(2).
    static func setreuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try task.group.changeCredentials { (credentials) throws(LinuxErrno) in
            try credentials.setREUID(real: id(arguments[0]), effective: id(arguments[1]))
        }
        return .value(0)
    }

    /// Implements Linux setregid(2).
    static func setregid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try task.group.changeCredentials { (credentials) throws(LinuxErrno) in
            try credentials.setREGID(real: id(arguments[0]), effective: id(arguments[1]))
        }
        return .value(0)
    }

    /// Implements Linux setresuid(2).
    static func setresuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try task.group.changeCredentials { (credentials) throws(LinuxErrno) in
            try credentials.setRESUID(real: id(arguments[0]), effective: id(arguments[1]), saved: id(arguments[2]))
        }
        return .value(0)
    }

    /// Implements Linux setresgid(2).
    static func setresgid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try task.group.changeCredentials { (credentials) throws(LinuxErrno) in
            try credentials.setRESGID(real: id(arguments[0]), effective: id(arguments[1]), saved: id(arguments[2]))
        }
        return .value(0)
    }

    /// Implements Linux setfsuid(2): returns the old file-system uid, changed or not.
    static func setfsuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(try task.group.changeCredentials { credentials in credentials.setFileSystemUID(id(arguments[0])) }))
    }

    /// Implements Linux setfsgid(2).
    static func setfsgid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(try task.group.changeCredentials { credentials in credentials.setFileSystemGID(id(arguments[0])) }))
    }

    /// Linux's NGROUPS_MAX.
    static let maxGroups = 65536

    /// Implements Linux getgroups(2): the supplementary groups, sorted; a size of 0 asks for
    /// the count only, a smaller one than the count is EINVAL.
    static func getgroups(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let size = Int32(truncatingIfNeeded: arguments[0])
        guard size >= 0 else { throw .EINVAL }
        let groups = task.group.credentials.groups
        guard size != 0 else { return .value(Int64(groups.count)) }
        guard Int(size) >= groups.count else { throw .EINVAL }
        if !groups.isEmpty { try task.mm.copyOut(groups.flatMap { bytes(UInt64($0)).prefix(4) }, to: arguments[1]) }
        return .value(Int64(groups.count))
    }

    /// Implements Linux setgroups(2): CAP_SETGID (EPERM, checked first), at most NGROUPS_MAX
    /// (EINVAL).
    static func setgroups(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard task.group.credentials.has(Capability.setgid) else { throw .EPERM }
        let size = Int32(truncatingIfNeeded: arguments[0])
        guard size >= 0, Int(size) <= maxGroups else { throw .EINVAL }
        let raw = size == 0 ? [] : try task.mm.copyIn(from: arguments[1], count: Int(size) * 4)
        let groups = stride(from: 0, to: raw.count, by: 4).map { UInt32(word(Array(raw[$0..<($0 + 4)]))) }
        try task.group.changeCredentials { (credentials) throws(LinuxErrno) in
            guard credentials.has(Capability.setgid) else { throw .EPERM }
            credentials.groups = groups.sorted()
        }
        return .value(0)
    }
}

extension Syscalls {
    /// capget(2) and capset(2) header versions: _LINUX_CAPABILITY_VERSION_1 (one 32-bit word
    /// per set), _2 and _3 (two).
    static let capabilityVersion1: UInt32 = 0x1998_0330, capabilityVersion2: UInt32 = 0x2007_1026
    static let capabilityVersion3: UInt32 = 0x2008_0522

    /// The header's version and how many 32-bit words per set it means; an unknown version
    /// gets the preferred one written back and EINVAL.
    private static func capabilityWords(_ task: Task, header: UInt64) throws(LinuxErrno) -> Int {
        let version = UInt32(word(try task.mm.copyIn(from: header, count: 4)))
        switch version {
        case capabilityVersion1: return 1
        case capabilityVersion2, capabilityVersion3: return 2
        default:
            try task.mm.copyOut(bytes(UInt64(capabilityVersion3)).prefix(4).map { $0 }, to: header)
            throw .EINVAL
        }
    }

    /// Implements Linux capget(2): the effective, permitted and inheritable sets of the
    /// caller (pid 0) or of another process (ESRCH if none; EINVAL for a negative pid). With
    /// a NULL data pointer it only checks (and corrects) the header's version.
    static func capget(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let words: Int
        do {
            words = try capabilityWords(task, header: arguments[0])
        } catch .EINVAL where arguments[1] == 0 {
            return .value(0)
        }
        guard arguments[1] != 0 else { return .value(0) }
        let pid = Int32(truncatingIfNeeded: word(try task.mm.copyIn(from: arguments[0] + 4, count: 4)))
        guard pid >= 0 else { throw .EINVAL }
        let credentials: Credentials
        if pid == 0 || pid == task.pid {
            credentials = task.group.credentials
        } else {
            guard let group = task.sandbox.running(pid)?.group ?? task.sandbox.thread(pid)?.group else { throw .ESRCH }
            credentials = group.credentials
        }
        var data: [UInt8] = []
        for index in 0..<words {
            for set in [credentials.effective, credentials.permitted, credentials.inheritable] {
                data += bytes(set >> (32 * UInt64(index))).prefix(4)
            }
        }
        try task.mm.copyOut(data, to: arguments[1])
        return .value(0)
    }

    /// Implements Linux capset(2) on the caller (another pid is EPERM): the inheritable set
    /// may grow only within the permitted set (or with CAP_SETPCAP) and the bounding set, the
    /// permitted set only shrink, the effective set stay within the new permitted one
    /// (EPERM otherwise); the ambient set shrinks to what is both permitted and inheritable.
    static func capset(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let words = try capabilityWords(task, header: arguments[0])
        let pid = Int32(truncatingIfNeeded: word(try task.mm.copyIn(from: arguments[0] + 4, count: 4)))
        guard pid == 0 || pid == task.pid else { throw .EPERM }
        let raw = try task.mm.copyIn(from: arguments[1], count: 12 * words)
        var sets: [UInt64] = [0, 0, 0]  // effective, permitted, inheritable
        for index in 0..<words {
            for set in 0..<3 {
                let offset = 12 * index + 4 * set
                sets[set] |= word(Array(raw[offset..<(offset + 4)])) << (32 * UInt64(index))
            }
        }
        let (effective, permitted, inheritable) = (sets[0] & Capability.all, sets[1] & Capability.all, sets[2] & Capability.all)
        try task.group.changeCredentials { (credentials) throws(LinuxErrno) in
            let old = credentials
            if !old.has(Capability.setpcap) && inheritable & ~(old.inheritable | old.permitted) != 0 { throw .EPERM }
            guard inheritable & ~(old.inheritable | old.bounding) == 0, permitted & ~old.permitted == 0,
                effective & ~permitted == 0
            else { throw .EPERM }
            (credentials.effective, credentials.permitted, credentials.inheritable) = (effective, permitted, inheritable)
            credentials.ambient &= permitted & inheritable
        }
        return .value(0)
    }
}
