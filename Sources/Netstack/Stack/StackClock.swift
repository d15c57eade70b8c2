/// The stack's sense of time, in nanoseconds: the monotonic clock in the netstack process, a
/// clock the test advances in tests (so retransmission timing is checked exactly).
public protocol StackClock: AnyObject {
    var now: UInt64 { get }
}

/// A clock that moves only when told to.
public final class ManualClock: StackClock {
    public private(set) var now: UInt64

    public init(start: UInt64 = 1_000_000_000) { now = start }

    /// Moves the clock forward by `nanoseconds`.
    public func advance(by nanoseconds: UInt64) { now += nanoseconds }
}

/// Durations in nanoseconds.
enum Duration {
    static let millisecond: UInt64 = 1_000_000
    static let second: UInt64 = 1_000_000_000
}
