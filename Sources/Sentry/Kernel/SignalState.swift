import HostSys
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

/// The signal dispositions of a process, shared by its threads (clone(2) with CLONE_SIGHAND
/// shares them; fork copies them). Locks: `lock` guards `actions`.
final class SignalHandlers: @unchecked Sendable {
    private var actions = [SignalAction](repeating: SignalAction(), count: 65)
    private let lock = Monitor()

    init() {}

    /// The disposition of signal `number` (1...64).
    subscript(number: Int) -> SignalAction {
        get { lock.locked { actions[number] } }
        set { lock.locked { actions[number] = newValue } }
    }

    /// A copy for a forked child, which no longer shares them.
    func copy() -> SignalHandlers {
        let copy = SignalHandlers()
        copy.actions = lock.locked { actions }
        return copy
    }
}

/// The signal state of a thread: its process's dispositions (shared), its blocked mask and
/// its alternate stack.
struct SignalState {
    /// Dispositions of signals 1...64, shared with the thread's process.
    let actions: SignalHandlers
    /// The blocked mask: bit n-1 for signal n.
    var blocked: UInt64 = 0
    /// sigaltstack(2): (sp, flags, size).
    var alternateStack: (UInt64, Int32, UInt64) = (0, 2, 0)  // SS_DISABLE

    init(actions: SignalHandlers = SignalHandlers(), blocked: UInt64 = 0) {
        self.actions = actions
        self.blocked = blocked
    }

    /// SIGKILL and SIGSTOP can be neither caught, ignored nor blocked.
    static let unblockable: UInt64 = 1 << (9 - 1) | 1 << (19 - 1)
}
