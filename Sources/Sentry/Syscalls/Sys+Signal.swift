import LinuxABI

extension Syscalls {
    /// The size of a sigset in the kernel ABI: rt_* calls must pass exactly this.
    static let sigsetSize: UInt64 = 8

    static func word(_ bytes: [UInt8]) -> UInt64 {
        bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }

    static func bytes(_ word: UInt64) -> [UInt8] { withUnsafeBytes(of: word.littleEndian) { Array($0) } }

    /// Implements Linux rt_sigaction(2): reports the old disposition and sets the new one.
    /// SIGKILL and SIGSTOP cannot be changed (EINVAL); sigsetsize must be 8.
    static func rtSigaction(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let signal = Int(truncatingIfNeeded: Int64(bitPattern: arguments[0]))
        guard (1...64).contains(signal), arguments[3] == sigsetSize else { throw .EINVAL }
        var replacement: SignalAction?
        if arguments[1] != 0 {
            guard signal != 9 && signal != 19 else { throw .EINVAL }
            var action = SignalAction(bytes: try task.mm.copyIn(from: arguments[1], count: SignalAction.size))
            action.mask &= ~SignalState.unblockable
            replacement = action
        }
        if arguments[2] != 0 { try task.mm.copyOut(task.signals.actions[signal].bytes, to: arguments[2]) }
        if let replacement { task.signals.actions[signal] = replacement }
        return .value(0)
    }

    /// Implements Linux rt_sigprocmask(2): SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK; SIGKILL and
    /// SIGSTOP stay unblocked.
    static func rtSigprocmask(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[3] == sigsetSize else { throw .EINVAL }
        let old = task.signals.blocked
        if arguments[1] != 0 {
            let set = word(try task.mm.copyIn(from: arguments[1], count: 8))
            switch arguments[0] {
            case 0: task.signals.blocked |= set
            case 1: task.signals.blocked &= ~set
            case 2: task.signals.blocked = set
            default: throw .EINVAL
            }
            task.signals.blocked &= ~SignalState.unblockable
        }
        if arguments[2] != 0 { try task.mm.copyOut(bytes(old), to: arguments[2]) }
        return .value(0)
    }

    /// Implements Linux sigaltstack(2): reports and sets the alternate signal stack
    /// (`stack_t`: sp, flags, size). A stack smaller than MINSIGSTKSZ (2048) is ENOMEM.
    static func sigaltstack(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let old = task.signals.alternateStack
        if arguments[0] != 0 {
            let raw = try task.mm.copyIn(from: arguments[0], count: 24)
            let sp = word(Array(raw[0..<8]))
            let flags = Int32(truncatingIfNeeded: word(Array(raw[8..<16])))
            let size = word(Array(raw[16..<24]))
            guard flags & ~2 == 0 else { throw .EINVAL }  // only SS_DISABLE
            if flags & 2 == 0 && size < 2048 { throw .ENOMEM }
            task.signals.alternateStack = (flags & 2 != 0 ? 0 : sp, flags, flags & 2 != 0 ? 0 : size)
        }
        if arguments[1] != 0 {
            try task.mm.copyOut(bytes(old.0) + bytes(UInt64(UInt32(bitPattern: old.1))) + bytes(old.2), to: arguments[1])
        }
        return .value(0)
    }
}
