// futex(2): operations and flags.

/// A futex(2) operation. Combine with `Futex.privateFlag` only for memory that no other
/// process maps; Flipcall's futexes live in shared memfds and must not use it.
public struct FutexOp: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let wait = FutexOp(rawValue: 0)
    public static let wake = FutexOp(rawValue: 1)
    public static let fd = FutexOp(rawValue: 2)
    public static let requeue = FutexOp(rawValue: 3)
    public static let cmpRequeue = FutexOp(rawValue: 4)
    public static let wakeOp = FutexOp(rawValue: 5)
    public static let lockPI = FutexOp(rawValue: 6)
    public static let unlockPI = FutexOp(rawValue: 7)
    public static let trylockPI = FutexOp(rawValue: 8)
    public static let waitBitset = FutexOp(rawValue: 9)
    public static let wakeBitset = FutexOp(rawValue: 10)

    /// The futex is private to one address space (not shared across processes).
    public static let privateFlag: Int32 = 128
    /// The timeout of FUTEX_WAIT_BITSET is measured on CLOCK_REALTIME.
    public static let clockRealtimeFlag: Int32 = 256
    /// The bitset that matches every waiter.
    public static let bitsetMatchAny: UInt32 = 0xffff_ffff
}
