import LinuxABI

/// A signal's disposition as rt_sigaction(2) sets it: `struct sigaction` of the kernel ABI
/// (handler, flags, restorer, mask: 32 bytes on x86-64).
struct SignalAction: Equatable {
    var handler: UInt64 = 0  // SIG_DFL
    var flags: UInt64 = 0
    var restorer: UInt64 = 0
    var mask: UInt64 = 0

    static let size = 32
    static let ignore: UInt64 = 1  // SIG_IGN

    init() {}

    init(bytes: [UInt8]) {
        func word(_ index: Int) -> UInt64 {
            bytes[(index * 8)..<(index * 8 + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        }
        (handler, flags, restorer, mask) = (word(0), word(1), word(2), word(3))
    }

    var bytes: [UInt8] {
        var result: [UInt8] = []
        for word in [handler, flags, restorer, mask] { withUnsafeBytes(of: word.littleEndian) { result += $0 } }
        return result
    }
}

/// The signal state of a thread group and thread: dispositions, the blocked mask, and the
/// alternate stack. Delivery (frames, sigreturn, default actions of pending signals) comes
/// next; this holds what the syscalls set and report.
struct SignalState {
    /// Dispositions of signals 1...64 (index 0 unused).
    var actions = [SignalAction](repeating: SignalAction(), count: 65)
    /// The blocked mask: bit n-1 for signal n.
    var blocked: UInt64 = 0
    /// sigaltstack(2): (sp, flags, size).
    var alternateStack: (UInt64, Int32, UInt64) = (0, 2, 0)  // SS_DISABLE

    /// SIGKILL and SIGSTOP can be neither caught, ignored nor blocked.
    static let unblockable: UInt64 = 1 << (9 - 1) | 1 << (19 - 1)
}
